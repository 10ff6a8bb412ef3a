"""The agent's working session, without Qt: follows calls, looks callers up while the phone rings, audits what
the agent sees, and records the wrap-up. The UI listens to it; call sources feed it through `ingest`.

The Desk is put together from its policies, one module each: which call is current (current.py), the lookup and
its audit (lookups.py), expiry (housekeeping.py), the wrap-up and drafts (wrapup.py), identity decisions
(identity.py); this module keeps the session itself: calls coming in, their campaign and script, the agent's
state."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from agentdesk.base.tasks import TaskKeeper
from agentdesk.base.time import utc_now
from agentdesk.campaigns.context import script_context
from agentdesk.campaigns.resolver import CampaignResolver, Resolution
from agentdesk.campaigns.runner import CompiledScript, ScriptRun
from agentdesk.desk.caller_facts import call_facts
from agentdesk.desk.context import CallContext, DeskListeners, WrapUpPolicy
from agentdesk.desk.housekeeping import Housekeeping
from agentdesk.desk.identity import IdentityDecisions
from agentdesk.desk.lookups import CallerLookup
from agentdesk.desk.wrapup import WrapUp
from agentdesk.records.decisions import DecisionBook
from agentdesk.records.lookup import ProfileLookup
from agentdesk.store.outcomes import local_zone_name
from agentdesk.telephony.agent_state import AgentState, AgentStateMachine, AgentStatus
from agentdesk.telephony.caller_id import can_look_up
from agentdesk.telephony.calls import Call, CallState, CallTracker
from agentdesk.telephony.events import CallEvent, CallEventKind

if TYPE_CHECKING:
    from agentdesk.store.local import LocalStore

log = logging.getLogger("agentdesk.app")


class Desk(Housekeeping, WrapUp, CallerLookup, IdentityDecisions):
    """One agent's desk. All methods run on the event loop's thread."""

    def __init__(
        self,
        agent_id: str,
        tracker: CallTracker,
        lookup: ProfileLookup,
        campaigns: CampaignResolver,
        store: LocalStore,
        agent_state: AgentStateMachine,
        decisions: DecisionBook | None = None,
        time_zone: str = "",
        region: str = "US",
        wrapup: WrapUpPolicy | None = None,
        agent_name: str = "",
        clock: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.agent_id = agent_id
        self.agent_name = agent_name or agent_id
        self.tracker = tracker
        self.lookup = lookup
        self.campaigns = campaigns
        self.store = store
        self.agent_state = agent_state
        self.decisions = decisions if decisions is not None else DecisionBook()  # an empty book is falsy
        self.on = DeskListeners()
        self.contexts = {}
        self._by_caller = {}
        self.current = None
        self._unwrapped = {}
        self.phone = None
        self.tasks = TaskKeeper()
        self._draft_pending = set()
        self.time_zone = time_zone or local_zone_name()
        self.region = region
        self.wrapup = wrapup or WrapUpPolicy()
        self.clock = clock
        self.monotonic = monotonic
        tracker.subscribe(self._call_changed)
        store.on_write_error.append(
            lambda error: self._store_health(False, f"log write failed ({type(error).__name__})")
        )
        agent_state.subscribe(self._agent_changed)

    # -- the intake every call source uses ---------------------------------------------------------------------
    def ingest(self, event: CallEvent) -> None:
        self.tracker.ingest(event)

    def _call_changed(self, call: Call, event: CallEvent) -> None:
        context = self.contexts.get(call.call_id)
        if context is None:
            context = self._new_context(call)
        context.call = call
        outbound = context.campaign is not None and context.campaign.direction == "outbound"
        if call.state is CallState.ENDED and call.answered_at is None and not outbound:
            context.wrapped_up = True  # abandoned, missed or taken elsewhere: nothing to wrap up
        if call.state is CallState.ENDED and not context.wrapped_up and not context.manual:
            self._unwrapped[call.call_id] = context
        self._choose_current(context)
        self.store.log_call_event(
            call.call_id,
            event.kind.value,
            call.state.value,
            event.source,
            event.occurred_at,
            reason=call.end_reason,
            campaign_code=context.campaign.code if context.campaign else "",
            agent_id=self.agent_id,
            queue=call.queue,
        )
        if event.kind is CallEventKind.ANSWERED and call.state is CallState.TALKING:
            self.agent_state.call_started()
        elif call.state is CallState.ENDED:
            self._settle_agent_state()
        self.on.call(context)
        if call.state is CallState.TALKING:
            self._hold_others(call)

    def _new_context(self, call: Call) -> CallContext:
        resolution = self.campaigns.resolve(call.dnis, call.queue, call.campaign)
        context = CallContext(call, resolution.campaign, self.campaigns.dispositions_for(resolution.campaign))
        context.campaign_reason = resolution.reason
        self.contexts[call.call_id] = context
        earlier = self._transferred_from(call)
        if earlier is not None and earlier.script is not None:
            # A transfer continues the same conversation: the run goes on where it was, under its campaign.
            context.campaign, context.dispositions = earlier.campaign, earlier.dispositions
            context.campaign_reason = f"kept from the transferred call ({earlier.campaign_reason})"
            context.script, earlier.script = earlier.script, None
        if earlier is not None and earlier.lookup is not None and earlier.lookup.done:
            # A transfer arrives as a new call id for the same caller: keep what we already found.
            context.transferred_from = earlier.call.call_id
            context.lookup = replace(earlier.lookup, call_id=call.call_id)
            if context.campaign is None:
                context.campaign, context.dispositions = earlier.campaign, earlier.dispositions
        elif can_look_up(call.ani, call.ani_note):
            # The lookup starts on the first event we see, normally 'offered': the pop is ready by answer.
            self._spawn(self._look_up(context))
        if context.script is None:
            context.script = self._start_script(context, resolution.script)
        if call.ani:
            self._by_caller[call.ani] = context
        return context

    def _start_script(self, context: CallContext, script: CompiledScript | None) -> ScriptRun | None:
        if script is None:
            return None
        direction = script.campaign.direction
        values = script_context(None, call_facts(context.call, direction), script.campaign, self.agent_name)
        return ScriptRun(script, values, clock=utc_now)

    def switch_campaign(self, context: CallContext, code: str) -> Resolution:
        """The agent chose another campaign during the call: audited; the old run is stored (left where it was)
        and a run of the new campaign's script starts. Raises ValueError for an unknown code."""
        resolution = self.campaigns.chosen(code)
        if resolution is None:
            raise ValueError(f"campaign: no campaign '{code}'")
        previous = context.campaign.code if context.campaign else ""
        self.store.log_campaign_switch(self.agent_id, context.call.call_id, previous, code)
        if context.script is not None:
            self._spawn(self._store_run(context, context.script), what="storing the script run")
        caller = context.script.context.get("caller") if context.script is not None else None
        context.campaign, context.campaign_reason = resolution.campaign, resolution.reason
        context.dispositions = self.campaigns.dispositions_for(resolution.campaign)
        context.script = self._start_script(context, resolution.script)
        if context.script is not None and caller:
            context.script.update_context(caller=caller)
        log.info("campaign switched to %s on call %s", code, context.call.call_id)
        self.on.call(context)
        return resolution

    def set_agent_state(self, state: AgentState, reason: str = "") -> AgentStatus:
        return self.agent_state.set(state, reason)

    def _agent_changed(self, previous: AgentStatus, current: AgentStatus) -> None:
        # Queued with the call events (one transaction per batch; a failure reaches on_write_error), not a task
        # and a transaction per change: a burst of calls moves the agent's state twice per call.
        self.store.record_agent_state(self.agent_id, current.state.value, current.reason, current.since)
        self.on.agent(current)
