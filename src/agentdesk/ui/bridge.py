"""Core -> UI: the desk's plain callbacks re-emitted as Qt signals, so widgets connect the Qt way."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from agentdesk.desk import CallContext, Desk
from agentdesk.telephony.agent_state import AgentStatus


class DeskSignals(QObject):
    call_changed = Signal(object)  # CallContext
    lookup_updated = Signal(object)  # CallContext
    agent_state_changed = Signal(object)  # AgentStatus
    store_health = Signal(bool, str)

    def __init__(self, desk: Desk, parent: QObject | None = None) -> None:
        super().__init__(parent)
        desk.on.call.append(self._call)
        desk.on.lookup.append(self._lookup)
        desk.on.agent.append(self._agent)
        desk.on.store.append(self.store_health.emit)

    def _call(self, context: CallContext) -> None:
        self.call_changed.emit(context)

    def _lookup(self, context: CallContext) -> None:
        self.lookup_updated.emit(context)

    def _agent(self, status: AgentStatus) -> None:
        self.agent_state_changed.emit(status)
