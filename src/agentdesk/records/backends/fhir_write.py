"""Writing outcomes back to a FHIR R4 server: a booking as an `Appointment`, a referral as a `ServiceRequest`.

Every create is conditional (`If-None-Exist: identifier=urn:ietf:rfc:3986|urn:uuid:<the outcome's client UUID>`):
the server creates the resource only when none carries that identifier, and otherwise answers with the one it
has. A retry after a lost answer therefore never makes a second appointment.

Failures are typed by what the caller should do about them: `WriteRefused` (the server said no: a 4xx other than
408/429; retrying the same resource cannot help) names the fields the server's OperationOutcome points at, never
its text (which may echo patient data); `WriteUnavailable` (no answer, 5xx, 408, 429) is worth retrying later.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from agentdesk.config.transport import tls_failure
from agentdesk.records.backends.http import os_trust_store

IDENTIFIER_SYSTEM = "urn:ietf:rfc:3986"  # the FHIR system for identifiers that are URIs, here urn:uuid:...
RETRYABLE_STATUSES = frozenset({408, 425, 429})
MAX_ANSWER_BYTES = 1_000_000
# SNOMED CT 3457005 "Patient referral": what makes a ServiceRequest a referral rather than a lab order.
REFERRAL_CATEGORY = {"coding": [{"system": "http://snomed.info/sct", "code": "3457005", "display": "Patient referral"}]}
PRIORITIES = {"routine": "routine", "urgent": "urgent", "stat": "stat"}  # our urgencies are FHIR request-priority


class WriteRefused(Exception):
    """The server refused the resource; retrying it unchanged cannot succeed. The message names the fields."""


class WriteUnavailable(Exception):
    """The server could not be reached or could not answer now; retry later."""


@dataclass(frozen=True, slots=True)
class Written:
    reference: str  # 'Appointment/abc'
    created: bool  # False: the server already had it (a retry whose first answer was lost)


def identifier(outcome_id: str) -> dict[str, str]:
    return {"system": IDENTIFIER_SYSTEM, "value": f"urn:uuid:{outcome_id}"}


def _instant(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def appointment(booking: dict[str, Any], patient_ref: str, minutes: int, note: str = "") -> dict[str, Any]:
    """An Appointment for a booking row: booked, at its start for `minutes` (FHIR requires an end with a start);
    the patient as a reference when the caller's record in this server is known, the provider and the location
    as displays (their ids in the EHR are not known to the desk)."""
    start: datetime = booking["starts_at"]
    participants: list[dict[str, Any]] = []
    if patient_ref:
        participants.append({"actor": {"reference": patient_ref}, "status": "accepted"})
    participants.append(
        {
            "type": [{"coding": [_participation("PPRF", "primary performer")]}],
            "actor": {"display": booking["provider"]},
            "status": "accepted",
        }
    )
    participants.append({"actor": {"display": booking["location"]}, "status": "accepted"})
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "identifier": [identifier(str(booking["id"]))],
        "status": "booked",
        "appointmentType": {"text": booking["visit_type"]},
        "start": _instant(start),
        "end": _instant(start + timedelta(minutes=minutes)),
        "minutesDuration": minutes,
        "participant": participants,
    }
    comment = "; ".join(p for p in ("New patient" if booking.get("new_patient") else "", note) if p)
    if comment:
        resource["comment"] = comment
    if booking.get("created_at"):
        resource["created"] = _instant(booking["created_at"])
    return resource


def _participation(code: str, display: str) -> dict[str, str]:
    return {"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": code, "display": display}


def service_request(referral: dict[str, Any], patient_ref: str, note: str = "") -> dict[str, Any]:
    """A ServiceRequest for a referral row: active, an order, for the caller (`subject`, which FHIR requires: a
    server refuses a referral for a caller whose record it does not know, and says so), the reason as text, the
    priority from the urgency, the target as the performer (a provider) or the performer type (a service line or
    department)."""
    target = str(referral["target"])
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "identifier": [identifier(str(referral["id"]))],
        "status": "active",
        "intent": "order",
        "category": [REFERRAL_CATEGORY],
        "priority": PRIORITIES.get(str(referral["urgency"]), "routine"),
        "code": {"text": f"Referral to {target}"},
        "reasonCode": [{"text": referral["reason"]}],
    }
    if patient_ref:
        resource["subject"] = {"reference": patient_ref}
    if referral["target_kind"] == "provider":
        resource["performer"] = [{"display": target}]
    else:
        resource["performerType"] = {"text": target}
    if referral.get("created_at"):
        resource["authoredOn"] = _instant(referral["created_at"])
    source = " ".join(p for p in (str(referral.get("source_kind", "")), str(referral.get("source", ""))) if p)
    notes = [
        n
        for n in (f"Referred by {source}" if source else "", "External" if not referral.get("internal") else "", note)
        if n
    ]
    if notes:
        resource["note"] = [{"text": "; ".join(notes)}]
    return resource


class FhirWriter:
    """Creates resources on one FHIR server. Async (OAuth2 tokens are fetched asynchronously); the write-back
    runs it on a thread of its own, never on the GUI's."""

    def __init__(
        self,
        name: str,
        base_url: str,
        timeout_seconds: float = 10.0,
        auth: httpx.Auth | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        self._base = base_url.rstrip("/")
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds),
            verify=os_trust_store() if base_url.startswith("https:") else True,
            auth=auth,
            headers={"Accept": "application/fhir+json", "Content-Type": "application/fhir+json"},
            follow_redirects=False,
            transport=transport,
        )

    async def create(self, resource: dict[str, Any]) -> Written:
        """Create `resource` unless one with its (first) identifier exists. Raises WriteRefused / WriteUnavailable."""
        kind = str(resource["resourceType"])
        ident = resource["identifier"][0]
        condition = f"identifier={ident['system']}|{ident['value']}"
        try:
            response = await self._client.post(
                f"{self._base}/{kind}", content=json.dumps(resource), headers={"If-None-Exist": condition}
            )
        except httpx.TimeoutException:
            raise WriteUnavailable("no answer in time") from None
        except httpx.HTTPError as exc:
            raise WriteUnavailable(tls_failure(exc) or f"connection failed ({type(exc).__name__})") from None
        status = response.status_code
        if status >= 500 or status in RETRYABLE_STATUSES:
            raise WriteUnavailable(f"HTTP {status}")
        body = _json(response.content)
        if status >= 400 or (300 <= status < 400):
            raise WriteRefused(f"HTTP {status}" + (f": {where}" if (where := _refused_fields(body)) else ""))
        found_id = str(body.get("id", "")) if isinstance(body, dict) else ""
        if not found_id:
            found_id = _id_from_location(response.headers.get("location", ""), kind)
        if not found_id:
            raise WriteUnavailable(f"HTTP {status} without the resource's id")
        return Written(f"{kind}/{found_id}", created=status == 201)

    async def aclose(self) -> None:
        await self._client.aclose()
        aclose = getattr(self._client.auth, "aclose", None) if self._client.auth else None
        if callable(aclose):
            await aclose()


def _json(content: bytes) -> Any:
    if len(content) > MAX_ANSWER_BYTES:
        return None
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def _refused_fields(outcome: Any) -> str:
    """'ServiceRequest.subject (required)': the fields and issue codes of an OperationOutcome, never its text."""
    if not isinstance(outcome, dict) or outcome.get("resourceType") != "OperationOutcome":
        return ""
    parts = []
    for issue in outcome.get("issue", [])[:5]:
        if not isinstance(issue, dict):
            continue
        paths = [str(p)[:80] for p in issue.get("expression", []) or issue.get("location", []) if isinstance(p, str)]
        code = str(issue.get("code", ""))[:30]
        label = ", ".join(paths) or "the resource"
        parts.append(f"{label} ({code})" if code else label)
    return "; ".join(parts)


def _id_from_location(location: str, kind: str) -> str:
    marker = f"/{kind}/"
    if marker not in location:
        return ""
    return location.split(marker, 1)[1].split("/", 1)[0]
