"""A small FHIR-shaped JSON server on 127.0.0.1 for the demo: Patient search by exact phone string.

It behaves like the many real servers that compare `phone=` as a plain string, so the FHIR adapter's
"try every spelling" logic runs for real. It never logs requests (their query strings hold phone numbers).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit


def _bundle(patients: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(patients),
        "entry": [{"resource": p, "search": {"mode": "match"}} for p in patients],
    }


class DemoFhirServer:
    """Serves `<base>/Patient?phone=...` from a JSON list of Patient resources, on a free loopback port."""

    def __init__(self, patients_file: Path) -> None:
        patients: list[dict[str, Any]] = json.loads(patients_file.read_text(encoding="utf-8"))
        self._by_phone: dict[str, list[dict[str, Any]]] = {}
        for patient in patients:
            for telecom in patient.get("telecom", []):
                if telecom.get("system") == "phone":
                    self._by_phone.setdefault(telecom["value"], []).append(patient)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits for it, and the app should exit promptly.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="demo-fhir", daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/fhir"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        by_phone = self._by_phone

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass  # request lines hold phone numbers

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                if url.path == "/fhir/metadata":
                    self._send(
                        200,
                        {
                            "resourceType": "CapabilityStatement",
                            "status": "active",
                            "fhirVersion": "4.0.1",
                            "kind": "instance",
                            "format": ["json"],
                        },
                    )
                elif url.path == "/fhir/Patient" and "phone" in query:
                    self._send(200, _bundle(by_phone.get(query["phone"][0], [])))
                else:
                    self._send(
                        404, {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found"}]}
                    )

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
