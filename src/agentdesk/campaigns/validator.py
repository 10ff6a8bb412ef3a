"""What a schema cannot check in a script: each step has what its kind needs, references lead somewhere, every
step is reachable and can reach an end, cycles have an exit, templates and conditions parse and read only the
fixed context, and end steps suggest dispositions the campaign allows."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from jinja2 import TemplateSyntaxError

from agentdesk.campaigns.conditions import ConditionError, parse_condition
from agentdesk.campaigns.model import ActionKind, AnswerKind, CampaignFile, Step, StepKind
from agentdesk.campaigns.templates import make_environment, template_variables, unknown_variable

Loc = tuple[str | int, ...]
YES_NO = ("yes", "no")


@dataclass(frozen=True)
class Issue:
    loc: Loc
    message: str


def validate_campaign_file(parsed: CampaignFile, dispositions: Iterable[str] | None = None) -> list[Issue]:
    """Every problem of one parsed file, in file order (empty: the script is sound)."""
    issues: list[Issue] = []
    known = None if dispositions is None else set(dispositions)
    issues += _campaign_issues(parsed, known)
    index: dict[str, int] = {}
    for number, step in enumerate(parsed.steps):
        if step.id in index:
            issues.append(
                Issue(("steps", number, "id"), f"duplicate step id '{step.id}' (also steps[{index[step.id]}])")
            )
        else:
            index[step.id] = number
    if parsed.script.start and parsed.script.start not in index:
        issues.append(Issue(("script", "start"), f"unknown step '{parsed.script.start}'"))
    allowed = set(parsed.campaign.dispositions) or known
    for number, step in enumerate(parsed.steps):
        issues += [Issue(("steps", number, *loc), message) for loc, message in _step_issues(step, index, allowed)]
    issues += _template_issues(parsed)
    issues += _condition_issues(parsed)
    issues = sorted(issues, key=_file_order)
    if parsed.start_id in index:
        # After the rest: an unknown reference also leaves steps unreachable, and the cause should come first.
        issues += sorted(_graph_issues(parsed, index), key=_file_order)
    return issues


def _file_order(issue: Issue) -> tuple[str, ...]:
    return tuple(str(part).zfill(6) for part in issue.loc)


def _campaign_issues(parsed: CampaignFile, known: set[str] | None) -> list[Issue]:
    campaign = parsed.campaign
    issues = []
    if campaign.active_from and campaign.active_until and campaign.active_from > campaign.active_until:
        issues.append(Issue(("campaign", "active_until"), "is before active_from"))
    if known is not None:
        for number, code in enumerate(campaign.dispositions):
            if code not in known:
                issues.append(
                    Issue(
                        ("campaign", "dispositions", number),
                        f"unknown disposition '{code}' (configured: {', '.join(sorted(known))})",
                    )
                )
    return issues


def _step_issues(step: Step, index: dict[str, int], allowed: set[str] | None) -> list[tuple[Loc, str]]:
    found: list[tuple[Loc, str]] = []
    kind = step.kind
    if kind in (StepKind.SAY, StepKind.ASK) and not step.text.strip():
        found.append((("text",), f"required: what the agent {'asks' if kind is StepKind.ASK else 'says'}"))
    if kind is StepKind.ASK:
        if step.answer is None:
            found.append((("answer",), "required: choice, yes_no, text, number or date"))
        elif step.answer is AnswerKind.CHOICE and len(set(step.choices)) < 2:
            found.append((("choices",), "a choice needs at least two different choices"))
        elif step.answer is not AnswerKind.CHOICE and step.choices:
            found.append((("choices",), f"only for answer = 'choice' (this one is '{step.answer.value}')"))
    else:
        for name in ("answer", "choices"):
            if getattr(step, name):
                found.append(((name,), f"only ask steps take '{name}'"))
    if kind is StepKind.ACTION and step.action is None:
        found.append((("action",), "required: booking, referral, callback or transfer"))
    if kind is not StepKind.ACTION and step.action is not None:
        found.append((("action",), "only action steps take 'action'"))
    if step.transfer_to and step.action is not ActionKind.TRANSFER:
        found.append((("transfer_to",), "only transfer actions take 'transfer_to'"))
    if kind is StepKind.END:
        if step.next or step.branches:
            found.append((("next",) if step.next else ("branches",), "an end step goes nowhere"))
        if not step.disposition:
            found.append((("disposition",), "required: the disposition this end suggests"))
        elif allowed is not None and step.disposition not in allowed:
            found.append(
                (
                    ("disposition",),
                    f"'{step.disposition}' is not allowed for this campaign ({', '.join(sorted(allowed))})",
                )
            )
    else:
        if step.disposition:
            found.append((("disposition",), "only end steps suggest a disposition"))
        if not step.next:
            found.append((("next",), "required: the step after this one when no branch holds"))
    if kind is StepKind.BRANCH and not step.branches:
        found.append((("branches",), "a branch step needs at least one branch"))
    for number, branch in enumerate(step.branches):
        if branch.goto not in index:
            found.append((("branches", number, "goto"), f"unknown step '{branch.goto}'{_close(branch.goto, index)}"))
    if step.next and step.next not in index:
        found.append((("next",), f"unknown step '{step.next}'{_close(step.next, index)}"))
    return found


def _close(name: str, index: dict[str, int]) -> str:
    close = difflib.get_close_matches(name, list(index), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def _answer_ids(parsed: CampaignFile) -> set[str]:
    return {step.id for step in parsed.steps if step.kind is StepKind.ASK}


def _template_issues(parsed: CampaignFile) -> list[Issue]:
    environment = make_environment()
    answers = _answer_ids(parsed)
    issues = []
    for number, step in enumerate(parsed.steps):
        for name in ("text", "note"):
            source = getattr(step, name)
            if not source:
                continue
            loc: Loc = ("steps", number, name)
            try:
                variables = template_variables(environment, source)
            except TemplateSyntaxError as exc:
                issues.append(Issue(loc, f"template syntax error on line {exc.lineno} of the text: {exc.message}"))
                continue
            for variable in sorted(variables):
                reason = unknown_variable(variable, answers)
                if reason:
                    issues.append(Issue(loc, f"undefined template variable: {reason}"))
    return issues


def _condition_issues(parsed: CampaignFile) -> list[Issue]:
    answers = _answer_ids(parsed)
    by_id = {step.id: step for step in parsed.steps}
    issues = []
    for number, step in enumerate(parsed.steps):
        for branch_number, branch in enumerate(step.branches):
            loc: Loc = ("steps", number, "branches", branch_number, "when")
            try:
                condition = parse_condition(branch.when)
            except ConditionError as exc:
                issues.append(Issue(loc, f"condition: {exc}"))
                continue
            for name in sorted(condition.names):
                if name == "answer":
                    if step.kind is not StepKind.ASK:
                        issues.append(Issue(loc, "'answer' is only known on ask steps; use answers.<step id>"))
                    continue
                reason = unknown_variable(name, answers)
                if reason:
                    issues.append(Issue(loc, f"condition: {reason}"))
            for name, value in condition.compared:
                asked = step if name == "answer" else by_id.get(name.removeprefix("answers."))
                if not (name == "answer" or name.startswith("answers.")) or asked is None:
                    continue
                options = _options(asked)
                if options is not None and value not in options:
                    issues.append(
                        Issue(loc, f"{value!r} is never an answer of '{asked.id}' (answers: {', '.join(options)})")
                    )
    return issues


def _options(step: Step) -> tuple[str, ...] | None:
    if step.answer is AnswerKind.CHOICE:
        return tuple(step.choices)
    if step.answer is AnswerKind.YES_NO:
        return YES_NO
    return None


def _graph_issues(parsed: CampaignFile, index: dict[str, int]) -> list[Issue]:
    edges = {step.id: [t for t in step.targets() if t in index] for step in parsed.steps}
    reachable = _walk([parsed.start_id], edges)
    reverse: dict[str, list[str]] = {step_id: [] for step_id in index}
    for source, targets in edges.items():
        for target in targets:
            reverse[target].append(source)
    ends = [step.id for step in parsed.steps if step.kind is StepKind.END]
    finishing = _walk(ends, reverse)
    issues = []
    in_cycle: set[str] = set()
    for component in _components(list(index), edges):
        looped = len(component) > 1 or component[0] in edges[component[0]]
        if looped and not finishing.intersection(component):
            in_cycle.update(component)
            first = min(component, key=index.__getitem__)
            path = " -> ".join([*sorted(component, key=index.__getitem__), first])
            issues.append(Issue(("steps", index[first], "id"), f"cycle without an exit: {path}"))
    for step in parsed.steps:
        loc: Loc = ("steps", index[step.id], "id")
        if step.id not in reachable:
            issues.append(Issue(loc, f"step '{step.id}' is unreachable from the start ('{parsed.start_id}')"))
        elif step.id not in finishing and step.id not in in_cycle:
            issues.append(Issue(loc, f"step '{step.id}' has no path to an end step"))
    return issues


def _walk(starts: list[str], edges: dict[str, list[str]]) -> set[str]:
    seen = set(starts)
    stack = list(starts)
    while stack:
        for target in edges.get(stack.pop(), []):
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def _components(nodes: list[str], edges: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components (Tarjan's algorithm, iterative: a 1000-step script must not recurse)."""
    counter = 0
    number: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in nodes:
        if root in number:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                number[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = edges[node]
            if position < len(targets):
                work.append((node, position + 1))
                target = targets[position]
                if target not in number:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], number[target])
                continue
            if low[node] == number[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                found.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found
