"""Pre-answer pop: a desktop notification while the phone rings (even with the window minimised), updated once
with the caller's name when the lookup finds it; answering brings the window to the front. While the window is
locked the notification says only that a call rings."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QMainWindow, QSystemTrayIcon

from agentdesk.desk import CallContext
from agentdesk.telephony.caller_id import caller_label
from agentdesk.telephony.calls import CallState
from agentdesk.ui.coalesce import Coalesced

log = logging.getLogger("agentdesk.ui")
ICON = Path(__file__).resolve().parents[1] / "resources" / "agentdesk.svg"


def app_icon() -> QIcon:
    return QIcon(str(ICON))


def notification_text(context: CallContext, locked: bool = False) -> tuple[str, str]:
    """Title and body: caller number, campaign, and the matched name when there is exactly one person. While the
    window is locked: only that a call rings, and on which campaign (nothing about the caller)."""
    if locked:
        return "Incoming call", context.campaign.name if context.campaign else "AgentDesk is locked"
    call = context.call
    number = caller_label(call.ani, call.ani_note)
    lines = [context.campaign.name if context.campaign else "No campaign"]
    patients = context.lookup.patients if context.lookup else ()
    if len(patients) == 1:
        lines.insert(0, patients[0].display_name)
    elif len(patients) > 1:
        lines.insert(0, f"{len(patients)} people use this number")
    return f"Incoming call: {number}", "\n".join(lines)


class CallNotifier(QObject):
    def __init__(self, window: QMainWindow, enabled: bool = True, locked: Callable[[], bool] | None = None) -> None:
        super().__init__(window)
        self._window = window
        self._locked = locked or (lambda: False)
        self._enabled = enabled
        self._raise = Coalesced(self._bring_to_front, self)  # many answers in one frame: one raise
        self._tray: QSystemTrayIcon | None = None
        if enabled and QSystemTrayIcon.isSystemTrayAvailable():
            self._tray = QSystemTrayIcon(app_icon(), self)
            self._tray.setToolTip("AgentDesk")
            self._tray.messageClicked.connect(self.bring_to_front)
            self._tray.activated.connect(lambda _reason: self.bring_to_front())
            self._tray.show()
        elif enabled:
            log.info("no system tray here: call notifications show in the window only")
        self._announced: dict[str, str] = {}  # call id -> the body last shown
        self._ringing: set[str] = set()
        self.shown: list[tuple[str, str]] = []  # what was announced, newest last (also for tests)

    def call_updated(self, context: CallContext) -> None:
        call = context.call
        if call.state is CallState.RINGING:
            self._ringing.add(call.call_id)
            self._announce(context)
        elif call.call_id in self._ringing:
            self._ringing.discard(call.call_id)
            if call.state is CallState.TALKING:
                self.bring_to_front()  # the agent answered: the profile should be in front of them

    def lookup_updated(self, context: CallContext) -> None:
        if context.call.call_id in self._ringing:
            self._announce(context)

    def _announce(self, context: CallContext) -> None:
        if not self._enabled:
            return
        title, body = notification_text(context, self._locked())
        if self._announced.get(context.call.call_id) == body:
            return  # nothing new to say
        self._announced[context.call.call_id] = body
        self.shown.append((title, body))
        if self._tray is not None:
            self._tray.showMessage(title, body, QSystemTrayIcon.MessageIcon.Information, 8000)

    def bring_to_front(self) -> None:
        self._raise.request()

    def _bring_to_front(self) -> None:
        window = self._window
        if window.isMinimized():
            window.showNormal()
        window.show()
        window.raise_()
        window.activateWindow()
