"""Start/stop the real FHIR R4 test engine (Medplum fhir-router + MemoryRepository, see server.mjs) and build
synthetic data for it. Pure Python (no Qt): usable from any test.

    with run_fhir_engine(tmp_path) as engine:
        post_transaction(engine.base_url, synthetic_patient_bundle())
        httpx.get(f"{engine.base_url}/Patient", params={"phone": "+16175550123"})

All data here is synthetic: fictional names, 555-01xx phone numbers, made-up identifiers.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NoReturn

import httpx
import pytest

ENGINE_DIR = Path(__file__).resolve().parent
SERVER_SCRIPT = ENGINE_DIR / "server.mjs"
INSTALL_SCRIPT = ENGINE_DIR / "install.sh"
BASE_PATH = "/fhir/R4"
MRN_SYSTEM = "urn:oid:2.16.840.1.113883.3.9999.1"  # fictional OID arc for synthetic MRNs
STARTUP_TIMEOUT_S = 30.0
INSTALL_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 5.0
DEBIAN_PACKAGES = "nodejs npm"


class FhirEngineError(RuntimeError):
    """The engine could not be installed or started; the message carries the engine's stderr."""


def _missing(message: str) -> NoReturn:
    """Skip locally, fail in CI (AGENTDESK_REQUIRE_SERVERS=1), like tests/conftest.py's require_program."""
    if os.environ.get("AGENTDESK_REQUIRE_SERVERS") == "1":
        pytest.fail(f"AGENTDESK_REQUIRE_SERVERS=1 but {message}")
    pytest.skip(message)


def require_node() -> str:
    """The path of `node` (checking that npm and Node >= 20 are there too). When they are missing: pytest.skip, or
    pytest.fail if AGENTDESK_REQUIRE_SERVERS=1."""
    node = shutil.which("node")
    npm = shutil.which("npm")
    if not node or not npm:
        missing = " and ".join(name for name, path in (("node", node), ("npm", npm)) if not path)
        _missing(
            f"{missing} not found: the FHIR test engine needs Node.js >= 20 and npm; "
            f"install the Debian packages '{DEBIAN_PACKAGES}' (apt-get install -y {DEBIAN_PACKAGES})"
        )
    major = _node_major(node)
    if major < 20:
        _missing(f"{node} is Node.js {major}; the FHIR test engine (Medplum 5.x) needs Node.js >= 20")
    return node


@functools.cache
def _node_major(node: str) -> int:
    out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=True).stdout
    return int(out.strip().lstrip("v").split(".")[0])


def ensure_installed(timeout: float = INSTALL_TIMEOUT_S) -> None:
    """Runs install.sh, which runs `npm ci` when node_modules is missing, incomplete or from another
    package-lock.json, and is a no-op (about 0.1 s) otherwise."""
    proc = subprocess.run(
        ["bash", str(INSTALL_SCRIPT)],
        cwd=ENGINE_DIR,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise FhirEngineError(f"install.sh failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


@dataclass
class FhirEngine:
    """A running engine. `base_url` is e.g. http://127.0.0.1:41234/fhir/R4 (no trailing slash)."""

    base_url: str
    port: int
    pid: int
    log_path: Path
    startup_seconds: float
    _proc: subprocess.Popen[bytes] = field(repr=False)

    def log(self) -> str:
        """What the engine wrote to stderr so far (set FHIR_ENGINE_LOG=1 in the env for one line per request)."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def is_running(self) -> bool:
        return self._proc.poll() is None


def _read_first_line(stream: IO[bytes], timeout: float) -> bytes:
    """The first line of `stream`, or b"" on EOF/timeout (a thread, so it works on every platform)."""
    result: list[bytes] = []
    reader = threading.Thread(target=lambda: result.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return result[0] if result else b""


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Closing stdin makes the engine exit by itself (--exit-on-stdin-close); then SIGTERM; then SIGKILL. Always
    reaps the child and closes every pipe (no zombie, no ResourceWarning)."""
    try:
        if proc.poll() is None:
            if proc.stdin:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_TIMEOUT_S)
    finally:
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe:
                with contextlib.suppress(OSError):
                    pipe.close()
        if proc.returncode is None:  # pragma: no cover - only if even SIGKILL did not reap it
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(STOP_TIMEOUT_S)


@contextlib.contextmanager
def run_fhir_engine(
    tmp_path: Path | None = None,
    *,
    port: int = 0,
    startup_timeout: float = STARTUP_TIMEOUT_S,
    env: dict[str, str] | None = None,
) -> Iterator[FhirEngine]:
    """Starts `node server.mjs` on 127.0.0.1 (port 0 = a free one), waits for its `LISTENING <port>` line and yields
    a FhirEngine; always stops it on exit. Runs install.sh first (npm ci only if node_modules is not up to date).
    The engine's stderr goes to `<tmp_path>/fhir-engine.log` (a temporary directory when tmp_path is None). `env`
    adds environment variables (FHIR_ENGINE_LOG=1, FHIR_ENGINE_VALIDATE=0). Skips/fails via require_node() when
    Node is missing; raises FhirEngineError (with the engine's stderr) when it does not start."""
    node = require_node()
    ensure_installed()  # about 0.1 s when node_modules is up to date
    with contextlib.ExitStack() as stack:
        log_dir = Path(tmp_path) if tmp_path is not None else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / "fhir-engine.log"
        args = [node]
        if _node_major(node) < 22:
            args.append("--experimental-websocket")  # @medplum/core reads the global WebSocket at import time
        args += [str(SERVER_SCRIPT), str(port), "--exit-on-stdin-close"]
        log_file = stack.enter_context(log_path.open("wb"))
        started = time.monotonic()
        proc = subprocess.Popen(
            args,
            cwd=ENGINE_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log_file,
            env={**os.environ, **(env or {})},
        )
        stack.callback(_stop, proc)
        assert proc.stdout is not None
        line = _read_first_line(proc.stdout, startup_timeout)
        if not line.startswith(b"LISTENING "):
            _stop(proc)
            log = log_path.read_text(encoding="utf-8", errors="replace")
            why = f"exited with {proc.returncode}" if line == b"" and proc.returncode is not None else "did not start"
            raise FhirEngineError(
                f"FHIR engine {why} within {startup_timeout:.0f} s (first stdout line: {line!r}); stderr:\n{log}"
            )
        actual_port = int(line.split()[1])
        yield FhirEngine(
            base_url=f"http://127.0.0.1:{actual_port}{BASE_PATH}",
            port=actual_port,
            pid=proc.pid,
            log_path=log_path,
            startup_seconds=time.monotonic() - started,
            _proc=proc,
        )


def post_transaction(base_url: str, bundle: dict[str, Any], *, timeout: float = 30.0) -> dict[str, Any]:
    """POSTs a transaction (or batch) Bundle to the base and returns the response Bundle. Raises FhirEngineError
    with the OperationOutcome text when the engine answers with an error status."""
    response = httpx.post(
        base_url,
        json=bundle,
        headers={"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"},
        timeout=timeout,
    )
    if response.status_code >= 400:
        raise FhirEngineError(f"transaction failed: HTTP {response.status_code}: {response.text}")
    result: dict[str, Any] = response.json()
    return result


def created_ids(transaction_response: dict[str, Any]) -> list[tuple[str, str]]:
    """(resourceType, id) of each entry of a transaction-response, in the order of the request's entries."""
    out = []
    for entry in transaction_response.get("entry", []):
        location = entry.get("response", {}).get("location", "")
        resource_type, _, rest = location.partition("/")
        out.append((resource_type, rest.split("/")[0]))
    return out


# --------------------------------------------------------------------------------------------------------------
# Synthetic data
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticPatient:
    """One fictional patient. `phone` is stored verbatim (the engine matches phone/telecom as exact strings)."""

    family: str
    given: str
    birth_date: str  # YYYY-MM-DD
    gender: str  # male | female | other | unknown
    phone: str
    mrn: str
    language: str = "en"  # BCP-47 code for Patient.communication
    city: str = "Springfield"
    state: str = "MA"


DEFAULT_PATIENTS: tuple[SyntheticPatient, ...] = (
    SyntheticPatient("Testwood", "Avery", "1975-03-14", "female", "+16175550123", "MRN-10001", "en", "Boston"),
    SyntheticPatient("Quillfeather", "Bram", "1988-11-02", "male", "(617) 555-0145", "MRN-10002", "es", "Cambridge"),
    SyntheticPatient("Marrowdale", "Cleo", "1961-07-30", "female", "617-555-0167", "MRN-10003", "pt", "Somerville"),
    SyntheticPatient("Testwood", "Dorian", "2001-01-09", "male", "617.555.0189", "MRN-10004", "en", "Boston"),
)

LANGUAGE_DISPLAY = {
    "en": "English",
    "es": "Spanish",
    "pt": "Portuguese",
    "fr": "French",
    "zh": "Chinese",
    "vi": "Vietnamese",
}


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _entry(full_url: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": full_url, "resource": resource, "request": {"method": "POST", "url": resource["resourceType"]}}


def _instant(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def synthetic_patient_bundle(
    patients: Sequence[SyntheticPatient] = DEFAULT_PATIENTS,
    *,
    now: dt.datetime | None = None,
    mrn_system: str = MRN_SYSTEM,
    with_related: bool = True,
) -> dict[str, Any]:
    """A transaction Bundle with one Practitioner (everyone's generalPractitioner), one payer Organization and, per
    patient, a Patient (name, birthDate, gender, phone in the given format, MR identifier, address, communication
    language) plus, if `with_related`: an Appointment (booked, 7+i days after `now`), an Encounter (finished, 10+i
    days before `now`), a ServiceRequest (active, order) and a Coverage (active, beneficiary = subscriber = the
    patient). Entries reference each other through urn:uuid fullUrls; the engine rewrites them to real ids."""
    now = now or dt.datetime.now(dt.UTC)
    practitioner_url, payer_url = _urn(), _urn()
    entries = [
        _entry(
            practitioner_url,
            {
                "resourceType": "Practitioner",
                "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "9990000017"}],
                "name": [{"family": "Examplar", "given": ["Robin"], "prefix": ["Dr."]}],
                "telecom": [{"system": "phone", "value": "+16175550100", "use": "work"}],
            },
        ),
        _entry(
            payer_url,
            {
                "resourceType": "Organization",
                "name": "Synthetic Health Plan",
                "type": [
                    {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "pay"}]}
                ],
            },
        ),
    ]
    for i, p in enumerate(patients):
        patient_url = _urn()
        patient_ref = {"reference": patient_url, "display": f"{p.given} {p.family}"}
        entries.append(
            _entry(
                patient_url,
                {
                    "resourceType": "Patient",
                    "identifier": [
                        {
                            "use": "usual",
                            "type": {
                                "coding": [
                                    {
                                        "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                        "code": "MR",
                                        "display": "Medical record number",
                                    }
                                ]
                            },
                            "system": mrn_system,
                            "value": p.mrn,
                        }
                    ],
                    "active": True,
                    "name": [{"use": "official", "family": p.family, "given": [p.given]}],
                    "telecom": [{"system": "phone", "value": p.phone, "use": "mobile"}],
                    "gender": p.gender,
                    "birthDate": p.birth_date,
                    "address": [
                        {
                            "use": "home",
                            "line": [f"{100 + i} Example Street"],
                            "city": p.city,
                            "state": p.state,
                            "postalCode": f"0{2100 + i}",
                            "country": "US",
                        }
                    ],
                    "communication": [
                        {
                            "language": {
                                "coding": [
                                    {
                                        "system": "urn:ietf:bcp:47",
                                        "code": p.language,
                                        "display": LANGUAGE_DISPLAY.get(p.language, p.language),
                                    }
                                ]
                            },
                            "preferred": True,
                        }
                    ],
                    "generalPractitioner": [{"reference": practitioner_url}],
                },
            )
        )
        if not with_related:
            continue
        start = (now + dt.timedelta(days=7 + i)).replace(hour=14, minute=0, second=0, microsecond=0)
        encounter_start = (now - dt.timedelta(days=10 + i)).replace(hour=9, minute=0, second=0, microsecond=0)
        entries += [
            _entry(
                _urn(),
                {
                    "resourceType": "Appointment",
                    "status": "booked",
                    "description": "Follow-up visit",
                    "start": _instant(start),
                    "end": _instant(start + dt.timedelta(minutes=30)),
                    "participant": [
                        {"actor": patient_ref, "status": "accepted"},
                        {"actor": {"reference": practitioner_url}, "status": "accepted"},
                    ],
                },
            ),
            _entry(
                _urn(),
                {
                    "resourceType": "Encounter",
                    "status": "finished",
                    "class": {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                        "code": "AMB",
                        "display": "ambulatory",
                    },
                    "subject": patient_ref,
                    "participant": [{"individual": {"reference": practitioner_url}}],
                    "period": {
                        "start": _instant(encounter_start),
                        "end": _instant(encounter_start + dt.timedelta(minutes=40)),
                    },
                },
            ),
            _entry(
                _urn(),
                {
                    "resourceType": "ServiceRequest",
                    "status": "active",
                    "intent": "order",
                    "code": {"text": "Outpatient cardiology referral"},
                    "subject": patient_ref,
                    "requester": {"reference": practitioner_url},
                    "authoredOn": _instant(encounter_start),
                },
            ),
            _entry(
                _urn(),
                {
                    "resourceType": "Coverage",
                    "status": "active",
                    "subscriberId": f"SYN{900000 + i}",
                    "beneficiary": patient_ref,
                    "subscriber": patient_ref,
                    "relationship": {
                        "coding": [
                            {"system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship", "code": "self"}
                        ]
                    },
                    "payor": [{"reference": payer_url}],
                    "period": {"start": f"{now.year}-01-01"},
                },
            ),
        ]
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}
