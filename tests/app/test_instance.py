"""Single instance without trust in the port: a squatter on the noted port never sees the token; a stale note is
dropped; the note is private to the user; the real instance proves itself and gets the request."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from agentdesk.instance import call_instance, instance_file, new_secret, read_instance, write_instance
from agentdesk.telephony.events import CallEvent
from agentdesk.telephony.intake import CallIntake
from agentdesk.telephony.sources.webhook import WebhookServer
from tests.servers import QuietHandler, serve

TOKEN = "secret-webhook-token-" + "x" * 22


@contextmanager
def squatter() -> Iterator[tuple[int, list[str]]]:
    """Another local user's listener on the port: answers everything with 200 and keeps what it was sent."""
    received: list[str] = []

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append(f"{self.path} {self.headers} {body.decode(errors='replace')}")
            self.send_json(200, {"proof": "0" * 64, "focused": True, "accepted": True})

    with serve(Handler) as base:
        yield int(base.rsplit(":", 1)[1]), received


def test_a_squatter_on_the_noted_port_never_receives_the_token(tmp_path: Path) -> None:
    with squatter() as (port, received):
        # The note names a live process (this one: as after a crash and PID reuse) and the squatter's port.
        write_instance(tmp_path, port, new_secret())
        answer = call_instance(tmp_path, TOKEN, "POST", "/v1/pop", {"ani": "+16175550123"})
    assert answer is None  # so the second start runs its own window instead of handing over
    assert received, "the squatter was asked for its proof"
    assert not any(TOKEN in request for request in received)
    assert not any("+16175550123" in request for request in received)


def test_a_stale_note_is_removed_without_connecting(tmp_path: Path) -> None:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(finished.stdout)
    with squatter() as (port, received):
        path = write_instance(tmp_path, port, new_secret())
        data = json.loads(path.read_text())
        path.write_text(json.dumps({**data, "pid": dead_pid}))
        assert call_instance(tmp_path, TOKEN, "POST", "/v1/focus") is None
    assert received == []
    assert not path.exists()


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes; Windows relies on the profile's ACLs")
def test_the_note_is_private_and_a_readable_one_is_ignored(tmp_path: Path) -> None:
    path = write_instance(tmp_path, 8442, new_secret())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert read_instance(tmp_path) is not None
    path.chmod(0o644)  # as if someone else had planted or opened it
    assert read_instance(tmp_path) is None


def test_the_real_instance_proves_itself_and_gets_the_request(tmp_path: Path) -> None:
    async def scenario() -> None:
        events: list[CallEvent] = []
        focused: list[bool] = []
        secret = new_secret()
        server = WebhookServer(
            CallIntake(events.append), TOKEN, on_focus=lambda: focused.append(True), instance_secret=secret
        )
        await server.start()
        try:
            write_instance(tmp_path, server.port, secret)
            answer = await asyncio.to_thread(call_instance, tmp_path, TOKEN, "POST", "/v1/pop", {"ani": "6175550123"})
            assert answer is not None and answer["accepted"] is True
            assert focused == [True] and events[0].ani == "6175550123"
            # The same instance with a note holding another secret (a forged or outdated note) is not trusted.
            write_instance(tmp_path, server.port, new_secret())
            assert await asyncio.to_thread(call_instance, tmp_path, TOKEN, "POST", "/v1/focus") is None
        finally:
            await server.stop()

    asyncio.run(scenario())
    assert instance_file(tmp_path).exists()
