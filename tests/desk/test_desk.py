"""The Desk, the agent's session, on its own: no Qt, no window. A fake clock, a real SQLite store in a temporary
folder, and the real lookup over a stub backend (the only stand-in: a record system answering from a dict)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agentdesk import services
from agentdesk.campaigns.resolver import CampaignResolver
from agentdesk.config import load_settings
from agentdesk.desk import CallContext, Desk, WrapUpPolicy
from agentdesk.paths import AppPaths
from agentdesk.records.decisions import Decision, IdentityDecision
from agentdesk.records.model import SourceRecord
from agentdesk.telephony.agent_state import AgentState, AgentStateMachine
from agentdesk.telephony.calls import CallState, CallTracker
from agentdesk.telephony.events import CallEvent, CallEventKind

ME = "agent-7"
CALLER = "+16175550123"
OTHER_CALLER = "+16175550188"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


M0 = 1000.0  # the desk's monotonic clock at START


class FakeClock:
    """Both of the desk's clocks: the wall time it stores and its monotonic clock for durations, in step."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return M0 + (self.now - START).total_seconds()

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now

    def later(self, seconds: float) -> float:
        """Advance, and return the monotonic reading (what the expiry sweep takes)."""
        self.advance(seconds)
        return self.monotonic()


class StubBackend:
    """A record system answering from a dict of phone -> records; counts the questions it was asked."""

    def __init__(self, name: str, people: dict[str, list[dict[str, str]]], priority: int = 10) -> None:
        self.name = name
        self.priority = priority
        self.timeout_seconds = 2.0
        self.people = people
        self.asked: list[str] = []

    async def find_by_phone(self, e164: str) -> list[SourceRecord]:
        self.asked.append(e164)
        return [
            SourceRecord(
                self.name, fields["id"], {k: v for k, v in fields.items() if k != "id"}, priority=self.priority
            )
            for fields in self.people.get(e164, [])
        ]

    async def aclose(self) -> None:
        return None


ANA = {"given_name": "Ana", "family_name": "Silva", "birth_date": "1980-02-03", "phone": CALLER}
EHR = StubBackend("EHR", {CALLER: [{"id": "p1", **ANA}]})
CRM = StubBackend("CRM", {CALLER: [{"id": "c9", **ANA, "given_name": "Anna"}]}, priority=20)


Scenario = Callable[[Desk, FakeClock], Awaitable[None]]


def run_desk(tmp_path: Path, scenario: Scenario, wrapup: WrapUpPolicy | None = None) -> Path:
    """Build the core as the app does (services.build: store, decisions, matcher, lookup), with stub backends,
    run `scenario`, drain and close; returns the store file."""
    settings = load_settings([], {"agent": {"id": ME}, "telephony": {"ring_timeout_seconds": 30}})
    paths = AppPaths.for_basedir(tmp_path)
    paths.create()

    async def main() -> None:
        clock = FakeClock()
        core = services.build(settings, paths)
        core.lookup.backends = [StubBackend("EHR", EHR.people), StubBackend("CRM", CRM.people, 20)]
        await core.open_store()
        desk = Desk(
            ME,
            CallTracker("US", own_agent_ids=[ME], ring_timeout_seconds=settings.telephony.ring_timeout_seconds),
            core.lookup,
            CampaignResolver((), settings.dispositions),
            core.store,
            AgentStateMachine(["Break"], clock=clock),
            core.decisions,
            wrapup=wrapup,
            clock=clock,
            monotonic=clock.monotonic,
        )
        try:
            await scenario(desk, clock)
            await desk.drain()
        finally:
            await core.close()

    asyncio.run(main())
    return paths.local_store


def event(kind: CallEventKind, call_id: str, at: datetime, ani: str = CALLER, agent: str = ME) -> CallEvent:
    """Stamped `at` by the phone system and received at the same moment on the desk's clock."""
    received = M0 + (at - START).total_seconds()
    return CallEvent(kind, call_id, ani=ani, agent=agent, source="test", occurred_at=at, received_at=received)


async def looked_up(desk: Desk, call_id: str) -> CallContext:
    for _ in range(200):
        context = desk.contexts[call_id]
        if context.lookup is not None and context.lookup.done:
            return context
        await asyncio.sleep(0.01)
    raise AssertionError("the lookup did not finish")


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        return list(db.execute(sql))


def test_the_current_call_is_the_one_talking_then_the_first_ringing(tmp_path: Path) -> None:
    async def scenario(desk: Desk, clock: FakeClock) -> None:
        desk.ingest(event(CallEventKind.OFFERED, "a", clock()))
        desk.ingest(event(CallEventKind.OFFERED, "b", clock.advance(1), ani=OTHER_CALLER))
        assert desk.current is not None and desk.current.call.call_id == "a"  # the first ringing
        desk.ingest(event(CallEventKind.ANSWERED, "b", clock.advance(1), ani=OTHER_CALLER))
        assert desk.current.call.call_id == "b"  # the agent picked up this one
        assert desk.agent_state.status.state is AgentState.ON_CALL
        desk.ingest(event(CallEventKind.ENDED, "a", clock.advance(1)))  # the caller on hold in the queue gave up
        assert desk.current.call.call_id == "b"
        assert desk.focus("a") is desk.contexts["a"] and desk.current is desk.contexts["a"]  # the agent's choice

    run_desk(tmp_path, scenario)


def test_ring_all_answered_by_a_colleague_moves_the_view_to_the_next_ringing_call(tmp_path: Path) -> None:
    async def scenario(desk: Desk, clock: FakeClock) -> None:
        desk.ingest(event(CallEventKind.OFFERED, "a", clock()))
        desk.ingest(event(CallEventKind.OFFERED, "b", clock.advance(1), ani=OTHER_CALLER))
        desk.ingest(event(CallEventKind.ANSWERED, "a", clock.advance(1), agent="colleague-3"))
        a = desk.contexts["a"]
        assert a.call.state is CallState.ENDED and a.call.end_reason == "answered elsewhere"
        assert a.wrapped_up  # nothing for this agent to wrap up
        assert desk.current is desk.contexts["b"]
        assert [c.call.call_id for c in desk.active_contexts] == ["b"]
        assert desk.agent_state.status.state is not AgentState.ON_CALL

    run_desk(tmp_path, scenario)


def test_a_transfer_keeps_the_lookup_without_asking_the_backends_again(tmp_path: Path) -> None:
    async def scenario(desk: Desk, clock: FakeClock) -> None:
        backend = desk.lookup.backends[0]
        assert isinstance(backend, StubBackend)
        desk.ingest(event(CallEventKind.OFFERED, "leg-1", clock()))
        desk.ingest(event(CallEventKind.ANSWERED, "leg-1", clock.advance(2)))
        first = await looked_up(desk, "leg-1")
        desk.ingest(event(CallEventKind.TRANSFERRED, "leg-1", clock.advance(30)))
        desk.ingest(event(CallEventKind.OFFERED, "leg-2", clock.advance(1)))
        second = desk.contexts["leg-2"]
        assert second.transferred_from == "leg-1"
        assert second.lookup is not None and second.lookup.call_id == "leg-2"
        assert [p.key for p in second.lookup.patients] == [p.key for p in first.lookup.patients]  # type: ignore[union-attr]
        assert backend.asked == [CALLER]  # one question for both legs

    run_desk(tmp_path, scenario)


def test_a_call_ringing_past_the_timeout_ends_and_old_calls_are_forgotten(tmp_path: Path) -> None:
    async def scenario(desk: Desk, clock: FakeClock) -> None:
        desk.ingest(event(CallEventKind.OFFERED, "lost", clock()))
        desk.expire_calls(clock.later(29))
        assert desk.contexts["lost"].call.state is CallState.RINGING
        desk.expire_calls(clock.later(2))
        assert desk.contexts["lost"].call.end_reason == "ring timeout"
        desk.ingest(event(CallEventKind.OFFERED, "next", clock.advance(1), ani=OTHER_CALLER))
        desk.expire_calls(clock.later(2 * 3600))  # an hour later the ended call is gone; the current one stays
        assert "lost" not in desk.contexts and desk.tracker.get("lost") is None

    path = run_desk(tmp_path, scenario)
    assert ("ended", "ring timeout") in rows(path, "SELECT kind, reason FROM call_events WHERE call_id = 'lost'")


def test_keep_house_runs_the_expiry_on_the_desks_clock(tmp_path: Path) -> None:
    async def scenario(desk: Desk, clock: FakeClock) -> None:
        desk.ingest(event(CallEventKind.OFFERED, "lost", clock()))
        clock.advance(31)
        housekeeping = asyncio.get_running_loop().create_task(desk.keep_house(every_seconds=0.01))
        for _ in range(100):
            if desk.contexts["lost"].call.state is CallState.ENDED:
                break
            await asyncio.sleep(0.01)
        housekeeping.cancel()
        assert desk.contexts["lost"].call.end_reason == "ring timeout"

    run_desk(tmp_path, scenario)


def test_each_record_shown_is_audited_once_per_call(tmp_path: Path) -> None:
    async def scenario(desk: Desk, clock: FakeClock) -> None:
        desk.ingest(event(CallEventKind.OFFERED, "c1", clock()))
        context = await looked_up(desk, "c1")
        assert context.lookup is not None
        for patient in context.lookup.patients:
            desk.profile_viewed(context, patient)
            desk.profile_viewed(context, patient)  # shown again as sources answer: not audited twice
        desk.ingest(event(CallEventKind.OFFERED, "c2", clock.advance(600)))
        desk.profile_viewed(desk.contexts["c2"], (await looked_up(desk, "c2")).lookup.patients[0])  # type: ignore[union-attr]

    path = run_desk(tmp_path, scenario)
    audited = rows(
        path,
        "SELECT agent_id, patient_key, call_id FROM audit_events WHERE action = 'profile_view'"
        " ORDER BY call_id, patient_key",
    )
    assert audited == [
        (ME, "CRM:c9", "c1"),
        (ME, "EHR:p1", "c1"),
        (ME, "CRM:c9", "c2"),
        (ME, "EHR:p1", "c2"),
    ]


def test_decisions_from_elsewhere_change_the_next_lookup(tmp_path: Path) -> None:
    async def scenario(desk: Desk, clock: FakeClock) -> None:
        desk.ingest(event(CallEventKind.OFFERED, "c1", clock()))
        assert len((await looked_up(desk, "c1")).lookup.patients) == 1  # type: ignore[union-attr]
        desk.ingest(event(CallEventKind.ENDED, "c1", clock.advance(30)))
        desk.decided_elsewhere([IdentityDecision("CRM:c9", "EHR:p1", Decision.DIFFERENT)])
        desk.ingest(event(CallEventKind.OFFERED, "c2", clock.advance(600)))  # a new call, not a transfer
        assert len((await looked_up(desk, "c2")).lookup.patients) == 2  # type: ignore[union-attr]

    run_desk(tmp_path, scenario)


def test_save_stores_the_wrap_up_and_a_bad_code_names_the_field(tmp_path: Path) -> None:
    from agentdesk.desk import DispositionInvalid

    async def scenario(desk: Desk, clock: FakeClock) -> None:
        desk.ingest(event(CallEventKind.OFFERED, "c1", clock()))
        desk.ingest(event(CallEventKind.ANSWERED, "c1", clock.advance(3)))
        desk.ingest(event(CallEventKind.ENDED, "c1", clock.advance(120)))
        context = desk.contexts["c1"]
        assert desk.agent_state.status.state is AgentState.WRAP_UP
        with pytest.raises(DispositionInvalid, match="disposition"):
            await desk.save_disposition(context, "no_such_code", "", "")
        assert not context.wrapped_up
        saved = await desk.save_disposition(context, "information_provided", "  asked about parking  ", "EHR:p1")
        assert saved.notes == "asked about parking" and context.wrapped_up
        assert desk.agent_state.status.state is not AgentState.WRAP_UP

    path = run_desk(tmp_path, scenario)
    assert rows(path, "SELECT call_id, agent_id, disposition_code, notes FROM dispositions") == [
        ("c1", ME, "information_provided", "asked about parking")
    ]


def test_a_mandatory_wrap_up_holds_the_view_until_its_limit(tmp_path: Path) -> None:
    async def scenario(desk: Desk, clock: FakeClock) -> None:
        desk.ingest(event(CallEventKind.OFFERED, "c1", clock()))
        desk.ingest(event(CallEventKind.ANSWERED, "c1", clock.advance(3)))
        desk.ingest(event(CallEventKind.ENDED, "c1", clock.advance(60)))
        desk.ingest(event(CallEventKind.OFFERED, "c2", clock.advance(5), ani=OTHER_CALLER))
        assert desk.current is desk.contexts["c1"]  # the agent finishes this wrap-up first
        desk.expire_calls(clock.later(10))
        assert desk.current is desk.contexts["c1"]  # 15 s after the end: still within the 20 s limit
        desk.expire_calls(clock.later(10))
        assert desk.current is desk.contexts["c2"]  # past the limit: the ringing call takes the view

    run_desk(tmp_path, scenario, WrapUpPolicy(required=True, limit_seconds=20))
