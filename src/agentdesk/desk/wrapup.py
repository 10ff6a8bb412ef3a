"""The wrap-up: the disposition with its referrals, bookings and callbacks saved durably in one go, and drafts
so an unfinished wrap-up survives a crash."""

from __future__ import annotations

import logging

from agentdesk.desk.context import CallContext
from agentdesk.desk.phone import PhoneCalls
from agentdesk.store import audit
from agentdesk.store.audit import AuditEntry
from agentdesk.store.dispositions import Disposition
from agentdesk.store.outcomes import WrapUpForm, call_from_snapshot, call_snapshot, read_outcomes
from agentdesk.telephony.calls import CallState

log = logging.getLogger("agentdesk.app")


class WrapUp(PhoneCalls):
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
        self._wrapped(context)
        log.info("disposition %s saved for call %s (version %d)", code, call.call_id, saved.version)
        return saved

    async def discard_wrapup(self, context: CallContext, reason: str = "") -> None:
        """The agent decides an ended call needs no wrap-up (a wrong number, a silent line): audited, durably,
        before the call leaves the list; its draft is dropped and its script run stored as it stands. Raises
        ValueError while the call is still in progress."""
        if context.manual or context.wrapped_up:
            return
        call_id = context.call.call_id
        if context.call.state is not CallState.ENDED:
            raise ValueError("call: still in progress; its wrap-up can be discarded once it has ended")
        detail = " ".join(reason.split())[:200]
        await self.store.audit([AuditEntry(self.agent_id, audit.WRAP_UP_DISCARD, call_id=call_id, detail=detail)])
        self._draft_pending.discard(call_id)
        await self.store.discard_draft(call_id)
        if context.script is not None:
            self._spawn(self._store_run(context, context.script), what="storing the script run")
            context.script = None
        self._wrapped(context)
        log.info("wrap-up discarded for call %s", call_id)

    def _wrapped(self, context: CallContext) -> None:
        """The wrap-up is saved or discarded: the call leaves the list; the agent's state and view move on."""
        context.wrapped_up = True
        context.draft = None
        self._unwrapped.pop(context.call.call_id, None)
        if context.call.state is CallState.ENDED:
            self._settle_agent_state()
            if self.current is context:
                self._release_view(next_wrapup=True)
        self.on.call(context)

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
            self._unwrapped[call.call_id] = context
            reopened.append(context)
        if reopened:
            self.current = reopened[0]
            self.on.call(reopened[0])
        return reopened
