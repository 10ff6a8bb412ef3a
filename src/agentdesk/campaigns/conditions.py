"""The condition language of script branches: comparisons of answers and caller facts, joined by and/or/not.

A condition is parsed with Python's expression grammar (familiar to whoever writes scripts) but never evaluated by
Python: only the node kinds below are accepted, and this module walks them itself. No calls, no attributes of
objects (`caller.age` is a lookup in the fixed script context), no subscripts, no lambdas, no comprehensions.

    answer == "yes"
    answers.reason in ["chest pain", "shortness of breath"] and caller.age >= 40
    not caller.known or caller.next_appointment == ""
"""

from __future__ import annotations

import ast
import datetime as dt
import itertools
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agentdesk.base.dotted import dig

MAX_LENGTH = 500
Value = Any  # a constant of the condition: text, number, true/false or none

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}


class ConditionError(ValueError):
    """A condition that does not parse or uses something the language does not have; says where."""

    def __init__(self, message: str, column: int | None = None) -> None:
        self.column = column
        super().__init__(f"{message} (column {column})" if column is not None else message)


@dataclass(frozen=True)
class Condition:
    """A parsed condition: its source, its tree, and the variables it reads (e.g. 'caller.age', 'answer')."""

    source: str
    tree: ast.expr
    names: frozenset[str]
    compared: tuple[tuple[str, Value], ...]  # (variable, constant) pairs, for checking answers against choices

    def evaluate(self, context: Mapping[str, Any]) -> bool:
        """True or False; a missing value or a comparison of unlike types is False, never an exception."""
        try:
            return bool(_evaluate(self.tree, context))
        except (TypeError, ValueError):
            return False


def parse_condition(source: str) -> Condition:
    """Parse `source`; raise ConditionError naming what is wrong and where."""
    if not isinstance(source, str) or not source.strip():
        raise ConditionError("the condition is empty")
    if len(source) > MAX_LENGTH:
        raise ConditionError(f"the condition is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(source.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ConditionError(f"does not parse: {exc.msg}", exc.offset) from None
    names: set[str] = set()
    compared: list[tuple[str, Value]] = []
    _check(tree, names, compared)
    return Condition(source, tree, frozenset(names), tuple(compared))


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _check(node: ast.expr, names: set[str], compared: list[tuple[str, Value]]) -> None:
    column = getattr(node, "col_offset", -1) + 1
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            _check(value, names, compared)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub):
        _check(node.operand, names, compared)
    elif isinstance(node, ast.Compare):
        for op in node.ops:
            if type(op) not in _COMPARE:
                raise ConditionError(
                    f"the operator '{type(op).__name__}' is not available; use == != < <= > >= in", column
                )
        operands = [node.left, *node.comparators]
        for operand in operands:
            _check(operand, names, compared)
        for left, right in itertools.pairwise(operands):
            for variable, constant in ((left, right), (right, left)):
                name = _dotted(variable)
                if name is not None and isinstance(constant, ast.Constant):
                    compared.append((name, constant.value))
                elif name is not None and isinstance(constant, ast.List | ast.Tuple):
                    compared.extend((name, item.value) for item in constant.elts if isinstance(item, ast.Constant))
    elif isinstance(node, ast.Constant):
        if not isinstance(node.value, str | int | float | bool) and node.value is not None:
            raise ConditionError("only text, numbers, true/false and none are allowed as values", column)
    elif isinstance(node, ast.List | ast.Tuple):
        for item in node.elts:
            if not isinstance(item, ast.Constant):
                raise ConditionError("a list may hold only fixed values", column)
            _check(item, names, compared)
    elif isinstance(node, ast.Name | ast.Attribute):
        name = _dotted(node)
        if name is None:
            raise ConditionError("only names such as answer, answers.step or caller.age can be read", column)
        if any(part.startswith("_") for part in name.split(".")):
            raise ConditionError(f"'{name}' is not available (names starting with _ are never readable)", column)
        if name not in ("true", "false", "none"):
            names.add(name)
    else:
        raise ConditionError(f"'{ast.unparse(node)}' is not allowed in a condition", column)


_LITERALS: dict[str, Value] = {"true": True, "false": False, "none": None}


def lookup(context: Mapping[str, Any], name: str) -> Any:
    """The value of a dotted name in the context; None when any part is missing."""
    if name in _LITERALS:
        return _LITERALS[name]
    return dig(context, name) if name else None


def _evaluate(node: ast.expr, context: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            return all(_evaluate(value, context) for value in node.values)
        return any(_evaluate(value, context) for value in node.values)
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, context)
        if isinstance(node.op, ast.Not):
            return not operand
        return -operand  # USub: the only other unary operator _check lets through
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, context)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _evaluate(right_node, context)
            if (left is None or right is None) and not isinstance(op, ast.Eq | ast.NotEq):
                return False  # an unknown age is neither over nor under 40
            if not _COMPARE[type(op)](_comparable(left, right), _comparable(right, left)):
                return False
            left = right
        return True
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.List | ast.Tuple):
        return tuple(_evaluate(item, context) for item in node.elts)
    name = _dotted(node)
    return lookup(context, name) if name else None


def _comparable(value: Any, other: Any) -> Any:
    """Answers arrive as text: '42' compares with 40 as a number, '2026-01-05' with a date as a date."""
    if isinstance(value, str) and isinstance(other, int | float) and not isinstance(other, bool):
        try:
            return float(value)
        except ValueError:
            return value
    if isinstance(value, str) and isinstance(other, dt.date):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value
    return value
