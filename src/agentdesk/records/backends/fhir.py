"""FHIR R4 Patient search over httpx.

Many servers match `phone=` as an exact string, so the adapter tries the usual spellings of the number until one
finds patients. Responses are read with a size cap and checked for type before parsing; nothing from the payload
enters an error message, since an OperationOutcome may echo the query.
"""

from __future__ import annotations

import json
import logging
import ssl
from datetime import datetime
from typing import Any

import httpx

from agentdesk.records.backends import BackendError
from agentdesk.records.fields import clean_fields, clean_text, parse_timestamp
from agentdesk.records.model import SourceRecord
from agentdesk.records.phone import search_variants

log = logging.getLogger("agentdesk.records")

MAX_RESPONSE_BYTES = 8_000_000
MAX_PATIENTS = 50  # a phone search with more candidates than this is not a person, it is a switchboard
INTERPRETER_EXT = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"
FHIR_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")


class FhirBackend:
    """A FHIR R4 server as a record source."""

    def __init__(
        self,
        name: str,
        base_url: str,
        priority: int = 100,
        timeout_seconds: float = 2.0,
        auth: httpx.Auth | None = None,
        headers: dict[str, str] | None = None,
        region: str = "US",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        self.priority = priority
        self.timeout_seconds = timeout_seconds
        self._region = region
        self._base = base_url.rstrip("/")
        # TLS is verified against the OS trust store (truststore), so a hospital's own CA works without
        # turning verification off; redirects are refused: a record source that moves is a config problem.
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds),
            verify=os_trust_store() if base_url.startswith("https:") else True,
            auth=auth,
            headers={"Accept": "application/fhir+json", **(headers or {})},
            follow_redirects=False,
            transport=transport,
        )

    async def find_by_phone(self, e164: str) -> list[SourceRecord]:
        for variant in search_variants(e164):
            bundle = await self._get_json("Patient", {"phone": variant, "_count": str(MAX_PATIENTS)})
            records = self._patients_from(bundle)
            if records:
                return records
        return []

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _get_json(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        url = f"{self._base}/{path}"
        try:
            async with self._client.stream("GET", url, params=params) as response:
                if response.is_redirect:
                    raise BackendError(f"HTTP {response.status_code}: redirected elsewhere; fix base_url")
                content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
                body = await _read_capped(response)
        except httpx.TimeoutException:
            raise BackendError("no answer in time") from None
        except httpx.HTTPError as exc:
            raise BackendError(f"connection failed ({type(exc).__name__})") from None
        if response.status_code in (401, 403):
            raise BackendError(f"HTTP {response.status_code}: not authorised; check the credential")
        if content_type not in FHIR_TYPES:
            raise BackendError(
                f"HTTP {response.status_code}: answered {content_type or 'no content type'}, not FHIR JSON"
            )
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise BackendError(f"HTTP {response.status_code}: invalid JSON") from None
        if not isinstance(payload, dict):
            raise BackendError("answer is not a FHIR resource")
        if payload.get("resourceType") == "OperationOutcome":
            codes = sorted({clean_text(i.get("code")) for i in payload.get("issue", []) if isinstance(i, dict)})
            raise BackendError(f"HTTP {response.status_code}: OperationOutcome ({', '.join(codes) or 'no code'})")
        if response.status_code >= 400:
            raise BackendError(f"HTTP {response.status_code}")
        if payload.get("resourceType") != "Bundle":
            raise BackendError("answer is not a Bundle")
        return payload

    def _patients_from(self, bundle: dict[str, Any]) -> list[SourceRecord]:
        entries = bundle.get("entry")
        if not isinstance(entries, list):
            return []
        records = []
        for entry in entries[:MAX_PATIENTS]:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(resource, dict) or resource.get("resourceType") != "Patient":
                continue
            record = self._record_from(resource)
            if record is not None:
                records.append(record)
        return records

    def _record_from(self, patient: dict[str, Any]) -> SourceRecord | None:
        record_id = clean_text(patient.get("id"))
        if not record_id:
            return None
        raw: dict[str, Any] = {}
        name = _first(patient.get("name"), prefer=lambda n: n.get("use") in (None, "official", "usual"))
        if name:
            given = name.get("given")
            raw["given_name"] = given[0] if isinstance(given, list) and given else ""
            raw["family_name"] = name.get("family", "")
        raw["birth_date"] = patient.get("birthDate")
        raw["sex"] = patient.get("gender")
        for telecom in _dicts(patient.get("telecom")):
            key = {"phone": "phone", "email": "email"}.get(str(telecom.get("system")))
            if key and key not in raw:
                raw[key] = telecom.get("value")
        for identifier in _dicts(patient.get("identifier")):
            codes = [c.get("code") for c in _dicts((identifier.get("type") or {}).get("coding"))]
            if "MR" in codes and "mrn" not in raw:
                raw["mrn"] = identifier.get("value")
        address = _first(patient.get("address"), prefer=lambda a: a.get("use") == "home")
        if address:
            lines = address.get("line")
            raw["address_line"] = ", ".join(str(x) for x in lines) if isinstance(lines, list) else ""
            raw["city"], raw["state"], raw["postal_code"] = (
                address.get("city"),
                address.get("state"),
                address.get("postalCode"),
            )
        communication = _first(patient.get("communication"), prefer=lambda c: c.get("preferred") is True)
        if communication:
            language = communication.get("language") or {}
            coding = _first(language.get("coding") if isinstance(language, dict) else None)
            raw["language"] = (language.get("text") if isinstance(language, dict) else None) or (
                coding.get("display") or coding.get("code") if coding else None
            )
        for extension in _dicts(patient.get("extension")):
            if extension.get("url") == INTERPRETER_EXT:
                raw["interpreter_needed"] = extension.get("valueBoolean")
        meta = patient.get("meta")
        updated: datetime | None = parse_timestamp(meta.get("lastUpdated")) if isinstance(meta, dict) else None
        fields = clean_fields(raw, self._region)
        return SourceRecord(self.name, record_id, fields, updated, self.priority)


def os_trust_store() -> ssl.SSLContext:
    """An SSL context that verifies certificates against the operating system's trust store."""
    import truststore

    return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _first(value: Any, prefer: Any = None) -> dict[str, Any] | None:
    items = _dicts(value)
    if prefer is not None:
        for item in items:
            if prefer(item):
                return item
    return items[0] if items else None


async def _read_capped(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise BackendError(f"answer larger than {MAX_RESPONSE_BYTES // 1_000_000} MB; refused")
        chunks.append(chunk)
    return b"".join(chunks)
