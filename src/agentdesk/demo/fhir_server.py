"""The demo's HTTP systems on 127.0.0.1: a FHIR-shaped EHR and a marketing platform's REST API.

The EHR behaves like the many real FHIR servers that compare `phone=` as a plain string, so the FHIR adapter's
"try every spelling" logic runs for real; it also answers the related searches (Appointment, Encounter,
ServiceRequest, Coverage by patient). The marketing API answers `GET /marketing/contacts?phone=` with nested
JSON of its own shape, read by the REST adapter through a configured field mapping. Requests are never logged:
their query strings hold phone numbers.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from agentdesk.demo.clinical import fhir_related, marketing_contact
from agentdesk.demo.people import SyntheticPerson

RELATED_TYPES = {
    "Appointment": "patient",
    "Encounter": "patient",
    "ServiceRequest": "patient",
    "Coverage": "beneficiary",
}


def _bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources],
    }


def _matches(patient: dict[str, Any], query: dict[str, str]) -> bool:
    """FHIR search semantics the demo needs: identifier (system|value or value) exact; family and given as
    case-insensitive prefixes (as FHIR string search is); birthdate exact."""
    if "identifier" in query:
        wanted = query["identifier"].rsplit("|", 1)[-1]
        if not any(i.get("value") == wanted for i in patient.get("identifier", [])):
            return False
    names = patient.get("name", [{}])
    if "family" in query and not any(
        str(n.get("family", "")).lower().startswith(query["family"].lower()) for n in names
    ):
        return False
    if "given" in query and not any(
        str(g).lower().startswith(query["given"].lower()) for n in names for g in n.get("given", [])
    ):
        return False
    return not ("birthdate" in query and patient.get("birthDate") != query["birthdate"])


class DemoFhirServer:
    """Serves the demo EHR under `/fhir` and the marketing API under `/marketing`, on a free loopback port."""

    def __init__(
        self, patients_file: Path, related_file: Path | None = None, people: list[SyntheticPerson] | None = None
    ) -> None:
        patients: list[dict[str, Any]] = json.loads(patients_file.read_text(encoding="utf-8"))
        facts: dict[str, Any] = (
            json.loads(related_file.read_text(encoding="utf-8")) if related_file and related_file.exists() else {}
        )
        self._by_phone: dict[str, list[dict[str, Any]]] = {}
        self._patients = patients
        self._related: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for patient in patients:
            key = str(patient["id"]).upper()
            if key in facts:
                patient["generalPractitioner"] = [{"display": facts[key]["gp"]}]
                self._related[patient["id"]] = fhir_related(patient["id"], facts[key])
            for telecom in patient.get("telecom", []):
                if telecom.get("system") == "phone":
                    self._by_phone.setdefault(telecom["value"], []).append(patient)
        self._marketing: dict[str, list[dict[str, Any]]] = {}
        for person in people or []:
            entry = facts.get(person.key)
            if person.in_crm and entry and entry["touches"]:
                self._marketing.setdefault(person.phone_e164, []).append(marketing_contact(person, entry))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits for it, and the app should exit promptly.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="demo-fhir", daemon=True
        )

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/fhir"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        first = {key: values[0] for key, values in query.items()}
        if path == "/fhir/metadata":
            return 200, {
                "resourceType": "CapabilityStatement",
                "status": "active",
                "fhirVersion": "4.0.1",
                "kind": "instance",
                "format": ["json"],
            }
        if path == "/fhir/Patient" and "phone" in first:
            return 200, _bundle(self._by_phone.get(first["phone"], []))
        if path == "/fhir/Patient" and ("identifier" in first or "family" in first):
            return 200, _bundle([p for p in self._patients if _matches(p, first)])
        resource_type = path.removeprefix("/fhir/")
        if resource_type in RELATED_TYPES:
            reference = first.get(RELATED_TYPES[resource_type]) or first.get("patient") or ""
            patient_id = reference.removeprefix("Patient/")
            found = self._related.get(patient_id, {}).get(resource_type, [])
            if "status" in first:
                wanted = set(first["status"].split(","))
                found = [r for r in found if r.get("status") in wanted]
            return 200, _bundle(found)
        if path == "/marketing/contacts" and "phone" in first:
            return 200, {"contacts": self._marketing.get(first["phone"], []), "page": 1}
        return 404, {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found"}]}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        answer = self._answer

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass  # request lines hold phone numbers

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                status, body = answer(url.path, parse_qs(url.query))
                data = json.dumps(body).encode()
                self.send_response(status)
                kind = "application/json" if url.path.startswith("/marketing") else "application/fhir+json"
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
