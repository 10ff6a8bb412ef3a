"""Windows logoff and shutdown in the running desk (issue 8). Qt turns WM_QUERYENDSESSION into commitDataRequest
(the desk starts its clean stop) and WM_ENDSESSION into aboutToQuit, after which Windows may kill the process
the moment the handler returns: `session_ended` must leave the call events on disk and no instance note behind
without another turn of the event loop. (The real messages are sent on the Windows runner: test_windows_logoff.)"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from agentdesk.instance import instance_file
from agentdesk.telephony.events import CallEvent, CallEventKind
from tests.support import make_app, start_shown, wait_until

pytestmark = pytest.mark.gui


def test_the_session_ending_leaves_every_accepted_event_on_disk_and_no_note(qtbot, run_async, tmp_path: Path) -> None:
    app = make_app(tmp_path, qtbot=qtbot)
    note = instance_file(app.paths.data_dir)

    async def scenario() -> None:
        await start_shown(app)
        await wait_until(note.exists, what="the instance note")
        for n in range(20):
            app.intake.accept(CallEvent(CallEventKind.OFFERED, f"logoff-{n}", ani="6175550123", source="webhook"))
        await wait_until(lambda: all(app.desk.tracker.get(f"logoff-{n}") for n in range(20)), what="events applied")
        app.session_ended()  # WM_ENDSESSION: nothing after this line runs before the process may be gone
        with sqlite3.connect(app.paths.local_store) as db:
            stored = {row[0] for row in db.execute("SELECT call_id FROM call_events WHERE kind = 'offered'")}
        assert stored >= {f"logoff-{n}" for n in range(20)}
        assert not note.exists()

    run_async(scenario())


def test_after_a_clean_stop_the_session_end_changes_nothing(qtbot, run_async, tmp_path: Path) -> None:
    app = make_app(tmp_path, qtbot=qtbot)

    async def scenario() -> None:
        await start_shown(app)
        app.session_ending()  # WM_QUERYENDSESSION: the draft handed over, the clean stop asked for
        await app.stop()
        assert app.stopped_cleanly
        app.session_ended()  # the store is closed: nothing to write, and no error for it

    run_async(scenario())
