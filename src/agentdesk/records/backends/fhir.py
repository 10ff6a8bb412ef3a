"""FHIR R4 Patient search over httpx, with the related resources agents need.

Many servers match `phone=` as an exact string, so the adapter tries the usual spellings of the number until one
finds patients. Patients can also be found by identifier (MRN) or by name and birth date. For the first few
patients found, the configured related resources (upcoming appointments, recent encounters, open referrals,
active coverage, the general practitioner's name) are fetched concurrently and become CareItems; each is
optional: a related search that fails or runs out of time is logged (without data) and the patient is returned
without it, so one slow endpoint never costs the agent the whole record.

Responses are read with a size cap and checked for type before parsing; nothing from the payload enters an error
message, since an OperationOutcome may echo the query.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from agentdesk.base.phone import search_variants, spell_phone
from agentdesk.base.text import clean_text
from agentdesk.base.time import as_utc, parse_timestamp
from agentdesk.config.schema import RELATED_KINDS
from agentdesk.records.backends import BackendError
from agentdesk.records.backends.http import (
    HttpStatusError,
    close_auth,
    content_type_of,
    fetch,
    os_trust_store,
    parse_json,
)
from agentdesk.records.fields import clean_date, clean_fields
from agentdesk.records.model import CareItem, ItemKind, SourceRecord

log = logging.getLogger("agentdesk.records")

MAX_PATIENTS = 50  # a phone search with more candidates than this is not a person, it is a switchboard
INTERPRETER_EXT = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"
FHIR_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")

MAX_ENRICHED_PATIENTS = 5  # a shared line rarely has more people; beyond this, demographics only
MAX_CONCURRENT_REQUESTS = 6  # per backend: a household's related searches must not flood the EHR
RELATED_SHARE = 0.85  # related fetches end by this share of the timeout, so the patients return before the
# caller's asyncio.wait_for(find_by_phone(...), timeout_seconds) gives up on the whole answer
APPOINTMENT_STATUSES = ("booked", "pending", "proposed")
MAX_APPOINTMENTS, MAX_ENCOUNTERS, MAX_REFERRALS, MAX_COVERAGES = 10, 5, 10, 5
ENCOUNTER_DAYS = 365
UNSUPPORTED_RETRY_SECONDS = 600.0  # a related search answered 404 (no such endpoint) is not asked again for this long
# Names of practitioners, organisations and locations are shared by many patients and rarely change.
DISPLAY_TTL_SECONDS = 3600.0
DISPLAY_MISS_TTL_SECONDS = 300.0
DISPLAY_CACHE_MAX = 2000
# Only these are read to show a name; never Patient or RelatedPerson (minimum necessary).
READABLE_TYPES = frozenset({"Practitioner", "Organization", "Location"})
_REFERENCE = re.compile(r"^([A-Z][A-Za-z]{1,63})/([A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]{1,64})?$")

Related = tuple[list[CareItem], dict[str, str]]  # what one related fetch adds: items and fields


class FhirBackend:
    """A FHIR R4 server as a record source.

    `related` names the related resources fetched per matched patient (see RELATED_KINDS); empty = demographics
    only. `auth` is closed with the backend when it has an aclose() (OAuth2ClientCredentials does).
    """

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
        related: Iterable[str] = (),
        mrn_system: str = "",
        phone_format: str = "",
    ) -> None:
        self.name = name
        self.priority = priority
        self.timeout_seconds = timeout_seconds
        self.search_keys = frozenset({"phone", "mrn", "name"})  # what find_by_* this backend can answer
        self.related = tuple(dict.fromkeys(related))
        unknown = [kind for kind in self.related if kind not in RELATED_KINDS]
        if unknown:
            raise ValueError(f"unknown related kind(s) {', '.join(unknown)}; use {', '.join(RELATED_KINDS)}")
        self._region = region
        self._mrn_system = mrn_system  # the identifier system of the MRN ('' = the identifier coded MR)
        self._phone_format = phone_format  # how this EHR stores numbers ('' = not known: E.164 first)
        self._base = base_url.rstrip("/")
        self._auth = auth
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
        self._slots = asyncio.Semaphore(MAX_CONCURRENT_REQUESTS)
        self._displays: dict[str, tuple[str, float]] = {}  # "Practitioner/1" -> (name, expiry in loop time)
        self._reading: dict[str, asyncio.Task[str]] = {}  # display reads in flight, shared by concurrent jobs
        self._unsupported_until: dict[str, float] = {}

    # ---------------------------------------------------------------------------------------------- searches

    async def find_by_phone(self, e164: str) -> list[SourceRecord]:
        """Every patient whose phone matches one of the usual spellings of `e164`, with their related items."""
        deadline = self._deadline()
        variants = search_variants(e164)
        # The spelling this EHR stores (config `phone_format`), else E.164 (what most systems store): one search
        # finds a known caller; the other spellings are the fallback.
        first = spell_phone(e164, self._phone_format) if self._phone_format else variants[0]
        others = [v for v in variants if v != first]
        found = await self._search_patients({"phone": first})
        if not found and others:
            # The other spellings at once (the request slots bound the load on the EHR): a caller stored in
            # another spelling, or a new caller, costs two round trips instead of one per spelling.
            seen: set[str] = set()
            for batch in await asyncio.gather(*(self._search_patients({"phone": v}) for v in others)):
                for record, patient in batch:
                    if record.record_id not in seen:
                        seen.add(record.record_id)
                        found.append((record, patient))
        return await self._complete(found, deadline) if found else []

    async def find_by_identifier(self, mrn: str) -> list[SourceRecord]:
        """Patients holding the identifier `mrn` (in the MRN's system when configured, else any system), with
        their related items."""
        deadline = self._deadline()
        value = clean_text(mrn)
        if not value:
            raise BackendError("an identifier search needs a value")
        token = f"{_escape(self._mrn_system)}|{_escape(value)}" if self._mrn_system else _escape(value)
        return await self._complete(await self._search_patients({"identifier": token}), deadline)

    async def find_by_name(self, given: str, family: str, birth_date: str) -> list[SourceRecord]:
        """Patients with this family name (and given name, when not empty) born on `birth_date` (YYYY-MM-DD).

        Name matching is the server's (FHIR string search: case-insensitive, starts-with); the birth date is
        required so a common surname never lists a whole town."""
        deadline = self._deadline()
        family_text, born = clean_text(family), clean_date(birth_date)
        if not family_text or not born:
            raise BackendError("a name search needs a family name and a birth date (YYYY-MM-DD)")
        params = {"family": _escape(family_text), "birthdate": born}
        if given_text := clean_text(given):
            params["given"] = _escape(given_text)
        return await self._complete(await self._search_patients(params), deadline)

    async def aclose(self) -> None:
        reading = list(self._reading.values())
        for task in reading:
            task.cancel()
        await asyncio.gather(*reading, return_exceptions=True)
        await self._client.aclose()
        await close_auth(self._auth)

    # ---------------------------------------------------------------------------------------------- patients

    def _deadline(self) -> float:
        return asyncio.get_running_loop().time() + self.timeout_seconds * RELATED_SHARE

    async def _search_patients(self, params: dict[str, str]) -> list[tuple[SourceRecord, dict[str, Any]]]:
        bundle = await self._get_json("Patient", {**params, "_count": str(MAX_PATIENTS)})
        found = []
        for patient in _resources(bundle, "Patient")[:MAX_PATIENTS]:
            record = self._record_from(patient)
            if record is not None:
                found.append((record, patient))
        return found

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
            if "mrn" in raw:
                break
            if self._mrn_system:
                if identifier.get("system") == self._mrn_system:
                    raw["mrn"] = identifier.get("value")
                continue
            codes = [c.get("code") for c in _dicts(_dict(identifier.get("type")).get("coding"))]
            if "MR" in codes:
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
        if self._mrn_system and "mrn" in fields:
            fields["mrn_system"] = self._mrn_system  # MRNs are compared only within one system
        return SourceRecord(self.name, record_id, fields, updated, self.priority)

    # ---------------------------------------------------------------------------------------------- related

    async def _complete(self, found: list[tuple[SourceRecord, dict[str, Any]]], deadline: float) -> list[SourceRecord]:
        """The records, the first MAX_ENRICHED_PATIENTS with whatever related data arrived before `deadline`."""
        if not found or not self.related:
            return [record for record, _ in found]
        enriched = found[:MAX_ENRICHED_PATIENTS]
        jobs: dict[tuple[int, str], Callable[[], Awaitable[Related | None]]] = {}
        for index, (record, patient) in enumerate(enriched):
            for kind in self.related:
                jobs[(index, kind)] = _bind(self._related_job, kind, record.record_id, patient)
        results, late = await self._run_until(jobs, deadline)
        if late:
            log.warning("%s: %d related fetch(es) had no answer in time; patients shown without them", self.name, late)
        records = []
        for index, (record, _) in enumerate(found):
            items: list[CareItem] = []
            fields = dict(record.fields)
            for kind in self.related if index < MAX_ENRICHED_PATIENTS else ():
                result = results.get((index, kind))
                if result is not None:
                    items.extend(result[0])
                    fields.update(result[1])
            records.append(dataclasses.replace(record, fields=fields, items=tuple(items)))
        return records

    @staticmethod
    async def _run_until(
        jobs: Mapping[tuple[int, str], Callable[[], Awaitable[Related | None]]], deadline: float
    ) -> tuple[dict[tuple[int, str], Related | None], int]:
        """Runs every job concurrently until `deadline`; returns the finished ones and how many were cut off.

        A TaskGroup under a timeout: at the deadline, or when the caller is cancelled, every unfinished job is
        cancelled and awaited, so nothing keeps running (or holding a connection) behind the caller's back."""
        tasks: dict[tuple[int, str], asyncio.Task[Related | None]] = {}
        try:
            async with asyncio.timeout_at(deadline), asyncio.TaskGroup() as group:
                for key, job in jobs.items():
                    tasks[key] = group.create_task(_call(job))
        except TimeoutError:
            pass
        done = {key: task.result() for key, task in tasks.items() if task.done() and not task.cancelled()}
        return done, len(jobs) - len(done)

    async def _related_job(self, kind: str, patient_id: str, patient: dict[str, Any]) -> Related | None:
        """One related fetch for one patient; never raises (a failure is logged without data and skipped)."""
        loop = asyncio.get_running_loop()
        if self._unsupported_until.get(kind, 0.0) > loop.time():
            return None
        fetchers: dict[str, Callable[[str, dict[str, Any]], Awaitable[Related]]] = {
            "appointments": self._appointments,
            "encounters": self._encounters,
            "referrals": self._referrals,
            "coverage": self._coverage,
            "practitioner": self._practitioner,
        }
        try:
            return await fetchers[kind](f"Patient/{patient_id}", patient)
        except HttpStatusError as exc:
            if exc.status == 404:
                # No such endpoint here (or no such resource type): ask again later, not on every call.
                self._unsupported_until[kind] = loop.time() + UNSUPPORTED_RETRY_SECONDS
                log.warning(
                    "%s: %s not fetched (%s); not asked again for %.0f min",
                    self.name,
                    kind,
                    exc,
                    UNSUPPORTED_RETRY_SECONDS / 60,
                )
            else:
                log.warning("%s: %s not fetched for a matched patient: %s", self.name, kind, exc)
        except BackendError as exc:
            log.warning("%s: %s not fetched for a matched patient: %s", self.name, kind, exc)
        except Exception as exc:  # an adapter bug in one related list must not lose the patient
            log.warning("%s: %s not fetched for a matched patient: %s", self.name, kind, type(exc).__name__)
        return None

    async def _appointments(self, patient_ref: str, _patient: dict[str, Any]) -> Related:
        today = date.today()
        bundle = await self._get_json(
            "Appointment",
            {
                "patient": patient_ref,
                "date": f"ge{today.isoformat()}",
                "status": ",".join(APPOINTMENT_STATUSES),
                "_sort": "date",
                "_count": str(MAX_APPOINTMENTS),
            },
        )
        start_of_today = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
        upcoming = []
        for resource in _resources(bundle, "Appointment")[:MAX_APPOINTMENTS]:
            when = _when(resource.get("start"))
            # Checked here too: a server that ignores a search parameter must not show a cancelled or past visit.
            if resource.get("status") in APPOINTMENT_STATUSES and (when is None or when >= start_of_today):
                upcoming.append(resource)
        actors = [_dict(p.get("actor")) for r in upcoming for p in _dicts(r.get("participant"))]
        names = await self._names(actors)
        items = []
        for resource in upcoming:
            title = (
                _concept_text(resource.get("serviceType"))
                or _concept_text(resource.get("appointmentType"))
                or clean_text(resource.get("description"))
                or "Appointment"
            )
            detail = _join(
                _ref_name(actor, names)
                for p in _dicts(resource.get("participant"))
                if not _is_person_ref(actor := _dict(p.get("actor")))
            )
            items.append(self._item(ItemKind.APPOINTMENT, title, resource, resource.get("start"), detail))
        return items, {}

    async def _encounters(self, patient_ref: str, _patient: dict[str, Any]) -> Related:
        since = date.today() - timedelta(days=ENCOUNTER_DAYS)
        bundle = await self._get_json(
            "Encounter",
            {"patient": patient_ref, "date": f"ge{since.isoformat()}", "_sort": "-date", "_count": str(MAX_ENCOUNTERS)},
        )
        cutoff = datetime.now(UTC) - timedelta(days=ENCOUNTER_DAYS + 1)
        recent = [
            r
            for r in _resources(bundle, "Encounter")
            if (when := _when(_dict(r.get("period")).get("start"))) is None or when >= cutoff
        ][:MAX_ENCOUNTERS]
        refs = [_dict(p.get("individual")) for r in recent for p in _dicts(r.get("participant"))]
        refs += [_dict(loc.get("location")) for r in recent for loc in _dicts(r.get("location"))]
        refs += [_dict(r.get("serviceProvider")) for r in recent]
        names = await self._names(refs)
        items = []
        for resource in recent:
            class_ = _dict(resource.get("class"))
            title = (
                _concept_text(resource.get("type"))
                or _concept_text(resource.get("serviceType"))
                or _capitalised(clean_text(class_.get("display")))
                or "Visit"
            )
            people = [_ref_name(_dict(p.get("individual")), names) for p in _dicts(resource.get("participant"))]
            places = [_ref_name(_dict(loc.get("location")), names) for loc in _dicts(resource.get("location"))]
            detail = _join([*people, *places] or [_ref_name(_dict(resource.get("serviceProvider")), names)])
            when = _dict(resource.get("period")).get("start")
            items.append(self._item(ItemKind.ENCOUNTER, title, resource, when, detail))
        return items, {}

    async def _referrals(self, patient_ref: str, _patient: dict[str, Any]) -> Related:
        bundle = await self._get_json(
            "ServiceRequest", {"patient": patient_ref, "status": "active", "_count": str(MAX_REFERRALS)}
        )
        open_ = [r for r in _resources(bundle, "ServiceRequest") if r.get("status") == "active"][:MAX_REFERRALS]
        refs = [_dict(p) for r in open_ for p in _list(r.get("performer"))] + [_dict(r.get("requester")) for r in open_]
        names = await self._names(refs)
        items = []
        for resource in open_:
            title = _concept_text(resource.get("code")) or _concept_text(resource.get("category")) or "Referral"
            to = _join(_ref_name(_dict(p), names) for p in _list(resource.get("performer"))) or _concept_text(
                resource.get("performerType")
            )
            by = _ref_name(_dict(resource.get("requester")), names)
            detail = _join([f"to {to}" if to else "", f"from {by}" if by else ""])
            when = (
                resource.get("authoredOn")
                or resource.get("occurrenceDateTime")
                or _dict(resource.get("occurrencePeriod")).get("start")
            )
            items.append(self._item(ItemKind.REFERRAL, title, resource, when, detail))
        return items, {}

    async def _coverage(self, patient_ref: str, _patient: dict[str, Any]) -> Related:
        bundle = await self._get_json(
            "Coverage", {"beneficiary": patient_ref, "status": "active", "_count": str(MAX_COVERAGES)}
        )
        active = [r for r in _resources(bundle, "Coverage") if r.get("status") == "active"][:MAX_COVERAGES]
        names = await self._names(_dict(p) for r in active for p in _list(r.get("payor")))
        items = []
        for resource in active:
            payors = _join(_payor_name(_dict(p), names) for p in _list(resource.get("payor")))
            plan = next(
                (
                    clean_text(c.get("name")) or clean_text(c.get("value"))
                    for c in _dicts(resource.get("class"))
                    if "plan" in {coding.get("code") for coding in _dicts(_dict(c.get("type")).get("coding"))}
                ),
                "",
            )
            title = " ".join(p for p in (payors, plan) if p) or _concept_text(resource.get("type")) or "Coverage"
            member = clean_text(resource.get("subscriberId"))
            detail = _join([f"member ID {member}" if member else "", _concept_text(resource.get("type"))])
            when = _dict(resource.get("period")).get("start")
            items.append(self._item(ItemKind.COVERAGE, title, resource, when, detail))
        return items, {}

    async def _practitioner(self, _patient_ref: str, patient: dict[str, Any]) -> Related:
        """The general practitioner's name: the reference's display, else a (cached) read of the Practitioner."""
        references = _dicts(patient.get("generalPractitioner"))
        shown = next((text for ref in references if (text := clean_text(ref.get("display")))), "")
        if not shown:
            names = await self._names(references[:3])
            shown = next((name for ref in references[:3] if (name := _ref_name(ref, names))), "")
        return [], ({"primary_care": shown} if shown else {})

    def _item(self, kind: ItemKind, title: str, resource: dict[str, Any], when: Any, detail: str) -> CareItem:
        resource_id = clean_text(resource.get("id"))
        return CareItem(
            kind=kind,
            title=title,
            source=self.name,
            when=_when(when),
            status=clean_text(resource.get("status")),
            detail=detail,
            record_id=f"{resource.get('resourceType')}/{resource_id}" if resource_id else "",
        )

    # ---------------------------------------------------------------------------------------------- names

    async def _names(self, references: Iterable[dict[str, Any]]) -> dict[str, str]:
        """Reference text -> name, for the references that carry no display. Names are cached, and each is read
        at most once at a time however many patients' jobs ask for it."""
        wanted: dict[str, str] = {}  # reference text -> "Type/id" on this server
        for ref in references:
            text = ref.get("reference")
            if isinstance(text, str) and not clean_text(ref.get("display")) and (key := self._local_key(text)):
                wanted[text] = key
        loop = asyncio.get_running_loop()
        now = loop.time()
        names: dict[str, str] = {}
        waiting: dict[str, asyncio.Task[str]] = {}
        for text, key in wanted.items():
            cached = self._displays.get(key)
            if cached is not None and cached[1] > now:
                names[text] = cached[0]
            elif key.split("/")[0] in READABLE_TYPES:
                if key not in self._reading:
                    task = loop.create_task(self._read_name(key))
                    self._reading[key] = task
                    task.add_done_callback(functools.partial(self._read_done, key))
                waiting[text] = self._reading[key]
        if waiting:
            # Shielded: a read is shared with other patients' jobs and fills the cache even if this job is cut off.
            results = await asyncio.shield(asyncio.gather(*waiting.values()))
            names.update(zip(waiting, results, strict=True))
        return names

    def _read_done(self, key: str, _task: asyncio.Task[str]) -> None:
        self._reading.pop(key, None)

    async def _read_name(self, key: str) -> str:
        resource_type = key.split("/")[0]
        try:
            resource = await self._get_json(key, {}, expect=resource_type)
        except BackendError as exc:
            log.warning("%s: a %s name was not read: %s", self.name, resource_type, exc)
            self._remember(key, "", DISPLAY_MISS_TTL_SECONDS)
            return ""
        except Exception as exc:  # never let a shared read fail the jobs waiting for it
            log.warning("%s: a %s name was not read: %s", self.name, resource_type, type(exc).__name__)
            return ""
        name = _person_name(resource) if resource_type == "Practitioner" else clean_text(resource.get("name"))
        self._remember(key, name, DISPLAY_TTL_SECONDS if name else DISPLAY_MISS_TTL_SECONDS)
        return name

    def _remember(self, key: str, name: str, ttl: float) -> None:
        if len(self._displays) >= DISPLAY_CACHE_MAX:
            for old in list(self._displays)[: DISPLAY_CACHE_MAX // 4]:  # oldest first (insertion order)
                del self._displays[old]
        self._displays.pop(key, None)
        self._displays[key] = (name, asyncio.get_running_loop().time() + ttl)

    def _local_key(self, reference: str) -> str:
        """'Type/id' for a reference to this server; '' for contained, external or malformed references, which
        are never followed (the credential must not travel to another host)."""
        if reference.startswith(("http://", "https://")):
            if not reference.startswith(self._base + "/"):
                return ""
            reference = reference[len(self._base) + 1 :]
        match = _REFERENCE.match(reference)
        if not match or not match.group(2).strip("."):  # "Practitioner/.." is a path, not an id
            return ""
        return f"{match.group(1)}/{match.group(2)}"

    # ---------------------------------------------------------------------------------------------- HTTP

    async def _get_json(self, path: str, params: dict[str, str], expect: str = "Bundle") -> dict[str, Any]:
        async with self._slots:
            response, body = await fetch(self._client, "GET", f"{self._base}/{path}", params=params)
        status = response.status_code
        if status in (401, 403):
            raise HttpStatusError(f"HTTP {status}: not authorised; check the credential", status)
        content_type = content_type_of(response)
        if content_type not in FHIR_TYPES:
            raise HttpStatusError(f"HTTP {status}: answered {content_type or 'no content type'}, not FHIR JSON", status)
        payload = await parse_json(body)
        if payload is None:
            raise HttpStatusError(f"HTTP {status}: invalid JSON", status)
        if not isinstance(payload, dict):
            raise BackendError("answer is not a FHIR resource")
        if payload.get("resourceType") == "OperationOutcome":
            codes = sorted({clean_text(i.get("code")) for i in payload.get("issue", []) if isinstance(i, dict)})
            raise HttpStatusError(f"HTTP {status}: OperationOutcome ({', '.join(codes) or 'no code'})", status)
        if status >= 400:
            raise HttpStatusError(f"HTTP {status}", status)
        if payload.get("resourceType") != expect:
            raise BackendError(f"answer is not a {expect}")
        return payload


# -------------------------------------------------------------------------------------------------- FHIR helpers


def _bind(
    job: Callable[[str, str, dict[str, Any]], Awaitable[Related | None]],
    kind: str,
    patient_id: str,
    patient: dict[str, Any],
) -> Callable[[], Awaitable[Related | None]]:
    return lambda: job(kind, patient_id, patient)


async def _call(job: Callable[[], Awaitable[Related | None]]) -> Related | None:
    return await job()


def _escape(value: str) -> str:
    """FHIR search escaping: a comma, pipe or dollar in a value is data, not syntax."""
    return re.sub(r"([\\,$|])", r"\\\1", value)


def _resources(bundle: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    """The entries of `resource_type` (search matches; included resources and OperationOutcomes are skipped)."""
    found = []
    for entry in _dicts(bundle.get("entry")):
        resource = entry.get("resource")
        mode = _dict(entry.get("search")).get("mode", "match")
        if isinstance(resource, dict) and resource.get("resourceType") == resource_type and mode == "match":
            found.append(resource)
    return found


def _when(value: Any) -> datetime | None:
    """A timezone-aware time (a date or naive time is read as UTC) so items from every source sort together."""
    moment = parse_timestamp(value)
    return as_utc(moment) if moment is not None else None


def _concept_text(value: Any) -> str:
    """The text of a CodeableConcept (or the first of a list that has one): text, else a coding's display."""
    for concept in value if isinstance(value, list) else [value]:
        if not isinstance(concept, dict):
            continue
        text = clean_text(concept.get("text"))
        if text:
            return text
        for coding in _dicts(concept.get("coding")):
            if display := clean_text(coding.get("display")):
                return display
    return ""


def _ref_name(reference: dict[str, Any], names: Mapping[str, str]) -> str:
    """The reference's display, else the name read for it (see FhirBackend._names)."""
    text = reference.get("reference")
    return clean_text(reference.get("display")) or (names.get(text, "") if isinstance(text, str) else "")


def _payor_name(reference: dict[str, Any], names: Mapping[str, str]) -> str:
    text = reference.get("reference")
    kind = text.split("/")[-2] if isinstance(text, str) and "/" in text else ""
    if kind == "Patient":
        return "Self-pay"
    if kind == "RelatedPerson":
        return "Paid by a related person"  # that person's name is not the agent's business here
    return _ref_name(reference, names)


def _is_person_ref(reference: dict[str, Any]) -> bool:
    """A Patient or RelatedPerson participant: the caller themself or family, not a detail to show."""
    text = reference.get("reference")
    kind = text.split("/")[-2] if isinstance(text, str) and "/" in text else ""
    return kind in ("Patient", "RelatedPerson") or (not kind and reference.get("type") in ("Patient", "RelatedPerson"))


def _person_name(resource: dict[str, Any]) -> str:
    name = _first(resource.get("name"), prefer=lambda n: n.get("use") in (None, "official", "usual"))
    if not name:
        return ""
    if text := clean_text(name.get("text")):
        return text
    parts = [*_strings(name.get("prefix")), *_strings(name.get("given")), clean_text(name.get("family"))]
    parts += _strings(name.get("suffix"))
    return clean_text(" ".join(p for p in parts if p))


def _strings(value: Any) -> list[str]:
    return [text for item in value if (text := clean_text(item))] if isinstance(value, list) else []


def _join(parts: Iterable[str]) -> str:
    return clean_text(" · ".join(dict.fromkeys(p for p in parts if p)))


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _first(value: Any, prefer: Any = None) -> dict[str, Any] | None:
    items = _dicts(value)
    if prefer is not None:
        for item in items:
            if prefer(item):
                return item
    return items[0] if items else None
