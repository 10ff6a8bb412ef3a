"""The state every part of the desk shares, and its plumbing: background tasks, store health, audit rows.

The Desk (session.py) is assembled from parts that each keep one policy (current.py, lookups.py,
housekeeping.py, wrapup.py, identity.py); they all build on DeskCore, which only declares what the Desk's
constructor sets, so no part imports another sideways."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agentdesk.base.tasks import TaskKeeper
from agentdesk.campaigns.resolver import CampaignResolver
from agentdesk.campaigns.runner import ScriptRun
from agentdesk.desk.context import CallContext, DeskListeners, WrapUpPolicy
from agentdesk.records.decisions import DecisionBook
from agentdesk.records.lookup import ProfileLookup
from agentdesk.store.audit import AuditEntry
from agentdesk.telephony.agent_state import AgentStateMachine
from agentdesk.telephony.calls import CallTracker
from agentdesk.telephony.control import CallControl

if TYPE_CHECKING:
    from agentdesk.store.local import LocalStore

log = logging.getLogger("agentdesk.app")


class DeskCore:
    """One agent's desk: what it holds. All methods run on the event loop's thread."""

    agent_id: str
    agent_name: str
    tracker: CallTracker
    lookup: ProfileLookup
    campaigns: CampaignResolver
    store: LocalStore
    agent_state: AgentStateMachine
    decisions: DecisionBook
    on: DeskListeners
    contexts: dict[str, CallContext]
    _by_caller: dict[str, CallContext]  # the latest context per caller number (transfers)
    current: CallContext | None
    _unwrapped: dict[str, CallContext]  # ended calls whose wrap-up is neither saved nor discarded (listed)
    phone: CallControl | None  # a phone this desk can drive (the demo's), else None
    tasks: TaskKeeper  # the desk's own background work and what the agent asked of it
    _draft_pending: set[str]
    time_zone: str
    region: str
    wrapup: WrapUpPolicy
    clock: Callable[[], datetime]  # wall time, for what is stored and shown
    monotonic: Callable[[], float]  # the desk's own clock, for durations and timeouts (see CallEvent.received_at)

    async def audit(self, action: str, patient_key: str = "", call_id: str = "", detail: str = "") -> None:
        """Chain one audit row (e.g. a campaign switch or an export) and return once it is on disk: call it before
        the data it describes is shown or written out."""
        await self.store.audit([AuditEntry(self.agent_id, action, patient_key, call_id, detail)])

    async def _store_run(self, context: CallContext, run: ScriptRun, code: str = "", outcome: str = "") -> None:
        await self.store.save_script_run(run, context.call.call_id, self.agent_id, code, outcome)

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
