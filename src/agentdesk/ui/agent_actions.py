"""What the agent does in the window, turned into desk operations: save the wrap-up, search, decide about an
identity, change state, and (in the demo) drive the simulated phone. Slow work runs as the desk's tasks, so no slot
blocks the GUI thread; failures are shown where the agent acted, with what they typed kept."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from agentdesk.demo.simulator import CallSimulator
from agentdesk.desk import Desk
from agentdesk.records.decisions import Decision
from agentdesk.store.dispositions import Disposition, DispositionInvalid
from agentdesk.store.outcomes import WrapUpForm
from agentdesk.ui.main_window import MainWindow


class AgentActions:
    def __init__(self, desk: Desk, window: MainWindow, simulator: Callable[[], CallSimulator | None]) -> None:
        self.desk = desk
        self.window = window
        self._simulator = simulator  # the demo's phone, once the demo has started (None otherwise)

    def connect(self) -> None:
        window = self.window
        window.profile.patient_shown.connect(self.patient_shown)
        window.profile.identity_decided.connect(self.identity_decided)
        window.profile.search_requested.connect(self.search_requested)
        window.wrapup.save_requested.connect(self.save_disposition)
        window.wrapup.draft_changed.connect(self.draft_changed)
        window.script.campaign_chosen.connect(self.campaign_chosen)
        window.script_action_requested.connect(self.script_action)
        window.agent_state_requested.connect(self.agent_state_requested)
        window.simulate_action.triggered.connect(self.simulate_call)
        window.answer_action.triggered.connect(lambda: self.call_action(self.desk.answer))
        window.hold_action.triggered.connect(lambda: self.call_action(self.desk.hold))
        window.hangup_action.triggered.connect(lambda: self.call_action(self.desk.hang_up))
        window.wrapup.discard_requested.connect(self.discard_wrapup)
        window.auto_call_action.toggled.connect(self.auto_call)
        window.auto_call_seconds.valueChanged.connect(lambda _v: self.auto_call(window.auto_call_action.isChecked()))

    def simulate_call(self) -> None:
        simulator = self._simulator()
        if simulator is None:
            self.window.statusBar().showMessage("The demo is still starting…", 3000)
            return
        simulator.simulate_call()

    def auto_call(self, on: bool) -> None:
        simulator = self._simulator()
        if simulator is not None:
            simulator.start_auto(self.window.auto_call_seconds.value() if on else 0)

    def call_action(self, action: Callable[[str], None]) -> None:
        """Answer (or resume), hold or hang up the call on screen, on a phone the desk drives (the demo's)."""
        current = self.desk.current
        if current is not None and not current.manual:
            action(current.call.call_id)

    def discard_wrapup(self, reason: str) -> None:
        context = self.desk.current
        if context is None or context.manual:
            return

        def failed(error: BaseException) -> None:
            message = (
                str(error) if isinstance(error, ValueError) else f"the local store failed ({type(error).__name__})"
            )
            self.window.wrapup.show_error(f"Not discarded: {message}")

        def done(_: object) -> None:
            if self.desk.current is context:
                self.window.wrapup.show_discarded(time.strftime("%H:%M"))

        self.desk.tasks.spawn(self.desk.discard_wrapup(context, reason), done, failed)

    def patient_shown(self, patient: Any) -> None:
        if self.desk.current is not None:
            self.desk.profile_viewed(self.desk.current, patient)

    def search_requested(self, text: str) -> None:
        def failed(error: BaseException) -> None:
            message = str(error) if isinstance(error, ValueError) else f"search failed ({type(error).__name__})"
            self.window.profile.show_search_problem(message[:1].upper() + message[1:])

        self.desk.tasks.spawn(self.desk.search(self.desk.current, text), None, failed)

    def identity_decided(self, refs: list[str], decision: str) -> None:
        context = self.desk.current
        if context is None:
            return
        verb = "merged" if decision == "same" else "split"

        def done(_: object) -> None:
            self.window.statusBar().showMessage(f"Records {verb}: every later lookup will show them this way.", 6000)

        def failed(error: BaseException) -> None:
            self.window.statusBar().showMessage(f"Not saved: {error}", 8000)

        self.desk.tasks.spawn(self.desk.decide(context, refs, Decision(decision)), done, failed)

    def campaign_chosen(self, code: str) -> None:
        context = self.desk.current
        if context is None or context.manual:
            return
        try:
            resolution = self.desk.switch_campaign(context, code)
        except ValueError as exc:
            self.window.statusBar().showMessage(str(exc), 5000)
            return
        name = resolution.campaign.name if resolution.campaign else code
        self.window.statusBar().showMessage(f"This call is now under {name}.", 5000)

    def script_action(self, kind: str, target: str) -> None:
        """A script's action step: the wrap-up's booking, referral or callback form opens (with the matching
        outcome, unless the agent chose one); a transfer is done on the phone."""
        if kind == "transfer":
            self.window.statusBar().showMessage(
                f"Transfer the caller to {target or 'the right team'} on your phone.", 8000
            )
            return
        context = self.desk.current
        if context is not None:
            code = next((d.code for d in context.dispositions if d.outcome == kind), "")
            self.window.wrapup.preselect(code)
        self.window.wrapup.open_detail(kind)

    def agent_state_requested(self, state: Any, reason: str) -> None:
        try:
            self.desk.set_agent_state(state, reason)
        except ValueError as exc:
            self.window.statusBar().showMessage(str(exc), 5000)
            self.window.show_agent_state(self.desk.agent_state.status)

    def save_disposition(self, form: WrapUpForm) -> None:
        context = self.desk.current
        if context is None or context.manual:
            self.window.wrapup.show_error("Call: there is no call to wrap up.")
            return
        patient = self.window.profile.shown_patient
        labels = {d.code: d.label for d in context.dispositions}

        def saved(disposition: Disposition) -> None:
            label = labels.get(form.code, form.code)
            self.window.wrapup.show_saved(label, time.strftime("%H:%M"), disposition.version)

        def failed(error: BaseException) -> None:
            if isinstance(error, DispositionInvalid):
                self.window.wrapup.show_error(f"{error.field.capitalize()}: {error.message}.", error.field)
            else:
                self.window.wrapup.show_error(
                    f"Not saved: the local store failed ({type(error).__name__}). Your entry is kept; try again."
                )

        patient_key = patient.key if patient else ""
        self.desk.tasks.spawn(
            self.desk.save_disposition(context, form.code, form.notes, patient_key, form), saved, failed
        )

    def draft_changed(self, form: WrapUpForm) -> None:
        context = self.desk.current  # the panel stops its debounce when the call changes: this is the form's call
        if context is not None:
            self.desk.save_draft(context, form)
