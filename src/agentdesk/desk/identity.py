"""The agents' identity decisions (these records are, or are not, one person): stored and audited first, then
honoured by every later lookup; the current profile is rebuilt from the records already fetched."""

from __future__ import annotations

import logging
from dataclasses import replace

from agentdesk.desk.context import CallContext
from agentdesk.desk.core import DeskCore
from agentdesk.records.decisions import Decision, IdentityDecision, decisions_for
from agentdesk.store import audit
from agentdesk.store.audit import AuditEntry

log = logging.getLogger("agentdesk.app")


class IdentityDecisions(DeskCore):
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
