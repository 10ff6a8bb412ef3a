"""A real call flow for tests: Kamailio 5.6 as the SIP proxy / CTI event source, SIPp as caller and agent phone.

Everything runs on 127.0.0.1 on free ports, in the foreground, owned by the test, and is stopped by PID on exit.
No Qt here: the helpers are plain Python (subprocess + socket), usable from any test.

    agent_port = find_free_port("udp")
    with run_kamailio(tmp_path, agent_port=agent_port) as pbx, \
         run_agent_phone(agent_port, tmp_path, answer_delay_ms=600), \
         EvapiClient(pbx) as events:
        events.sync()                          # Kamailio has registered this event socket
        call = place_call(pbx, ani="6175550123", dnis="8005550142", hold_ms=300, workdir=tmp_path)
        events.wait_for(call.call_id, "ended") # [{"event": "offered", ...}, {"event": "answered", ...}, ...]

Event stream (TCP, evapi with netstring_format=0): one compact JSON object per line, UTF-8, each terminated by
"\\n" (the routing script appends it: evapi itself adds no delimiter in raw mode).
See resources/kamailio/agentdesk-evapi.cfg.tmpl.
An application that connects its own socket should wait for a probe of its own (sip_options(port, probe_token=...))
to come back before relying on events: evapi silently drops events for a client it has not registered yet.

Limits: evapi serves at most 8 clients at once. A caller's ANI must be a valid SIP URI user (Kamailio answers
400 to a malformed From and SIPp then fails); one that is not UTF-8 arrives as "ani": null.

Debian packages: kamailio, kamailio-extra-modules (evapi, jansson), sip-tester (sipp).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

HERE = Path(__file__).resolve().parent
# The routing example ships with the product (resources/kamailio); the tests run exactly that script.
KAMAILIO_EXAMPLE = HERE.parents[1] / "resources" / "kamailio" / "agentdesk-evapi.cfg.tmpl"
HOST = "127.0.0.1"
DEFAULT_QUEUE_NUMBER = "8005550142"

#: program -> Debian package that provides it (evapi.so and jansson.so come from kamailio-extra-modules).
PROGRAM_PACKAGES: dict[str, str] = {"kamailio": "kamailio", "sipp": "sip-tester"}
#: Kamailio modules the routing script loads that are not in the base 'kamailio' package.
EXTRA_MODULES: dict[str, str] = {"evapi.so": "kamailio-extra-modules", "jansson.so": "kamailio-extra-modules"}
#: What CI must apt-get install for these tests.
DEBIAN_PACKAGES: tuple[str, ...] = ("kamailio", "kamailio-extra-modules", "sip-tester")

_MODULE_DIRS = (
    "/usr/lib/x86_64-linux-gnu/kamailio/modules",
    "/usr/lib/aarch64-linux-gnu/kamailio/modules",
    "/usr/lib/kamailio/modules",
    "/usr/local/lib64/kamailio/modules",
    "/usr/local/lib/kamailio/modules",
)


class SipHarnessError(RuntimeError):
    """A server or a SIPp run did not behave; the message carries the relevant log tails."""


# ---------------------------------------------------------------------------------------------------------------
# Tools, ports, files
# ---------------------------------------------------------------------------------------------------------------


def kamailio_module_dir() -> Path | None:
    """Where Kamailio's modules are (the Debian multiarch path on Debian), or None."""
    for candidate in _MODULE_DIRS:
        if (Path(candidate) / "tm.so").is_file():
            return Path(candidate)
    return None


def missing_sip_tools() -> list[str]:
    """Human-readable list of what is missing to run the SIP tests (empty when all is there)."""
    missing = [
        f"{program} (Debian package '{package}')"
        for program, package in PROGRAM_PACKAGES.items()
        if shutil.which(program) is None
    ]
    if shutil.which("kamailio") is not None:
        module_dir = kamailio_module_dir()
        for module, package in EXTRA_MODULES.items():
            if module_dir is None or not (module_dir / module).is_file():
                missing.append(f"Kamailio module {module} (Debian package '{package}')")
    return missing


def require_sip_tools() -> None:
    """Skip the calling test when kamailio/sipp are missing; fail instead when AGENTDESK_REQUIRE_SERVERS=1."""
    import pytest  # test-only dependency, imported here so the module stays importable anywhere

    missing = missing_sip_tools()
    if not missing:
        return
    message = (
        f"SIP call-flow test needs {', '.join(missing)}: "
        f"install the Debian packages with 'apt-get install {' '.join(DEBIAN_PACKAGES)}'"
    )
    if os.environ.get("AGENTDESK_REQUIRE_SERVERS") == "1":
        pytest.fail(f"AGENTDESK_REQUIRE_SERVERS=1 but {message}")
    pytest.skip(message)


def find_free_port(kind: Literal["udp", "tcp"] = "udp", *, exclude: set[int] | frozenset[int] = frozenset()) -> int:
    """A port on 127.0.0.1 that is free right now for `kind` (the OS picks it; there is a small reuse race)."""
    sock_type = socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM
    for _ in range(50):
        with socket.socket(socket.AF_INET, sock_type) as sock:
            sock.bind((HOST, 0))
            port = int(sock.getsockname()[1])
        if port not in exclude:
            return port
    raise SipHarnessError(f"no free {kind} port found")


def _render(template: str, out: Path, values: Mapping[str, object]) -> Path:
    text = (HERE / template).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    leftover = sorted(set(re.findall(r"@[A-Z][A-Z0-9_]*@", text)))
    if leftover:
        raise SipHarnessError(f"{template}: placeholders not substituted: {leftover}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out


def _tail(path: Path | None, lines: int = 25) -> str:
    if path is None or not path.exists():
        return ""
    try:
        content = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:  # pragma: no cover - diagnostics only
        return f"<cannot read {path}: {exc}>"
    return "\n".join(content[-lines:])


def _stop_process(proc: subprocess.Popen[bytes], *, group: bool, grace: float = 5.0) -> None:
    """Terminate `proc` (SIGTERM), then kill it (and, with group=True, its process group) if it lingers; reap it."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                if group:
                    os.killpg(proc.pid, signal.SIGKILL)
                else:
                    proc.kill()
            proc.wait(timeout=grace)
    if group:
        # Children (Kamailio's workers) left behind by a crashed main process: same group id = the main PID.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


# ---------------------------------------------------------------------------------------------------------------
# SIP probes (plain UDP)
# ---------------------------------------------------------------------------------------------------------------


def _options_request(port: int, local_port: int, probe_token: str | None) -> bytes:
    tag = secrets.token_hex(6)
    lines = [
        f"OPTIONS sip:{HOST}:{port} SIP/2.0",
        f"Via: SIP/2.0/UDP {HOST}:{local_port};branch=z9hG4bK{secrets.token_hex(8)}",
        "Max-Forwards: 70",
        f"From: <sip:harness@{HOST}>;tag={tag}",
        f"To: <sip:{HOST}:{port}>",
        f"Call-ID: probe-{secrets.token_hex(8)}@{HOST}",
        "CSeq: 1 OPTIONS",
    ]
    if probe_token is not None:
        lines.append(f"X-AgentDesk-Probe: {probe_token}")
    lines += ["Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode("ascii")


def sip_options(port: int, *, probe_token: str | None = None, timeout: float = 1.0) -> int | None:
    """Send one OPTIONS to 127.0.0.1:`port`; the SIP status code of the answer, or None when none came in time.

    With `probe_token`, Kamailio also pushes {"event":"probe","token":<token>,"ts":...} to every evapi client.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        sock.settimeout(timeout)
        sock.sendto(_options_request(port, sock.getsockname()[1], probe_token), (HOST, port))
        try:
            data = sock.recv(65535)
        except (TimeoutError, ConnectionRefusedError):
            return None
    first = data.split(b"\r\n", 1)[0].split()
    if len(first) >= 2 and first[0] == b"SIP/2.0" and first[1].isdigit():
        return int(first[1])
    return None


# ---------------------------------------------------------------------------------------------------------------
# Kamailio
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KamailioInfo:
    """A running Kamailio: where it listens and where its files are."""

    sip_port: int
    evapi_port: int
    agent_port: int
    pid: int
    config_path: Path
    log_path: Path
    host: str = HOST

    @property
    def sip_address(self) -> str:
        return f"{self.host}:{self.sip_port}"

    @property
    def evapi_address(self) -> tuple[str, int]:
        return (self.host, self.evapi_port)

    def log_tail(self, lines: int = 40) -> str:
        return _tail(self.log_path, lines)


def render_kamailio_config(path: Path, *, sip_port: int, evapi_port: int, agent_port: int) -> Path:
    """Write the routing script (resources/kamailio/agentdesk-evapi.cfg.tmpl) for these ports to `path`."""
    values = {"SIP_PORT": sip_port, "EVAPI_PORT": evapi_port, "AGENT_PORT": agent_port}
    return _render(str(KAMAILIO_EXAMPLE), path, values)


@contextlib.contextmanager
def run_kamailio(
    tmp_path: Path,
    *,
    agent_port: int,
    sip_port: int | None = None,
    evapi_port: int | None = None,
    startup_timeout: float = 10.0,
    attempts: int = 3,
) -> Iterator[KamailioInfo]:
    """Start Kamailio in the foreground with the test routing script; stop it (TERM, then KILL) on exit.

    Calls to any user at 127.0.0.1:<sip_port> are routed to the agent phone at 127.0.0.1:`agent_port`.
    Waits until the SIP port answers an OPTIONS and the evapi TCP port accepts. Ports not given are picked free;
    if Kamailio cannot bind (a port was taken meanwhile) it is retried with new ports, `attempts` times.
    """
    kamailio = shutil.which("kamailio")
    if kamailio is None:
        raise SipHarnessError("kamailio not found: apt-get install " + " ".join(DEBIAN_PACKAGES))
    base = Path(tmp_path) / "kamailio"
    last_error = ""
    for attempt in range(1, attempts + 1):
        udp = sip_port if sip_port is not None else find_free_port("udp", exclude={agent_port})
        tcp = evapi_port if evapi_port is not None else find_free_port("tcp")
        workdir = base / f"run{attempt}"
        rundir = workdir / "run"
        rundir.mkdir(parents=True, exist_ok=True)
        config = render_kamailio_config(workdir / "kamailio.cfg", sip_port=udp, evapi_port=tcp, agent_port=agent_port)
        log_path = workdir / "kamailio.log"
        cmd = [kamailio, "-f", str(config)]
        cmd += ["-DD"]  # no daemon: the process we start is Kamailio's main process (it forks its workers)
        cmd += ["-E"]  # log to stderr (-> kamailio.log)
        cmd += ["-P", str(workdir / "kamailio.pid")]
        cmd += ["-Y", str(rundir)]  # runtime dir: /run/kamailio may not exist (no systemd tmpfiles in CI)
        cmd += ["-w", str(workdir)]
        cmd += ["-m", "32", "-M", "4"]  # shared / per-process private memory, MB
        module_dir = kamailio_module_dir()
        if module_dir is not None:
            cmd += ["-L", str(module_dir)]
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: a stuck worker can be killed by the group id
            )
        try:
            ready = _wait_kamailio_ready(proc, udp, tcp, startup_timeout)
            if ready:
                info = KamailioInfo(
                    sip_port=udp,
                    evapi_port=tcp,
                    agent_port=agent_port,
                    pid=proc.pid,
                    config_path=config,
                    log_path=log_path,
                )
                yield info
                if proc.poll() is not None:
                    raise SipHarnessError(f"kamailio exited early with code {proc.returncode}:\n{_tail(log_path)}")
                return
            last_error = f"exit code {proc.returncode}" if proc.poll() is not None else "not ready in time"
            last_error += f" (SIP {udp}/udp, evapi {tcp}/tcp):\n{_tail(log_path)}"
        finally:
            _stop_process(proc, group=True)
        if sip_port is not None and evapi_port is not None:
            break
    raise SipHarnessError(f"kamailio did not start: {last_error}")


def _wait_kamailio_ready(proc: subprocess.Popen[bytes], sip_port: int, evapi_port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    sip_ok = evapi_ok = False
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if not evapi_ok:
            try:
                with socket.create_connection((HOST, evapi_port), timeout=0.5):
                    evapi_ok = True
            except OSError:
                pass
        if not sip_ok:
            sip_ok = sip_options(sip_port, timeout=0.3) == 200
        if sip_ok and evapi_ok:
            return True
        time.sleep(0.02)
    return False


# ---------------------------------------------------------------------------------------------------------------
# SIPp: agent phone (UAS) and callers (UAC)
# ---------------------------------------------------------------------------------------------------------------


def _sipp_common(workdir: Path, name: str) -> tuple[list[str], Path]:
    sipp = shutil.which("sipp")
    if sipp is None:
        raise SipHarnessError("sipp not found: apt-get install sip-tester")
    error_file = workdir / f"{name}.errors.log"
    args = [sipp, "-i", HOST]  # local IP in Via/Contact/From, and the address SIPp binds
    args += ["-mi", HOST]  # media sockets on loopback too (none are used)
    args += ["-ci", HOST, "-cp", str(find_free_port("udp"))]  # control socket on loopback (SIPp moves on if taken)
    args += ["-nostdin"]  # never read the keyboard (no stdin in CI)
    args += ["-trace_err", "-error_file", str(error_file)]
    return args, error_file


@dataclass
class AgentPhone:
    """A running SIPp UAS that plays the agent's phone."""

    port: int
    answer_delay_ms: int
    proc: subprocess.Popen[bytes]
    scenario: Path
    output_path: Path
    error_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid


@contextlib.contextmanager
def run_agent_phone(
    port: int,
    workdir: Path,
    *,
    answer_delay_ms: int = 600,
    startup_timeout: float = 5.0,
) -> Iterator[AgentPhone]:
    """The agent phone: SIPp UAS on 127.0.0.1:`port` that rings (180) for `answer_delay_ms`, then answers (200).

    A CANCEL while ringing gets 200 + 487. After answering it waits for the caller's BYE. Handles any number of
    calls, one after another or at once. Stopped (TERM, then KILL) on exit.
    """
    workdir = Path(workdir) / f"agent-{port}"
    workdir.mkdir(parents=True, exist_ok=True)
    scenario = _render("agent_uas.xml.tmpl", workdir / "agent_uas.xml", {"ANSWER_DELAY_MS": int(answer_delay_ms)})
    args, error_file = _sipp_common(workdir, "agent")
    output = workdir / "agent.out"
    args += ["-sf", str(scenario), "-p", str(port)]
    with open(output, "wb") as out:
        proc = subprocess.Popen(args, cwd=workdir, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    phone = AgentPhone(port, int(answer_delay_ms), proc, scenario, output, error_file)
    try:
        _wait_udp_bound(proc, port, startup_timeout, output)
        yield phone
    finally:
        _stop_process(proc, group=False)


def _wait_udp_bound(proc: subprocess.Popen[bytes], port: int, timeout: float, output: Path) -> None:
    """Wait until 127.0.0.1:`port`/udp is taken (by `proc`, which we started to bind it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SipHarnessError(f"sipp exited with code {proc.returncode} at start:\n{_tail(output)}")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind((HOST, port))
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return
                raise
        time.sleep(0.02)
    raise SipHarnessError(f"sipp did not bind {HOST}:{port}/udp within {timeout}s:\n{_tail(output)}")


@dataclass
class CallHandle:
    """One SIPp caller run (one call). `wait()` returns when the call is over and raises if it failed."""

    call_id: str
    ani: str
    dnis: str
    kind: Literal["answered", "abandoned"]
    proc: subprocess.Popen[bytes]
    timeout: float
    output_path: Path
    error_path: Path
    started: float = field(default_factory=time.monotonic)
    duration: float | None = None

    def running(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout: float | None = None) -> CallHandle:
        limit = self.timeout if timeout is None else timeout
        try:
            code = self.proc.wait(timeout=max(0.0, self.started + limit + 5.0 - time.monotonic()))
        except subprocess.TimeoutExpired:
            _stop_process(self.proc, group=False, grace=2.0)
            raise SipHarnessError(self._describe("did not finish in time")) from None
        self.duration = time.monotonic() - self.started
        if code != 0:
            raise SipHarnessError(self._describe(f"exited with code {code}"))
        return self

    def stop(self) -> None:
        _stop_process(self.proc, group=False, grace=2.0)

    def _describe(self, what: str) -> str:
        return (
            f"sipp {self.kind} call {self.call_id} (ani={self.ani!r}, dnis={self.dnis!r}) {what}\n"
            f"--- sipp output (tail) ---\n{_tail(self.output_path)}\n"
            f"--- sipp errors (tail) ---\n{_tail(self.error_path)}"
        )


def start_call(
    kamailio: KamailioInfo,
    *,
    ani: str = "6175550123",
    dnis: str = DEFAULT_QUEUE_NUMBER,
    hold_ms: int = 300,
    abandon_after_ms: int | None = None,
    timeout: float = 20.0,
    workdir: Path,
) -> CallHandle:
    """Start one call from `ani` to `dnis` through Kamailio without waiting for it (see place_call).

    abandon_after_ms=None: wait for the answer, talk `hold_ms`, hang up (BYE).
    abandon_after_ms=N:    hear ringing (180), wait N ms, hang up before answer (CANCEL -> 487): an abandoned call.
    """
    token = secrets.token_hex(6)
    call_id = f"agentdesk-{token}-1@{HOST}"  # SIPp's -cid_str below, with %u = call number 1, %s = local IP
    workdir = Path(workdir) / f"call-{token}"
    workdir.mkdir(parents=True, exist_ok=True)
    if abandon_after_ms is None:
        kind: Literal["answered", "abandoned"] = "answered"
        scenario = _render("caller.xml.tmpl", workdir / "caller.xml", {"HOLD_MS": int(hold_ms)})
    else:
        kind = "abandoned"
        scenario = _render("caller_cancel.xml.tmpl", workdir / "caller.xml", {"RING_MS": int(abandon_after_ms)})
    args, error_file = _sipp_common(workdir, "caller")
    output = workdir / "caller.out"
    args += [kamailio.sip_address, "-sf", str(scenario)]
    args += ["-p", str(find_free_port("udp"))]  # else SIPp takes 5060 when it is free
    args += ["-s", dnis]  # [service]: the dialed number (request user = DNIS)
    args += ["-key", "ani", ani]  # [ani]: the From user (= ANI)
    args += ["-cid_str", f"agentdesk-{token}-%u@%s"]
    args += ["-m", "1", "-l", "1"]  # one call, then exit
    args += ["-timeout", f"{max(1, int(timeout))}s", "-timeout_error"]  # the global timeout is a failure
    args += ["-max_retrans", "3"]
    with open(output, "wb") as out:
        proc = subprocess.Popen(args, cwd=workdir, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    return CallHandle(call_id, ani, dnis, kind, proc, timeout, output, error_file)


def place_call(
    kamailio: KamailioInfo,
    *,
    ani: str = "6175550123",
    dnis: str = DEFAULT_QUEUE_NUMBER,
    hold_ms: int = 300,
    timeout: float = 20.0,
    workdir: Path,
) -> CallHandle:
    """Call `dnis` from `ani` via Kamailio, wait for the agent phone to answer, talk `hold_ms`, send BYE.

    Returns when the call is over (handle.call_id is the SIP Call-ID, as in the evapi events); raises
    SipHarnessError with SIPp's output and error-log tails if the call failed.
    """
    return start_call(kamailio, ani=ani, dnis=dnis, hold_ms=hold_ms, timeout=timeout, workdir=workdir).wait()


def place_abandoned_call(
    kamailio: KamailioInfo,
    *,
    ani: str = "6175550123",
    dnis: str = DEFAULT_QUEUE_NUMBER,
    ring_ms: int = 200,
    timeout: float = 20.0,
    workdir: Path,
) -> CallHandle:
    """Call `dnis` from `ani`, hear ringing for `ring_ms`, hang up before the answer (CANCEL). Blocks like place_call.

    `ring_ms` must be shorter than the agent phone's answer delay, or the call is answered and SIPp fails.
    """
    return start_call(kamailio, ani=ani, dnis=dnis, abandon_after_ms=ring_ms, timeout=timeout, workdir=workdir).wait()


# ---------------------------------------------------------------------------------------------------------------
# The evapi event socket
# ---------------------------------------------------------------------------------------------------------------


class EvapiClient:
    """A plain TCP client of Kamailio's evapi socket that reads newline-delimited JSON events."""

    def __init__(self, kamailio: KamailioInfo, *, connect_timeout: float = 5.0) -> None:
        self.kamailio = kamailio
        self.sock = socket.create_connection(kamailio.evapi_address, timeout=connect_timeout)
        self._buffer = b""
        self.events: list[dict[str, Any]] = []  # every event read so far, in order (probes excluded)
        self.raw_lines: list[bytes] = []  # every line read so far, as received (probes included)

    def __enter__(self) -> EvapiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def read_event(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next event (probes included); raises TimeoutError when none arrives in `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no evapi event within {timeout}s (partial: {self._buffer!r})")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                raise SipHarnessError("kamailio closed the evapi connection:\n" + self.kamailio.log_tail())
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        self.raw_lines.append(line)
        event = json.loads(line.decode("utf-8"))
        if not isinstance(event, dict):
            raise SipHarnessError(f"evapi line is not a JSON object: {line!r}")
        if event.get("event") != "probe":
            self.events.append(event)
        return event

    def sync(self, timeout: float = 5.0) -> None:
        """Make sure Kamailio has registered this connection: probe until our own probe event comes back.

        (connect() returns once the kernel accepted; Kamailio's dispatcher registers the client a moment later,
        and evapi drops events for clients it has not registered yet.)
        """
        token = secrets.token_hex(8)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sip_options(self.kamailio.sip_port, probe_token=token, timeout=1.0)
            try:
                while True:
                    event = self.read_event(timeout=0.25)
                    if event.get("event") == "probe" and event.get("token") == token:
                        return
            except TimeoutError:
                continue
        raise SipHarnessError(f"evapi probe did not come back within {timeout}s:\n{self.kamailio.log_tail()}")

    def wait_for(self, call_id: str, event: str, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Read until `event` for `call_id` arrives; returns all events seen so far for that call, in order."""
        deadline = time.monotonic() + timeout
        while not any(e.get("call_id") == call_id and e.get("event") == event for e in self.events):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {event!r} event for {call_id} within {timeout}s; got: {self.for_call(call_id)}")
            self.read_event(timeout=remaining)
        return self.for_call(call_id)

    def for_call(self, call_id: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("call_id") == call_id]

    def drain(self, quiet: float = 0.3) -> None:
        """Read whatever else arrives until `quiet` seconds pass without an event."""
        with contextlib.suppress(TimeoutError):
            while True:
                self.read_event(timeout=quiet)
