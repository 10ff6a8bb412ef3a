"""The call bar: who is calling, which number they dialed and for which campaign, the call state and timer."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from agentdesk.desk import CallContext
from agentdesk.records.phone import display_phone
from agentdesk.telephony.calls import CallState
from agentdesk.telephony.events import utc_now

STATE_STYLE = {
    CallState.RINGING: ("Ringing", "#b45309"),
    CallState.TALKING: ("On call", "#15803d"),
    CallState.HELD: ("On hold", "#1d4ed8"),
    CallState.ENDED: ("Ended", "#4b5563"),
}


def format_duration(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


class CallBar(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CallBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.state_label = QLabel("No call")
        self.state_label.setObjectName("CallState")
        self.state_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.state_label.setMinimumWidth(90)
        self.caller_label = QLabel("Waiting for a call")
        self.caller_label.setObjectName("CallerNumber")
        self.caller_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.dialed_label = QLabel("")
        self.dialed_label.setObjectName("DialedNumber")
        self.timer_label = QLabel("")
        self.timer_label.setObjectName("CallTimer")
        self.timer_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

        numbers = QVBoxLayout()
        numbers.setSpacing(0)
        numbers.addWidget(self.caller_label)
        numbers.addWidget(self.dialed_label)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.state_label)
        layout.addSpacing(12)
        layout.addLayout(numbers, 1)
        layout.addWidget(self.timer_label)

        self._context: CallContext | None = None
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._update_timer)

    def show_call(self, context: CallContext) -> None:
        self._context = context
        call = context.call
        text, colour = STATE_STYLE[call.state]
        self.state_label.setText(text)
        self.state_label.setStyleSheet(f"background:{colour}; color:white; border-radius:4px; padding:4px 8px;")
        self.caller_label.setText(display_phone(call.ani) if call.ani else "Unknown caller")
        dialed = display_phone(call.dnis) if call.dnis else "unknown number"
        campaign = context.campaign.name if context.campaign else "no campaign"
        queue = f" · queue {call.queue}" if call.queue else ""
        self.dialed_label.setText(f"dialed {dialed} · {campaign}{queue}")
        self._update_timer()
        if call.state is CallState.ENDED:
            self._tick.stop()
        elif not self._tick.isActive():
            self._tick.start()

    def _update_timer(self) -> None:
        context = self._context
        if context is None:
            return
        call = context.call
        end: datetime = call.ended_at or utc_now()
        if call.answered_at:
            talk = format_duration((end - call.answered_at).total_seconds())
            self.timer_label.setText(f"talk {talk}")
        else:
            self.timer_label.setText(f"ringing {format_duration((end - call.offered_at).total_seconds())}")
