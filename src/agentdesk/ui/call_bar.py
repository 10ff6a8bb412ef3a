"""The call bar: who is calling, which number they dialed and for which campaign, the call state and timer."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from agentdesk.base.phone import display_phone
from agentdesk.desk import CallContext
from agentdesk.telephony.caller_id import caller_label
from agentdesk.telephony.calls import Call, CallState

STATE_STYLE = {
    CallState.RINGING: ("Ringing", "#b45309"),
    CallState.TALKING: ("On call", "#15803d"),
    CallState.HELD: ("On hold", "#1d4ed8"),
    CallState.ENDED: ("Ended", "#4b5563"),
}


BADGE = "background:{}; color:white; border-radius:4px; padding:4px 8px;"


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
        self.other_calls.setToolTip("Calls ringing, on hold or waiting for their wrap-up: choose one to switch")
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
        self._badge = ""
        self._others: list[tuple[str, str]] = []  # what the list shows: (call id, label)
        self._labels: dict[tuple[str, CallState], str] = {}  # formatting a number is costly: once per call state
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
        self._set_badge(colour)
        self.caller_label.setText(caller_label(call.ani, call.ani_note))
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
        self._set_badge("#1d4ed8")
        self.caller_label.setText("Looking up a patient without a call")
        self.dialed_label.setText("the results are audited as your search; a call replaces them when it rings")
        self.timer_label.setText("")
        self._show_other_calls(context, active)

    def _set_badge(self, colour: str) -> None:
        # Restyling re-polishes the widget: only when the colour really changes.
        if colour != self._badge:
            self._badge = colour
            self.state_label.setStyleSheet(BADGE.format(colour))

    def _other_label(self, other: CallContext) -> str:
        call = other.call
        key = (call.call_id, call.state)
        label = self._labels.get(key)
        if label is None:
            if len(self._labels) > 4096:
                self._labels.clear()
            number = caller_label(call.ani, call.ani_note)
            campaign = f" · {other.campaign.name}" if other.campaign else ""
            state = "Needs wrap-up" if call.state is CallState.ENDED else STATE_STYLE[call.state][0]
            label = self._labels[key] = f"{state}: {number}{campaign}"
        return label

    def _show_other_calls(self, current: CallContext, active: list[CallContext]) -> None:
        """A second call ringing (or held) while the agent talks is listed here, never silently dropped; so is
        an ended call until its wrap-up is saved or discarded."""
        others = [(c.call.call_id, self._other_label(c)) for c in active if c.call.call_id != current.call.call_id]
        if others == self._others:
            return  # nothing the agent would see changed: the list keeps its state (and its open popup)
        self._others = others
        self.other_calls.blockSignals(True)
        self.other_calls.clear()
        if others:
            due = sum(label.startswith("Needs wrap-up") for _, label in others)
            live = len(others) - due
            parts = [f"{live} other call{'s' * (live != 1)}"] if live else []
            parts += [f"{due} wrap-up{'s' * (due != 1)} due"] if due else []
            self.other_calls.addItem(" · ".join(parts) + "…", "")
            for call_id, label in others:
                self.other_calls.addItem(label, call_id)
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
        self.timer_label.setText(call_timer_text(context.call))


def call_timer_text(call: Call) -> str:
    """On the desk's own clock: a phone system whose clock is off cannot make a call look hours long."""
    talk = call.talk_seconds()
    if talk is not None:
        return f"talk {format_duration(talk)}"
    return f"ringing {format_duration(call.ring_seconds())}"
