"""The agent's working session, without Qt: follows calls, looks callers up while the phone rings, audits what
the agent sees, and records the wrap-up. The UI listens to it; call sources feed it through `ingest`."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from agentdesk.base.listeners import Listeners
from agentdesk.base.tasks import TaskKeeper
from agentdesk.base.time import as_utc, utc_now
from agentdesk.caller_facts import call_facts, caller_facts
from agentdesk.campaigns.context import script_context
from agentdesk.campaigns.model import Campaign
from agentdesk.campaigns.resolver import CampaignResolver, Resolution
from agentdesk.campaigns.runner import CompiledScript, ScriptRun
from agentdesk.config.schema import DispositionType
from agentdesk.records.decisions import Decision, DecisionBook, IdentityDecision, decisions_for
from agentdesk.records.lookup import ProfileLookup, parse_search
from agentdesk.records.model import CareItem, ItemKind, LookupResult, PatientProfile
from agentdesk.store import audit
from agentdesk.store.audit import AuditEntry
from agentdesk.store.dispositions import Disposition, DispositionInvalid
from agentdesk.store.outcomes import WrapUpForm, call_from_snapshot, call_snapshot, local_zone_name, read_outcomes
from agentdesk.telephony.agent_state import AgentState, AgentStateMachine, AgentStatus
from agentdesk.telephony.caller_id import can_look_up
from agentdesk.telephony.calls import Call, CallState, CallTracker
from agentdesk.telephony.events import CallEvent, CallEventKind

if TYPE_CHECKING:
    from agentdesk.store.local import LocalStore

log = logging.getLogger("agentdesk.app")
TRANSFER_WINDOW = timedelta(minutes=2)


FORGET_AFTER = timedelta(hours=1)


@dataclass
class CallContext:
    """Everything the panels show about one call."""

    call: Call
    campaign: Campaign | None
    dispositions: list[DispositionType]
    lookup: LookupResult | None = None
    wrapped_up: bool = False
    transferred_from: str = ""
    manual: bool = False  # an agent's search with no call (e.g. before calling a patient back)
    history: list[CareItem] = field(default_factory=list)  # earlier wrap-ups with this caller, from the store
    viewed: set[str] = field(default_factory=set)
    audited: set[str] = field(default_factory=set)  # records already audited as shown for this call
    draft: WrapUpForm | None = None  # what the agent typed so far, kept across a crash
    campaign_reason: str = ""  # why this campaign: "matched by dialed number (800) 555-0142"
    script: ScriptRun | None = None  # the run of the campaign's script for this conversation

    @property
    def suggested_disposition(self) -> str:
        """The disposition the script's end step suggests, when this call's campaign allows it; else ''."""
        code = self.script.suggested_disposition if self.script is not None else ""
        return code if code and any(d.code == code for d in self.dispositions) else ""


@dataclass(frozen=True)
class WrapUpPolicy:
    required: bool = False  # mandatory wrap-up: no new call takes the view until saved (or the limit passes)
    limit_seconds: float = 0.0  # 0 = no limit


@dataclass
class DeskListeners:
    call: Listeners[[CallContext]] = field(default_factory=Listeners)
    lookup: Listeners[[CallContext]] = field(default_factory=Listeners)
    agent: Listeners[[AgentStatus]] = field(default_factory=Listeners)
    store: Listeners[[bool, str]] = field(default_factory=Listeners)


class Desk:
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
        self.contexts: dict[str, CallContext] = {}
        self._by_caller: dict[str, CallContext] = {}  # the latest context per caller number (transfers)
        self.current: CallContext | None = None
        self.tasks = TaskKeeper()  # the desk's own background work and what the agent asked of it
        self._draft_pending: set[str] = set()
        self.time_zone = time_zone or local_zone_name()
        self.region = region
        self.wrapup = wrapup or WrapUpPolicy()
        self.clock = clock  # wall time, for what is stored and shown
        self.monotonic = monotonic  # the desk's own clock, for durations and timeouts (see CallEvent.received_at)
        tracker.subscribe(self._call_changed)
        store.on_write_error.append(
            lambda error: self._store_health(False, f"log write failed ({type(error).__name__})")
        )
        agent_state.subscribe(self._agent_changed)

    # -- the intake every call source uses ------------------------------------------------------------------
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
        elif call.state is CallState.ENDED and call.answered_at is not None and not self._talking():
            self.agent_state.call_ended()
        self.on.call(context)

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

    async def _store_run(self, context: CallContext, run: ScriptRun, code: str = "", outcome: str = "") -> None:
        await self.store.save_script_run(run, context.call.call_id, self.agent_id, code, outcome)

    def _transferred_from(self, call: Call) -> CallContext | None:
        """The caller's previous call, when it is live or was transferred moments ago (one dictionary look-up:
        per-event work never scans every call)."""
        if not can_look_up(call.ani, call.ani_note):
            return None
        context = self._by_caller.get(call.ani)
        if context is None or context.call.call_id == call.call_id:
            return None
        other = context.call
        live_or_transferred = other.end_reason == "transferred" or other.state is not CallState.ENDED
        recent = other.ended_clock is None or call.offered_clock - other.ended_clock < TRANSFER_WINDOW.total_seconds()
        return context if live_or_transferred and recent else None

    def _talking(self) -> bool:
        return self.tracker.on_line

    def _holds_view(self, context: CallContext | None, now: float | None = None) -> bool:
        """A mandatory wrap-up keeps the agent's view on the ended call until saved or its time limit passes."""
        if context is None or not self.wrapup.required or context.manual or context.wrapped_up:
            return False
        if context.call.state is not CallState.ENDED or context.call.answered_at is None:
            return False
        if not self.wrapup.limit_seconds:
            return True
        call = context.call
        if call.ended_clock is not None:  # the desk's clock: a phone system's skew cannot shorten the wrap-up
            since = (self.monotonic() if now is None else now) - call.ended_clock
        else:  # a call restored from a draft: only its stored times remain
            since = (self.clock() - (call.ended_at or call.offered_at)).total_seconds()
        return since < self.wrapup.limit_seconds

    def _choose_current(self, changed: CallContext) -> None:
        """Which call the panels show: the one the agent talks on, else the first ringing, else the last."""
        current = self.current
        if current is not changed and self._holds_view(current) and changed.call.state is not CallState.TALKING:
            return  # the agent finishes this wrap-up first
        if current is None:
            self.current = changed
        elif current.call.state is CallState.ENDED and current.wrapped_up:
            # Done with it (or it never reached the agent): show the next live call, if any.
            first = self.tracker.first_active()
            live = self.contexts.get(first.call_id) if first is not None else None
            self.current = live or (changed if changed.call.state is not CallState.ENDED else current)
        elif current.call.state is CallState.ENDED and changed.call.state is not CallState.ENDED:
            self.current = changed
        if changed.call.state is CallState.TALKING and (
            self.current is None or self.current.call.state is not CallState.TALKING
        ):
            self.current = changed  # the agent picked up this one

    def focus(self, call_id: str) -> CallContext | None:
        """The agent chose a call from the list of active calls."""
        context = self.contexts.get(call_id)
        if context is not None:
            self.current = context
            self.on.call(context)
        return context

    @property
    def active_contexts(self) -> list[CallContext]:
        return [context for call in self.tracker.active_calls if (context := self.contexts.get(call.call_id))]

    async def keep_house(self, every_seconds: float = 1.0) -> None:
        """Runs for the desk's lifetime (cancel it to stop): calls that rang too long end, old ones are forgotten."""
        while True:
            await asyncio.sleep(every_seconds)
            self.expire_calls(self.monotonic())

    def expire_calls(self, now: float | None = None) -> None:
        """End calls that rang too long, release a view held past its wrap-up limit, forget old ended calls.
        `now` is a reading of the desk's monotonic clock (default: now): a source's skew never shortens a ring."""
        now = self.monotonic() if now is None else now
        self.tracker.expire(now)
        current = self.current
        if (
            current is not None
            and self.wrapup.required
            and not current.wrapped_up
            and not self._holds_view(current, now)
        ):
            self._release_view()
        if self.tracker.forget_ended(now - FORGET_AFTER.total_seconds()):
            for call_id in [cid for cid, c in self.contexts.items() if c.call.state is CallState.ENDED]:
                if self.contexts[call_id] is not self.current and self.tracker.get(call_id) is None:
                    context = self.contexts.pop(call_id)
                    if self._by_caller.get(context.call.ani) is context:
                        del self._by_caller[context.call.ani]
                    if context.script is not None and context.call.answered_at is not None:
                        # Never wrapped up: the run is stored as it stands (the funnel counts where it stopped).
                        self._spawn(self._store_run(context, context.script), what="storing the script run")

    async def _look_up(self, context: CallContext) -> None:
        result = await self.lookup.lookup(context.call.call_id, context.call.ani, self._shown_after_audit(context))
        refs = [r.ref for r in result.records]
        if refs:
            labels = {d.code: d.label for d in self.campaigns.dispositions}
            rows = await self.store.interactions_for(refs)
            context.history = [
                CareItem(
                    ItemKind.INTERACTION,
                    f"Call: {labels.get(str(row['disposition_code']), row['disposition_code'])}",
                    "AgentDesk",
                    as_utc(row["wrapup_done_at"]) if isinstance(row["wrapup_done_at"], datetime) else None,
                    str(row["outcome"]),
                    " · ".join(p for p in (str(row["campaign_code"]), str(row["notes"])[:80]) if p),
                    str(row["id"]),
                )
                for row in rows
                if row["call_id"] != context.call.call_id
            ]
            if context.history:
                self.on.lookup(context)

    # -- what the agent does ------------------------------------------------------------------------------------
    async def audit(self, action: str, patient_key: str = "", call_id: str = "", detail: str = "") -> None:
        """Chain one audit row (e.g. a campaign switch or an export) and return once it is on disk: call it before
        the data it describes is shown or written out."""
        await self.store.audit([AuditEntry(self.agent_id, action, patient_key, call_id, detail)])

    def profile_viewed(self, context: CallContext, patient: PatientProfile) -> None:
        """Audit what the agent was shown: each source record once per call (a profile grows as sources answer).
        The script reads the same person: its text uses what the profile says."""
        if context.script is not None:
            facts = caller_facts(patient, self.clock().date())
            context.script.update_context(caller=script_context(facts)["caller"])
        for record in patient.records:
            reference = record.ref
            if reference in context.viewed:
                continue
            context.viewed.add(reference)
            self.store.log_profile_view(self.agent_id, reference, context.call.call_id)

    async def search(self, context: CallContext | None, text: str) -> LookupResult:
        """The agent's own search for this call's caller (when the number found no one, or the wrong people):
        the results replace the call's lookup, are merged and audited like a pop. Without a call (or after one
        ended and was wrapped up) it is a search of its own, audited under a 'search-' id. Raises ValueError
        naming what is missing from `text`."""
        query = parse_search(text)
        if context is None or (context.call.state is CallState.ENDED and context.wrapped_up):
            context = self._manual_context()
        by = "mrn" if query.mrn else "name and birth date"  # what was searched by, never the text itself
        await self.store.audit([AuditEntry(self.agent_id, audit.SEARCH, call_id=context.call.call_id, detail=by)])
        return await self.lookup.search(context.call.call_id, query, self._shown_after_audit(context))

    def _shown_after_audit(self, context: CallContext) -> Callable[[LookupResult], None]:
        """The lookup's progress callback: records new to this call are audited (durably) before any listener
        (panels, candidate list, the tray notification) gets them."""
        pending: list[LookupResult] = []

        async def audit_then_show() -> None:
            while pending:
                result = pending.pop(0)
                fresh = [r.ref for r in result.records if r.ref not in context.audited]
                if fresh:
                    context.audited.update(fresh)
                    entry = AuditEntry(self.agent_id, audit.RECORDS_SHOWN, ";".join(fresh), context.call.call_id)
                    await self.store.audit([entry])
                context.lookup = result
                self.on.lookup(context)

        def progress(result: LookupResult) -> None:
            pending.append(result)
            if len(pending) == 1:  # one writer per call keeps the results in order
                self._spawn(audit_then_show(), what="auditing the records shown")

        return progress

    def _manual_context(self) -> CallContext:
        now = self.clock()
        call = Call(
            call_id=f"search-{uuid.uuid4().hex[:12]}",
            ani="",
            ani_raw="",
            dnis="",
            queue="",
            campaign="",
            state=CallState.ENDED,
            offered_at=now,
            ended_at=now,
            ended_clock=self.monotonic(),
        )
        # Ended and wrapped up: the next real call takes the panels at once; there is nothing to wrap up.
        context = CallContext(call, None, [], wrapped_up=True, manual=True)
        self.contexts[call.call_id] = context
        self.current = context
        self.on.call(context)
        return context

    async def decide(self, context: CallContext, refs: list[str], decision: Decision) -> None:
        """The agent says these source records are (or are not) one person: stored first, then every later lookup
        honours it, and the current profile is rebuilt from the records already fetched (no refetch)."""
        items = decisions_for(refs, decision)
        if not items:
            raise ValueError("records: choose records from at least two different sources")
        action = audit.MATCH_CONFIRM if decision is Decision.SAME else audit.MATCH_SPLIT
        entry = AuditEntry(self.agent_id, action, ";".join(sorted(set(refs))), context.call.call_id, decision.value)
        await self.store.record_identity_decisions(items, self.agent_id, context.call.call_id, audit=[entry])
        self._learn(items, context.call.ani)
        if context.lookup is not None:
            context.lookup = replace(context.lookup, patients=tuple(self.lookup.merge(context.lookup.records)))
            self.on.lookup(context)
        log.info("identity decision '%s' on %d record pair(s)", decision.value, len(items))

    def decided_elsewhere(self, items: list[IdentityDecision]) -> None:
        """Decisions other agents made (from the central store): every later lookup honours them."""
        if items:
            self._learn(items)

    def _learn(self, items: list[IdentityDecision], e164: str | None = None) -> None:
        """Record decisions and drop the cached answers they change (one caller's, or all)."""
        for item in items:
            self.decisions.record(item)
        self.lookup.forget(e164)

    async def save_disposition(
        self, context: CallContext, code: str, notes: str, patient_key: str, form: WrapUpForm | None = None
    ) -> Disposition:
        """Validate and store the wrap-up with its referrals, bookings and callbacks; returns once it is durable
        on disk. Saving the same call again stores the next version of its one disposition. Raises
        DispositionInvalid naming the field."""
        known = {d.code: d for d in context.dispositions}
        call = context.call
        disposition = Disposition(
            call_id=call.call_id,
            agent_id=self.agent_id,
            disposition_code=code,
            outcome=known[code].outcome if code in known else "other",
            campaign_code=context.campaign.code if context.campaign else "",
            notes=notes.strip(),
            patient_key=patient_key,
            offered_at=call.offered_at,
            answered_at=call.answered_at,
            ended_at=call.ended_at,
            wrapup_done_at=self.clock(),  # the desk's clock, like every other time it records
        )
        disposition.validate(set(known))
        outcomes = read_outcomes(
            form or WrapUpForm(code, notes),
            known[code].required_details,
            agent_id=self.agent_id,
            time_zone=self.time_zone,
            region=self.region,
            now=self.clock(),
        )
        self._draft_pending.discard(call.call_id)
        try:
            entry = AuditEntry(self.agent_id, audit.WRAP_UP, patient_key, call.call_id, code)
            saved = await self.store.save_disposition(disposition, outcomes, audit=[entry])
        except Exception as exc:
            self._store_health(False, f"save failed ({type(exc).__name__})")
            raise
        if context.script is not None:
            # Stored beside the disposition, through the same writer; a failure here never un-saves the outcome.
            self._spawn(
                self._store_run(context, context.script, code, disposition.outcome), what="storing the script run"
            )
            context.script = None
        self._store_health(True, "saved")
        context.wrapped_up = True
        context.draft = None
        if call.state is CallState.ENDED:
            self.agent_state.wrap_up_done()
            if self.current is context:
                self._release_view()
        log.info("disposition %s saved for call %s (version %d)", code, call.call_id, saved.version)
        return saved

    def _release_view(self) -> None:
        """Show the next live call (a ringing one held back by a mandatory wrap-up)."""
        live = [c for c in self.contexts.values() if c.call.state is not CallState.ENDED]
        if live and self.current is not live[0]:
            self.current = live[0]
            self.on.call(live[0])

    # -- drafts: an unfinished wrap-up survives a crash ------------------------------------------------------------
    def save_draft(self, context: CallContext, form: WrapUpForm) -> None:
        """Keep what the agent typed so far (the UI calls this debounced); written on the store's thread."""
        if context.manual:
            return
        context.draft = form
        self._draft_pending.add(context.call.call_id)

        async def write() -> None:
            if context.call.call_id in self._draft_pending:  # not saved as a disposition meanwhile
                await self.store.save_draft(context.call.call_id, self.agent_id, call_snapshot(context.call), form)

        self._spawn(write(), what="saving the draft")

    async def reopen_drafts(self) -> list[CallContext]:
        """At start: unfinished wrap-ups from before a crash come back with their call, ready to finish."""
        reopened = []
        for snapshot, form in await self.store.open_drafts(self.agent_id):
            call = call_from_snapshot(snapshot)
            if call is None or call.call_id in self.contexts:
                continue
            resolution = self.campaigns.resolve(call.dnis, call.queue, call.campaign)
            campaign = resolution.campaign
            context = CallContext(call, campaign, self.campaigns.dispositions_for(campaign), draft=form)
            context.campaign_reason = resolution.reason  # no script run: the conversation is over
            self.contexts[call.call_id] = context
            reopened.append(context)
        if reopened:
            self.current = reopened[0]
            self.on.call(reopened[0])
        return reopened

    def set_agent_state(self, state: AgentState, reason: str = "") -> AgentStatus:
        return self.agent_state.set(state, reason)

    # -- plumbing --------------------------------------------------------------------------------------------
    def _agent_changed(self, previous: AgentStatus, current: AgentStatus) -> None:
        self._spawn(
            self.store.record_agent_state(self.agent_id, current.state.value, current.reason, current.since),
            what="recording the agent state",
        )
        self.on.agent(current)

    def _store_health(self, ok: bool, detail: str) -> None:
        self.on.store(ok, detail)

    def _spawn(self, coro: Coroutine[Any, Any, Any], what: str = "") -> None:
        def failed(error: BaseException) -> None:
            log.error(
                "%s failed: %s",
                what or "background work",
                type(error).__name__,
                exc_info=(type(error), error, error.__traceback__),
            )
            if what:
                self._store_health(False, f"{what} failed")

        self.tasks.spawn(coro, on_failure=failed)

    async def drain(self) -> None:
        """Wait for background work (lookups, audit and event writes) to finish and be on disk."""
        await self.tasks.drain()
        await self.store.flush()


__all__ = ["CallContext", "Desk", "DispositionInvalid", "WrapUpPolicy"]
