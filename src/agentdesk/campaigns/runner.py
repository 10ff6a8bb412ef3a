"""One run of a script during a call: where the agent is, the answers so far, the path taken, notes on what the
caller asked that the script did not cover, and the disposition the end step suggests.

Every change is also appended to `events` (reached, answered, skipped, back, restart, note): the store keeps
them, and the funnel counts them, so the analytics see where conversations really went, including the steps the
agent went back from.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agentdesk.campaigns.conditions import Condition, parse_condition
from agentdesk.campaigns.model import AnswerKind, CampaignFile, Step, StepKind
from agentdesk.campaigns.templates import TemplateCache

MAX_TEXT_ANSWER = 500
MAX_NOTE = 1000
MAX_AUTO_STEPS = 1000  # branch steps pass on at once; a validated script never loops, a broken one must not hang


class AnswerInvalid(ValueError):
    """The answer does not fit the question; the message names the step and what is expected."""


class CompiledScript:
    """A validated campaign file made ready to run: steps by id, parsed conditions, distances to an end."""

    def __init__(self, campaign_file: CampaignFile, templates: TemplateCache | None = None) -> None:
        self.file = campaign_file
        self.campaign = campaign_file.campaign
        self.script = campaign_file.script
        self.steps: dict[str, Step] = {step.id: step for step in campaign_file.steps}
        self.order = [step.id for step in campaign_file.steps]
        self.start = campaign_file.start_id
        self.conditions: dict[str, list[tuple[Condition, str]]] = {
            step.id: [(parse_condition(b.when), b.goto) for b in step.branches] for step in campaign_file.steps
        }
        self.templates = templates or TemplateCache()
        self.remaining = self._distances_to_end()

    def _distances_to_end(self) -> dict[str, int]:
        """Fewest steps from each step to an end step (for the progress bar)."""
        reverse: dict[str, list[str]] = {step_id: [] for step_id in self.steps}
        for step in self.steps.values():
            for target in step.targets():
                reverse.setdefault(target, []).append(step.id)
        distance = {step_id: 0 for step_id, step in self.steps.items() if step.kind is StepKind.END}
        queue = deque(distance)
        while queue:
            node = queue.popleft()
            for source in reverse.get(node, []):
                if source not in distance:
                    distance[source] = distance[node] + 1
                    queue.append(source)
        return distance


@dataclass(frozen=True)
class Visit:
    step_id: str
    reached_at: dt.datetime
    answer: str | None = None
    answered_at: dt.datetime | None = None


@dataclass(frozen=True)
class RunEvent:
    """One thing that happened in a run, in order; what the store keeps."""

    seq: int
    kind: str  # reached, answered, skipped, back, restart, note
    step_id: str
    value: str
    at: dt.datetime


@dataclass
class ScriptRun:
    """The state of one run. Methods raise AnswerInvalid for a bad answer and never change state then."""

    script: CompiledScript
    context: dict[str, Any]
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    visits: list[Visit] = field(default_factory=list)
    events: list[RunEvent] = field(default_factory=list)
    started_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        self.started_at = self.clock()
        self._enter(self.script.start)

    # -- what the panel shows ---------------------------------------------------------------------------
    @property
    def step(self) -> Step:
        return self.script.steps[self.visits[-1].step_id]

    @property
    def finished(self) -> bool:
        return self.step.kind is StepKind.END

    @property
    def suggested_disposition(self) -> str:
        """The end step's disposition once the run reached one, else ''."""
        return self.step.disposition if self.finished else ""

    @property
    def answers(self) -> dict[str, str]:
        return {v.step_id: v.answer for v in self.visits if v.answer is not None}

    @property
    def path(self) -> list[str]:
        return [visit.step_id for visit in self.visits]

    @property
    def notes(self) -> list[RunEvent]:
        return [event for event in self.events if event.kind == "note"]

    @property
    def progress(self) -> tuple[int, int]:
        """(steps behind, fewest steps to go, this one included)."""
        shown = [v for v in self.visits if self.script.steps[v.step_id].kind is not StepKind.BRANCH]
        return len(shown) - 1, self.script.remaining.get(self.step.id, 0) + 1

    def text(self, step: Step | None = None) -> str:
        """The step's text with the call's values filled in (placeholders for what is unknown)."""
        source = (step or self.step).text
        return self.script.templates.render(source, self._context()) if source else ""

    def note_text(self, step: Step | None = None) -> str:
        source = (step or self.step).note
        return self.script.templates.render(source, self._context()) if source else ""

    # -- what the agent does ----------------------------------------------------------------------------
    def answer(self, value: object) -> Step:
        """Record the answer to the current ask step and go on; raises AnswerInvalid."""
        step = self.step
        if step.kind is not StepKind.ASK:
            raise AnswerInvalid(f"{step.id}: this step asks nothing")
        text = normalise_answer(step, value)
        now = self.clock()
        self.visits[-1] = Visit(step.id, self.visits[-1].reached_at, text, now)
        self._log("answered", step.id, text, now)
        return self._go_on(step, answer=text)

    def skip(self) -> Step:
        """Go on without an answer (only when the question is optional)."""
        step = self.step
        if step.kind is StepKind.ASK and step.required:
            raise AnswerInvalid(f"{step.id}: an answer is required")
        if step.kind is StepKind.END:
            raise AnswerInvalid(f"{step.id}: the script has ended")
        if step.kind is StepKind.ASK:
            self._log("skipped", step.id, "", self.clock())
        return self._go_on(step, answer=None)

    def advance(self) -> Step:
        """Go on from a say or action step (or skip an optional question)."""
        return self.skip()

    def back(self) -> Step:
        """Return to the previous step the agent saw (its answer is taken back)."""
        shown = [i for i, v in enumerate(self.visits) if self.script.steps[v.step_id].kind is not StepKind.BRANCH]
        if len(shown) < 2:
            return self.step
        left = self.visits[-1].step_id
        previous = self.visits[shown[-2]]
        del self.visits[shown[-2] :]
        self._log("back", left, "", self.clock())
        self.visits.append(Visit(previous.step_id, previous.reached_at))  # its answer is taken back
        return self.step

    def restart(self) -> Step:
        self.visits.clear()
        self._log("restart", "", "", self.clock())
        self._enter(self.script.start)
        return self.step

    def add_note(self, text: str) -> RunEvent:
        """An off-script note: what the caller asked or said that the script did not cover, at this step."""
        cleaned = " ".join(str(text).split())[:MAX_NOTE]
        if not cleaned:
            raise AnswerInvalid("note: empty")
        return self._log("note", self.step.id, cleaned, self.clock())

    def update_context(self, **values: Mapping[str, Any]) -> None:
        """New facts (the profile arrived, the campaign changed): later text and branches use them."""
        self.context.update(values)

    # -- plumbing ------------------------------------------------------------------------------------------
    def _context(self, answer: str | None = None) -> dict[str, Any]:
        context = dict(self.context)
        context["answers"] = self.answers
        if answer is not None:
            context["answer"] = answer
        return context

    def _go_on(self, step: Step, answer: str | None) -> Step:
        self._enter(self._next_of(step, self._context(answer)))
        return self.step

    def _next_of(self, step: Step, context: dict[str, Any]) -> str:
        for condition, goto in self.script.conditions[step.id]:
            if condition.evaluate(context):
                return goto
        return step.next

    def _enter(self, step_id: str) -> None:
        for _ in range(MAX_AUTO_STEPS):
            now = self.clock()
            self.visits.append(Visit(step_id, now))
            self._log("reached", step_id, "", now)
            step = self.script.steps[step_id]
            if step.kind is not StepKind.BRANCH:
                return
            step_id = self._next_of(step, self._context())

    def _log(self, kind: str, step_id: str, value: str, at: dt.datetime) -> RunEvent:
        event = RunEvent(len(self.events) + 1, kind, step_id, value, at)
        self.events.append(event)
        return event


def normalise_answer(step: Step, value: object) -> str:
    """The answer as stored: 'yes'/'no', a number without trailing zeros, an ISO date, a listed choice, or text."""
    text = "" if value is None else str(value).strip()
    if isinstance(value, bool):
        text = "yes" if value else "no"
    if not text:
        raise AnswerInvalid(f"{step.id}: an answer is required")
    kind = step.answer
    if kind is AnswerKind.YES_NO:
        folded = text.casefold()
        if folded in ("yes", "y", "true"):
            return "yes"
        if folded in ("no", "n", "false"):
            return "no"
        raise AnswerInvalid(f"{step.id}: answer yes or no")
    if kind is AnswerKind.NUMBER:
        try:
            number = float(text.replace(",", ""))
        except ValueError:
            raise AnswerInvalid(f"{step.id}: a number is expected") from None
        if number != number or abs(number) > 1e12:
            raise AnswerInvalid(f"{step.id}: a number is expected")
        return str(int(number)) if number.is_integer() else str(number)
    if kind is AnswerKind.DATE:
        try:
            return dt.date.fromisoformat(text[:10]).isoformat()
        except ValueError:
            raise AnswerInvalid(f"{step.id}: a date is expected (YYYY-MM-DD)") from None
    if kind is AnswerKind.CHOICE:
        for choice in step.choices:
            if choice.casefold() == text.casefold():
                return choice
        raise AnswerInvalid(f"{step.id}: choose one of {', '.join(step.choices)}")
    return " ".join(text.split())[:MAX_TEXT_ANSWER]
