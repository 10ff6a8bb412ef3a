"""Issue 9's reproduced failures, each at the layer that owned the bug: a bad row took its batch with it, a caller
id no driver can encode opened a backend's breaker for every caller, and a phone system whose clock runs behind
had its ringing calls ended by the ring timeout before they could be answered."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agentdesk.records.backends.sql import SqlBackend
from agentdesk.records.lookup import ProfileLookup
from agentdesk.records.model import SourceState
from agentdesk.store.local import LocalStore
from agentdesk.telephony.calls import CallState, CallTracker
from agentdesk.telephony.events import CallEvent, CallEventKind
from agentdesk.telephony.intake import CallIntake


def test_one_bad_row_never_takes_its_batch_with_it(tmp_path: Path) -> None:
    errors: list[BaseException] = []

    async def scenario() -> list[str]:
        store = LocalStore(tmp_path / "store.sqlite3")
        await store.open()
        store.on_write_error.append(errors.append)
        now = datetime.now(UTC)
        # Three rows queued in one turn of the loop: one batch. The middle one cannot be encoded by SQLite (as a
        # lone surrogate could before the boundary refused it); its neighbours must still reach the disk.
        batch = [
            store.log_call_event("before", "offered", "ringing", "webhook", now),
            store.log_call_event("bad-\ud800", "offered", "ringing", "webhook", now),
            store.log_call_event("after", "offered", "ringing", "webhook", now),
        ]
        await asyncio.gather(*batch)  # the batch as a whole succeeds: the bad row is reported, not raised
        rows = await store.call_events()
        await store.close()
        return sorted(str(row["call_id"]) for row in rows)

    assert asyncio.run(scenario()) == ["after", "before"]
    assert [type(error).__name__ for error in errors] == ["UnicodeEncodeError"]


def test_a_query_value_the_driver_cannot_encode_does_not_open_the_breaker(tmp_path: Path) -> None:
    crm = tmp_path / "crm.sqlite3"
    with sqlite3.connect(crm) as db:
        db.execute("CREATE TABLE people (id TEXT, first TEXT, last TEXT, phone TEXT)")
        db.execute("INSERT INTO people VALUES ('7', 'Ana', 'Lopez', '+16175550123')")

    async def scenario() -> tuple[list[str], SourceState, int]:
        backend = SqlBackend("CRM", f"sqlite:///{crm}", "SELECT id, first, last FROM people WHERE phone = :phone")
        lookup = ProfileLookup([backend], breaker_failures=3, breaker_seconds=30)
        try:
            reasons = []
            for index in range(5):  # more than breaker_failures: each is the value's fault, not the backend's
                bad = await lookup.lookup(f"bad-{index}", "+1617555\udc800123")
                reasons.append(bad.sources[0].reason)
            good = await lookup.lookup("real-caller", "+16175550123")
            return reasons, good.sources[0].state, len(good.records)
        finally:
            await lookup.aclose()

    reasons, state, found = asyncio.run(scenario())
    assert all(reason.startswith("cannot search for this value") for reason in reasons)
    assert state is SourceState.OK and found == 1  # the real caller behind them is found, not "skipped"


T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def test_a_phone_system_clock_120_s_behind_neither_ends_the_call_nor_hides_its_answer() -> None:
    tracker = CallTracker("US", ring_timeout_seconds=90)
    behind = timedelta(seconds=-120)
    desk_clock = 7000.0

    def send(kind: CallEventKind, after: float) -> None:
        tracker.ingest(
            CallEvent(
                kind,
                "skewed-1",
                ani="6175550123",
                occurred_at=T0 + behind + timedelta(seconds=after),
                received_at=desk_clock + after,
                stamped=True,
                source="pbx",
            )
        )

    send(CallEventKind.OFFERED, 0)
    assert tracker.expire(desk_clock + 1.6) == []  # 1.6 s after the offer: still ringing (it was "ring timeout")
    send(CallEventKind.ANSWERED, 8)
    send(CallEventKind.ENDED, 68)
    call = tracker.get("skewed-1")
    assert call is not None and call.state is CallState.ENDED and call.end_reason == "hung up"
    assert call.offered_at == T0 + behind  # stored as the phone system sent it
    assert call.talk_seconds() == 60 and call.ring_seconds() == 8  # timed on the desk's clock

    ringing = CallTracker("US", ring_timeout_seconds=90)
    ringing.ingest(CallEvent(CallEventKind.OFFERED, "r", occurred_at=T0 + behind, received_at=100.0, stamped=True))
    (expired,) = ringing.expire(191.0)  # 91 s of ringing on the desk's clock
    assert expired.end_reason == "ring timeout"
    assert expired.ended_at == T0 + behind + timedelta(seconds=91)  # in the phone system's time line


def test_the_intake_measures_each_sources_clock_skew() -> None:
    intake = CallIntake(lambda _event: None)
    now = datetime.now(UTC)
    for index in range(5):
        intake.accept(
            CallEvent(
                CallEventKind.OFFERED, f"a{index}", occurred_at=now - timedelta(seconds=120), stamped=True, source="pbx"
            )
        )
        intake.accept(CallEvent(CallEventKind.OFFERED, f"b{index}", occurred_at=now, stamped=True, source="cti"))
        intake.accept(CallEvent(CallEventKind.OFFERED, f"c{index}", source="unstamped"))
    # One late retry among them does not move the median.
    intake.accept(
        CallEvent(CallEventKind.OFFERED, "late", occurred_at=now - timedelta(hours=1), stamped=True, source="cti")
    )
    skews = intake.skewed_sources()
    assert set(skews) == {"pbx"} and -121 < skews["pbx"] < -119
    assert intake.clock_skew("unstamped") is None
