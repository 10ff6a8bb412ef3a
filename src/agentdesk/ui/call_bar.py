"""The call bar: who is calling, which number they dialed and for which campaign, the call state and timer."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from agentdesk.base.phone import display_phone
from agentdesk.base.time import utc_now
from agentdesk.desk import CallContext
from agentdesk.telephony.calls import CallState

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
    call_chosen = Signal(str)  # call id the agent switched to

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CallBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.state_label = QLabel("No call")
        self.state_label.setObjectName("CallState")
        self.state_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.state_label.setMinimumWidth(90)
        self.state_label.setStyleSheet("background:#e2e8f0; color:#334155; border-radius:4px; padding:4px 8px;")
        self.caller_label = QLabel("Waiting for a call")
        self.caller_label.setObjectName("CallerNumber")
        self.caller_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.dialed_label = QLabel("")
        self.dialed_label.setObjectName("DialedNumber")
        self.timer_label = QLabel("")
        self.timer_label.setObjectName("CallTimer")
        self.timer_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.other_calls = QComboBox()
        self.other_calls.setObjectName("OtherCalls")
        self.other_calls.setAccessibleName("Other active calls")
        self.other_calls.setToolTip("Another call is ringing or on hold: choose it to switch")
        self.other_calls.setStyleSheet("color:#b45309; font-weight:600;")
        self.other_calls.hide()
        self.other_calls.activated.connect(self._other_call_chosen)

        numbers = QVBoxLayout()
        numbers.setSpacing(0)
        numbers.addWidget(self.caller_label)
        numbers.addWidget(self.dialed_label)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.state_label)
        layout.addSpacing(12)
        layout.addLayout(numbers, 1)
        layout.addWidget(self.other_calls)
        layout.addSpacing(12)
        layout.addWidget(self.timer_label)

        self._context: CallContext | None = None
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._update_timer)

    def show_call(self, context: CallContext, active: list[CallContext] | None = None) -> None:
        if context.manual:
            self._show_search(context, active or [])
            return
        self._context = context
        call = context.call
        text, colour = STATE_STYLE[call.state]
        if call.state is CallState.ENDED and call.end_reason:
            text = f"Ended: {call.end_reason}"
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
        self._show_other_calls(context, active or [])

    def clear(self) -> None:
        """Nothing about any call (the window is locked)."""
        self._context = None
        self._tick.stop()
        self.state_label.setText("Locked")
        self.state_label.setStyleSheet("background:#475569; color:white; border-radius:4px; padding:4px 8px;")
        for label in (self.caller_label, self.dialed_label, self.timer_label):
            label.clear()
        self.other_calls.clear()
        self.other_calls.hide()

    def _show_search(self, context: CallContext, active: list[CallContext]) -> None:
        self._context = None
        self._tick.stop()
        self.state_label.setText("Search")
        self.state_label.setStyleSheet("background:#1d4ed8; color:white; border-radius:4px; padding:4px 8px;")
        self.caller_label.setText("Looking up a patient without a call")
        self.dialed_label.setText("the results are audited as your search; a call replaces them when it rings")
        self.timer_label.setText("")
        self._show_other_calls(context, active)

    def _show_other_calls(self, current: CallContext, active: list[CallContext]) -> None:
        """A second call ringing while the agent talks is listed here, never silently dropped."""
        others = [c for c in active if c.call.call_id != current.call.call_id]
        self.other_calls.blockSignals(True)
        self.other_calls.clear()
        if others:
            self.other_calls.addItem(f"{len(others)} other call(s)…", "")
            for other in others:
                state = STATE_STYLE[other.call.state][0]
                number = display_phone(other.call.ani) if other.call.ani else "unknown caller"
                campaign = f" · {other.campaign.name}" if other.campaign else ""
                self.other_calls.addItem(f"{state}: {number}{campaign}", other.call.call_id)
        self.other_calls.setVisible(bool(others))
        self.other_calls.blockSignals(False)

    def _other_call_chosen(self, index: int) -> None:
        call_id = self.other_calls.itemData(index)
        if call_id:
            self.call_chosen.emit(str(call_id))

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
