"""SIGTERM and SIGINT (Ctrl+C) end a running AgentDesk the clean way (issue 9): the desktop is started as its own
process, takes calls over its webhook, and on the signal drains them into the store, closes it, removes its
instance note and exits 0. Before, SIGTERM killed it on the spot and SIGINT was ignored."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

from tests.support import DeskProcess

pytestmark = pytest.mark.slow


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_drains_closes_the_store_and_removes_the_instance_note(tmp_path: Path, signum: int) -> None:
    with DeskProcess(tmp_path) as desk:
        desk.wait_running()
        desk.post_call_events("sig-1")
        desk.process.send_signal(signum)  # at once: the accepted events must still reach the disk
        code = desk.process.wait(60)
        assert code == 0, desk.output_text()[-2000:]
    assert not desk.note.exists(), "the instance note was left behind"
    wal = Path(f"{desk.paths.local_store}-wal")
    assert not wal.exists() or wal.stat().st_size == 0, "the store was not closed"
    assert desk.stored_kinds("sig-1") == ["offered", "answered"]
    assert f"{signal.Signals(signum).name} received: stopping cleanly" in desk.app_log()
    assert "AgentDesk stopped" in desk.app_log()
