"""Real HTTP servers on 127.0.0.1 for tests: a FHIR-ish server that misbehaves on request."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PATIENT = {
    "resourceType": "Patient",
    "id": "odd-1",
    "name": [{"family": "Okafor", "given": ["Ngozi"]}],
    "birthDate": "1975-07-19",
    "gender": "female",
    "telecom": [{"system": "phone", "value": "+16175550111"}],
}


def bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


class QuietHandler(BaseHTTPRequestHandler):
    """What every test server's handler shares: no access log on stderr, and answers that tolerate a client that
    gave up (a timeout test)."""

    json_type = "application/json"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_json(self, status: int, body: Any) -> None:
        self.send_raw(status, self.json_type, json.dumps(body).encode())

    def send_raw(self, status: int, content_type: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)


class MisbehavingFhir(QuietHandler):
    """The first path segment chooses the behaviour: /ok, /html, /badjson, /outcome, /401, /500, /redirect,
    /hang, /huge, /odd."""

    json_type = "application/fhir+json"

    def do_GET(self) -> None:
        mode = self.path.split("/")[1]
        if mode == "ok":
            self.send_json(200, bundle([PATIENT]))
        elif mode == "html":
            self.send_raw(200, "text/html", b"<html><body>Login</body></html>")
        elif mode == "badjson":
            self.send_raw(200, "application/fhir+json", b'{"resourceType": "Bundle", "entry": [')
        elif mode == "outcome":
            self.send_json(
                400,
                {
                    "resourceType": "OperationOutcome",
                    "issue": [
                        {"severity": "error", "code": "invalid", "diagnostics": "phone=+16175550111 is not valid"}
                    ],
                },
            )
        elif mode == "401":
            self.send_json(401, {"resourceType": "OperationOutcome", "issue": [{"code": "login"}]})
        elif mode == "500":
            self.send_raw(500, "text/plain", b"Internal Server Error")
        elif mode == "redirect":
            self.send_response(302)
            self.send_header("Location", "https://elsewhere.example.org/fhir/Patient")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif mode == "hang":
            time.sleep(3)
            self.send_json(200, bundle([]))
        elif mode == "huge":
            patients = [{**PATIENT, "id": f"p{i}"} for i in range(50_000)]
            self.send_json(200, bundle(patients))
        elif mode == "odd":
            self.send_json(
                200,
                bundle(
                    [
                        {"resourceType": "Patient"},  # no id: skipped
                        {"resourceType": "Observation", "id": "x"},  # not a patient: skipped
                        {
                            "resourceType": "Patient",
                            "id": "weird",
                            "name": "not a list",
                            "birthDate": "19750719",
                            "gender": 7,
                            "telecom": [{"system": "phone", "value": ["+1"]}, "junk"],
                            "address": [None],
                        },
                        PATIENT,
                    ]
                ),
            )
        else:
            self.send_json(404, {"resourceType": "OperationOutcome", "issue": [{"code": "not-found"}]})


@contextmanager
def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Run `handler` on a free loopback port; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
