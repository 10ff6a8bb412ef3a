"""SIGTERM and SIGINT (Ctrl+C) end a running AgentDesk the clean way (issue 9): the desktop is started as its own
process, takes calls over its webhook, and on the signal drains them into the store, closes it, removes its
instance note and exits 0. Before, SIGTERM killed it on the spot and SIGINT was ignored."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from agentdesk.instance import instance_file
from agentdesk.paths import AppPaths

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_drains_closes_the_store_and_removes_the_instance_note(tmp_path: Path, signum: int) -> None:
    keyring_file = tmp_path / "keyring.json"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHON_KEYRING_BACKEND": "tests.file_keyring.FileKeyring",
        "AGENTDESK_TEST_KEYRING": str(keyring_file),
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    note = instance_file(AppPaths.for_basedir(tmp_path).data_dir)
    output = (tmp_path / "out.txt").open("wb")
    desk = subprocess.Popen(
        [sys.executable, "-m", "agentdesk", "--demo", "--basedir", str(tmp_path)],
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        cwd=REPO_ROOT,
    )
    try:
        wait_for(note.exists, 90, "the running desk's instance note")
        port = json.loads(note.read_text(encoding="utf-8"))["port"]
        token = json.loads(keyring_file.read_text(encoding="utf-8"))["AgentDesk/webhook-token"]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}) as web:
            for kind in ("offered", "answered"):
                response = web.post("/v1/call-events", json={"event": kind, "call_id": "sig-1", "ani": "6175550123"})
                assert response.status_code == 202
        desk.send_signal(signum)  # at once: the accepted events must still reach the disk
        code = desk.wait(60)
    finally:
        if desk.poll() is None:
            desk.kill()
            desk.wait()
        output.close()
    log = (tmp_path / "out.txt").read_text(encoding="utf-8", errors="replace")
    assert code == 0, log[-2000:]
    assert not note.exists(), "the instance note was left behind"
    store = AppPaths.for_basedir(tmp_path).local_store
    assert not Path(f"{store}-wal").exists() or Path(f"{store}-wal").stat().st_size == 0, "the store was not closed"
    with sqlite3.connect(store) as db:
        kinds = [row[0] for row in db.execute("SELECT kind FROM call_events WHERE call_id = 'sig-1' ORDER BY id")]
    assert kinds == ["offered", "answered"]
    app_log = (tmp_path / "logs" / "agentdesk.log").read_text(encoding="utf-8")
    assert f"{signal.Signals(signum).name} received: stopping cleanly" in app_log
    assert "AgentDesk stopped" in app_log
