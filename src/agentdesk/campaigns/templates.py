"""Step text as Jinja2 templates in a sandbox, over a fixed context.

The context is the same for every script (see CONTEXT_FIELDS): the caller's merged profile, the call, the
campaign, the agent and the answers so far. A value the desk does not know shows as a visible placeholder such as
"[first name]", so the agent sees the gap instead of reading out an empty sentence; rendering never raises. What a
template may reach is checked twice: statically by the validator (unknown variables, names starting with '_'),
and at render time by Jinja2's SandboxedEnvironment (anything unsafe is refused, never evaluated).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from jinja2 import TemplateSyntaxError, Undefined, nodes
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from agentdesk.base.fields import PROFILE_FIELDS

log = logging.getLogger("agentdesk.campaigns")

# What the desk knows about the caller beyond the profile's own fields (PROFILE_FIELDS, named as the panel shows
# them): summaries of the care items, built in desk/caller_facts.py; and what script_context derives.
CALLER_SUMMARIES = ("next_appointment", "last_visit", "open_referral", "coverage", "last_campaign_touch")
CALLER_DERIVED = (
    "first_name",
    "full_name",
    "age",
    "known",  # a profile matched the caller
    "is_patient",  # the EHR knows them (an MRN)
)
# Every variable a template or condition may read. Unknown names are an error in `scripts check`.
CONTEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "caller": (*PROFILE_FIELDS, *CALLER_DERIVED, *CALLER_SUMMARIES),
    "call": ("ani", "dnis", "queue", "direction"),
    "campaign": ("code", "name", "service_line", "goal"),
    "agent": ("name", "first_name"),
}
# `answers.<step id>` reads an earlier answer; `answer` (conditions only) the answer of the step being left.
ANSWERS = "answers"


class Placeholder(Undefined):
    """A missing value, shown as '[first name]' rather than raising or printing nothing."""

    __slots__ = ()

    def __str__(self) -> str:
        if self._undefined_exception is SecurityError:
            self._fail_with_undefined_error()  # the sandbox refused this access: never paper over it
        return f"[{(self._undefined_name or 'missing').replace('_', ' ')}]"

    def __bool__(self) -> bool:
        return False


def make_environment() -> SandboxedEnvironment:
    """The one environment scripts render in: sandboxed, placeholders for missing values, no autoescape (text)."""
    return SandboxedEnvironment(undefined=Placeholder, autoescape=False, keep_trailing_newline=False)


def template_variables(environment: SandboxedEnvironment, source: str) -> set[str]:
    """Every dotted variable the template reads ('caller.first_name', 'answers.reason'); raises
    TemplateSyntaxError when it does not parse."""
    if "{" not in source:
        return set()  # plain text: no tag, no expression, no comment (Jinja's parse is the costly part of a check)
    tree = environment.parse(source)
    found: set[str] = set()
    locals_: set[str] = set()
    for statement in tree.find_all((nodes.Assign, nodes.For)):
        target: nodes.Node = statement.target  # type: ignore[attr-defined]
        locals_.update(name.name for name in target.find_all(nodes.Name))
    for expression in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Name)):
        dotted = _dotted(expression)
        if dotted is not None and dotted.split(".")[0] not in locals_:
            found.add(dotted)
    # A Getattr chain also yields its inner parts (caller, caller.first_name): keep the longest of each chain.
    return {name for name in found if not any(other.startswith(name + ".") for other in found)}


def _dotted(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Name):
        return node.name if node.ctx == "load" else None
    if isinstance(node, nodes.Getattr):
        base = _dotted(node.node)
        return f"{base}.{node.attr}" if base else None
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        base = _dotted(node.node)
        return f"{base}.{node.arg.value}" if base else None
    return None


def unknown_variable(name: str, answer_ids: set[str]) -> str | None:
    """Why `name` is not in the fixed context, or None when it is."""
    parts = name.split(".")
    if any(part.startswith("_") for part in parts):
        return f"'{name}' is outside the sandbox (names starting with _ are never readable)"
    if parts[0] == ANSWERS:
        if len(parts) == 2 and parts[1] in answer_ids:
            return None
        return f"'{name}' is not an answer of this script (ask steps: {', '.join(sorted(answer_ids)) or 'none'})"
    fields = CONTEXT_FIELDS.get(parts[0])
    if fields is None:
        known = ", ".join([*CONTEXT_FIELDS, ANSWERS])
        return f"'{name}' is not in the script context (known: {known})"
    if len(parts) == 1:
        return None
    if len(parts) == 2 and parts[1] in fields:
        return None
    return f"'{name}' is not a field of {parts[0]} (known: {', '.join(fields)})"


class TemplateCache:
    """Compiled templates by source text: a script's steps are compiled once, rendered many times."""

    def __init__(self, environment: SandboxedEnvironment | None = None) -> None:
        self.environment = environment or make_environment()
        self._compiled: dict[str, Any] = {}

    def render(self, source: str, context: Mapping[str, Any]) -> str:
        """The text to show; never raises: a refused or broken template shows why instead of the text."""
        try:
            template = self._compiled.get(source)
            if template is None:
                template = self._compiled[source] = self.environment.from_string(source)
            return str(template.render(context))
        except SecurityError:
            log.warning("a script template was refused by the sandbox")
            return "[this text was refused: it reaches outside the script context]"
        except (TemplateError, UndefinedError, TypeError, ValueError, ArithmeticError) as exc:
            # The validator catches these before a script ships; a hand-edited file may still get here.
            log.warning("a script template failed to render (%s)", type(exc).__name__)
            return f"[this text could not be filled in: {type(exc).__name__}]"


__all__ = [
    "CONTEXT_FIELDS",
    "Placeholder",
    "TemplateCache",
    "TemplateSyntaxError",
    "make_environment",
    "template_variables",
    "unknown_variable",
]
