"""Core -> UI: the desk's plain callbacks re-emitted as Qt signals, so widgets connect the Qt way.

`call_changed` (the call bar, the panels) is coalesced to at most one emission per frame, with the desk's state
at that moment: a burst of events from many calls costs one refresh, not one per event."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from agentdesk.desk import CallContext, Desk
from agentdesk.telephony.agent_state import AgentStatus
from agentdesk.ui.coalesce import Coalesced


class DeskSignals(QObject):
    call_changed = Signal(object, object)  # the desk's current CallContext, the live calls and the wrap-ups due
    call_updated = Signal(object)  # the CallContext that just changed (may not be the current one)
    lookup_updated = Signal(object)  # CallContext
    agent_state_changed = Signal(object)  # AgentStatus
    store_health = Signal(bool, str)

    def __init__(self, desk: Desk, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._desk = desk
        self._refresh = Coalesced(self._emit_current, self)
        desk.on.call.append(self._call)
        desk.on.lookup.append(self._lookup)
        desk.on.agent.append(self._agent)
        desk.on.store.append(self._store)

    def _call(self, changed: CallContext) -> None:
        self.call_updated.emit(changed)
        self._refresh.request()

    def flush(self) -> None:
        """Emit a pending `call_changed` now."""
        self._refresh.flush()

    def _emit_current(self) -> None:
        if self._desk.current is not None:
            self.call_changed.emit(self._desk.current, self._desk.open_contexts)

    def _lookup(self, context: CallContext) -> None:
        self.lookup_updated.emit(context)

    def _store(self, ok: bool, detail: str) -> None:
        # A Python method, not the bound `emit`: holding a SignalInstance past its QObject crashed at exit.
        self.store_health.emit(ok, detail)

    def _agent(self, status: AgentStatus) -> None:
        self.agent_state_changed.emit(status)
