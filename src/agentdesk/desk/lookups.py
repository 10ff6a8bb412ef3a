"""Looking the caller up while the phone rings, and the agent's own searches: every source record shown is
audited (durably, before any panel gets it), and earlier wrap-ups with the caller come from the store."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from agentdesk.base.time import as_utc
from agentdesk.campaigns.context import script_context
from agentdesk.desk.caller_facts import caller_facts
from agentdesk.desk.context import CallContext
from agentdesk.desk.core import DeskCore
from agentdesk.records.lookup import parse_search
from agentdesk.records.model import CareItem, ItemKind, LookupResult, PatientProfile
from agentdesk.store import audit
from agentdesk.store.audit import AuditEntry
from agentdesk.telephony.calls import Call, CallState


class CallerLookup(DeskCore):
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
                    " · ".join(p for p in (str(row["campaign_code"]), str(row["notes"])[:80], row["written"]) if p),
                    str(row["id"]),
                )
                for row in rows
                if row["call_id"] != context.call.call_id
            ]
            if context.history:
                self.on.lookup(context)

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
