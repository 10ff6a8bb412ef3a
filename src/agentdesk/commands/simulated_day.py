"""A simulated working day for the team monitor: N agents, each a real Desk (call tracker, campaign resolver,
agent state machine, wrap-up with bookings and referrals, script runs) fed call events by a phone system played
here, on simulated clocks, into the store a desk uses. Arrivals follow the day's curve; some callers abandon
(some within seconds), some wait on hold, some are transferred, some ring at two agents (ring-all).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from agentdesk.campaigns.resolver import CampaignResolver
from agentdesk.desk import CallContext, Desk
from agentdesk.records.lookup import ProfileLookup
from agentdesk.store.local import LocalStore
from agentdesk.store.outcomes import WrapUpForm
from agentdesk.telephony.agent_state import AgentState, AgentStateMachine
from agentdesk.telephony.calls import CallTracker
from agentdesk.telephony.events import CallEvent, CallEventKind

# Relative call volume by hour of the working day (morning peak, lunch dip, afternoon peak).
HOURLY_CURVE = (0.7, 1.3, 1.4, 1.1, 0.8, 1.0, 1.2, 1.0, 0.7, 0.5, 0.4, 0.3)


@dataclass(frozen=True)
class CampaignMix:
    """A campaign's share of the calls and how its handled calls tend to end."""

    queue: str
    weight: float
    booking: float
    referral: float


DEFAULT_MIX = (
    CampaignMix("heart-screening", 3, 0.30, 0.15),
    CampaignMix("new-patients", 3, 0.35, 0.02),
    CampaignMix("referrals", 2, 0.10, 0.45),
    CampaignMix("general", 2, 0.05, 0.03),
)


@dataclass
class SimulatedAgent:
    agent_id: str
    desk: Desk
    clock_now: list[datetime]
    free_at: datetime
    on_break: bool = False
    breaks: list[tuple[datetime, str, float]] = field(default_factory=list)


@dataclass
class DayReport:
    calls: int = 0
    abandoned: int = 0
    transferred: int = 0
    bookings: int = 0
    referrals: int = 0
    events: int = 0


class SimulatedDay:
    """Plays one day into `store`, in time order across all desks (a heap of timed actions)."""

    def __init__(
        self,
        store: LocalStore,
        resolver: CampaignResolver,
        lookup: ProfileLookup,
        agents: int,
        start: datetime,
        hours: float,
        seed: int,
        mix: tuple[CampaignMix, ...] = DEFAULT_MIX,
        reasons: tuple[str, ...] = ("Break", "Lunch", "Training", "Meeting"),
        until_now: bool = False,
    ) -> None:
        """`until_now`: the day is still going at its end (the demo): calls then in progress stay in progress
        and agents stay in their states; otherwise every call is played out and the shift ends Not Ready."""
        self.until_now = until_now
        self.rng = random.Random(seed)
        self.start, self.end = start, start + timedelta(hours=hours)
        self.mix = mix
        self.report = DayReport()
        self._queue: list[tuple[datetime, int, Callable[[], Awaitable[None] | None]]] = []
        self._order = itertools.count()
        self._call_ids = itertools.count(1)
        self.agents: list[SimulatedAgent] = []
        for number in range(agents):
            agent_id = f"agent{number + 1:03d}"
            now = [start]

            def clock(now: list[datetime] = now) -> datetime:
                return now[0]

            desk = Desk(
                agent_id,
                CallTracker("US", own_agent_ids=[agent_id], ring_timeout_seconds=600),
                lookup,
                resolver,
                store,
                AgentStateMachine(list(reasons), clock=clock),
                clock=clock,
                time_zone="America/New_York",
            )
            arrive = start + timedelta(seconds=self.rng.uniform(0, 900))
            agent = SimulatedAgent(agent_id, desk, now, arrive)
            # A break two hours into the shift, lunch at four, another break at six (those the day reaches).
            agent.breaks = [
                (start + timedelta(hours=at, minutes=self.rng.uniform(-20, 20)), reason, seconds)
                for at, reason, seconds in ((2, "Break", 900), (4, "Lunch", 1800), (6, "Break", 900))
                if at < hours
            ]
            self.agents.append(agent)
            self._at(arrive, agent, partial(agent.desk.set_agent_state, AgentState.AVAILABLE))
            self._at(arrive + timedelta(seconds=self.rng.expovariate(1 / 45)), agent, partial(self._next_call, agent))

    def _at(self, when: datetime, agent: SimulatedAgent, action: Callable[[], Awaitable[None] | object | None]) -> None:
        def run() -> Awaitable[None] | None:
            agent.clock_now[0] = when
            result = action()
            return result if asyncio.iscoroutine(result) else None

        heapq.heappush(self._queue, (when, next(self._order), run))

    async def run(self) -> DayReport:
        while self._queue:
            if self.until_now and self._queue[0][0] > self.end:
                break
            _, _, action = heapq.heappop(self._queue)
            pending = action()
            if pending is not None:
                await pending
        for agent in self.agents:
            await agent.desk.drain()
        return self.report

    # -- one agent's calls ---------------------------------------------------------------------------------------
    def _send(
        self,
        desk_of: SimulatedAgent,
        kind: CallEventKind,
        call_id: str,
        when: datetime,
        ani: str = "",
        queue: str = "",
        agent: str = "",
    ) -> None:
        event = CallEvent(kind, call_id, ani=ani, queue=queue, agent=agent, source="simulator", occurred_at=when)
        self._at(when, desk_of, lambda: desk_of.desk.ingest(event))
        self.report.events += 1

    def _load(self, when: datetime) -> float:
        hour = int((when - self.start).total_seconds() // 3600)
        return HOURLY_CURVE[min(hour, len(HOURLY_CURVE) - 1)]

    def _next_call(self, agent: SimulatedAgent) -> None:
        now = agent.clock_now[0]
        if now >= self.end:
            if not self.until_now:
                agent.desk.set_agent_state(AgentState.NOT_READY, "Meeting")  # end of shift
            return
        if agent.breaks and now >= agent.breaks[0][0]:
            _, reason, seconds = agent.breaks.pop(0)
            agent.desk.set_agent_state(AgentState.NOT_READY, reason)
            back = now + timedelta(seconds=seconds * self.rng.uniform(0.9, 1.4))
            self._at(back, agent, lambda: agent.desk.set_agent_state(AgentState.AVAILABLE))
            self._at(back + timedelta(seconds=5), agent, lambda: self._next_call(agent))
            return
        rng = self.rng
        campaign = rng.choices(self.mix, weights=[m.weight for m in self.mix])[0]
        call_id = f"sim-{next(self._call_ids):07d}"
        ani = f"+1202555{rng.randint(0, 9999):04d}"
        offered = now
        self.report.calls += 1
        common = {"ani": ani, "queue": campaign.queue}
        self._send(agent, CallEventKind.OFFERED, call_id, offered, **common)
        if rng.random() < 0.07:  # the caller hangs up while it rings; about a third within 5 s
            wait = rng.uniform(1, 5) if rng.random() < 0.35 else rng.uniform(6, 90)
            self._send(agent, CallEventKind.ENDED, call_id, offered + timedelta(seconds=wait))
            self.report.abandoned += 1
            idle = rng.expovariate(self._load(offered) / 40)
            self._at(offered + timedelta(seconds=wait + idle), agent, lambda: self._next_call(agent))
            return
        ring = min(rng.lognormvariate(2.2, 0.6), 120)
        answered = offered + timedelta(seconds=ring)
        if rng.random() < 0.1:  # ring-all: a second agent's phone rang too, and stops when this one answers
            other = rng.choice(self.agents)
            if other is not agent:
                self._send(other, CallEventKind.OFFERED, call_id, offered, **common)
                self._send(other, CallEventKind.ANSWERED, call_id, answered, agent=agent.agent_id)
        self._send(agent, CallEventKind.ANSWERED, call_id, answered, agent=agent.agent_id)
        talk = rng.uniform(120, 420)
        cursor = answered
        if rng.random() < 0.3:
            held = answered + timedelta(seconds=talk * rng.uniform(0.2, 0.6))
            resumed = held + timedelta(seconds=rng.uniform(20, 120))
            self._send(agent, CallEventKind.HELD, call_id, held)
            self._send(agent, CallEventKind.RESUMED, call_id, resumed)
            cursor = resumed
        ended = max(cursor, answered + timedelta(seconds=talk)) + timedelta(seconds=rng.uniform(5, 30))
        transferred = rng.random() < 0.05
        self._send(agent, CallEventKind.TRANSFERRED if transferred else CallEventKind.ENDED, call_id, ended)
        self.report.transferred += transferred
        wrapped = ended + timedelta(seconds=rng.uniform(15, 100))
        if wrapped >= self.end and rng.random() < 0.5:
            return  # the last wrap-up of the day is never finished: shown as in progress
        outcome = rng.random()
        code = "information_provided"
        if transferred:
            code = "transferred"
        elif outcome < campaign.booking:
            code = "appointment_booked"
        elif outcome < campaign.booking + campaign.referral:
            code = "referral_made"
        self._at(wrapped, agent, lambda: self._wrap_up(agent, call_id, code, wrapped))

    async def _wrap_up(self, agent: SimulatedAgent, call_id: str, code: str, when: datetime) -> None:
        context = agent.desk.contexts.get(call_id)
        if context is not None:
            allowed = {d.code for d in context.dispositions}
            if code not in allowed:
                code = "information_provided" if "information_provided" in allowed else sorted(allowed)[0]
            await agent.desk.save_disposition(context, code, "", "", self._form(context, code, when))
            self.report.bookings += code == "appointment_booked"
            self.report.referrals += code == "referral_made"
        idle = self.rng.expovariate(self._load(when) / 40)
        self._at(when + timedelta(seconds=idle), agent, lambda: self._next_call(agent))

    def _form(self, context: CallContext, code: str, when: datetime) -> WrapUpForm:
        details: dict[str, dict[str, str]] = {}
        if code == "appointment_booked":
            start = (when + timedelta(days=self.rng.randint(2, 20))).astimezone().replace(hour=10, minute=30)
            details["booking"] = {
                "provider": "Dr. Rivera",
                "location": "Main campus",
                "visit_type": "Screening",
                "start": f"{start:%Y-%m-%d %H:%M}",
                "time_zone": "America/New_York",
                "new_patient": "yes" if self.rng.random() < 0.4 else "",
            }
        elif code == "referral_made":
            line = context.campaign.service_line if context.campaign and context.campaign.service_line else "cardiology"
            details["referral"] = {"target": line, "reason": "Screening follow-up"}
        return WrapUpForm(code, "", details)
