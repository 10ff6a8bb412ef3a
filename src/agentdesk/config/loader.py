"""Layered loading of the TOML configuration, with problems reported by file, line and key path.

Layers, later wins: built-in defaults -> machine-wide file -> user file -> `--config`. Tables merge key by key;
arrays of tables (backends, campaigns, dispositions) are replaced whole by the later layer, because merging two
lists of backends entry by entry would guess.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from agentdesk.config.problems import FieldProblem, FieldProblems, cross_field_problems
from agentdesk.config.schema import (
    DEFAULT_DISPOSITION_CODES,
    AmiSourceSettings,
    BackendSettings,
    CallSourceSettings,
    FhirBackendSettings,
    RestBackendSettings,
    Settings,
    SqlBackendSettings,
    StreamSourceSettings,
)

Loc = tuple[str | int, ...]


def _unions() -> dict[object, dict[str, type[BaseModel]]]:
    return {
        BackendSettings: {"fhir": FhirBackendSettings, "sql": SqlBackendSettings, "rest": RestBackendSettings},
        CallSourceSettings: {"json_stream": StreamSourceSettings, "ami": AmiSourceSettings},
    }


UNION_MEMBERS = {kind for members in _unions().values() for kind in members}


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in a config file, said so that IT can fix it without reading code."""

    key_path: str
    message: str
    file: Path | None = None
    line: int | None = None
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.file}" if self.file else "<defaults>"
        if self.line is not None:
            where += f":{self.line}"
        text = f"{where}: {self.key_path or '(file)'}: {self.message}"
        return f"{text}\n    hint: {self.hint}" if self.hint else text


class ConfigError(Exception):
    """The configuration cannot be used; carries every problem found, not only the first."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class ConfigLayer:
    path: Path
    text: str
    data: dict[str, Any]


def read_layer(path: Path) -> ConfigLayer:
    """Read and parse one TOML file; raise ConfigError naming the line of a syntax error."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError([ConfigProblem("", f"cannot read the file: {exc.strerror or exc}", file=path)]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            [ConfigProblem("", "the file is not UTF-8 text", file=path, line=line, hint="save it as UTF-8")]
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        syntax_line = int(match.group(1)) if match else None
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc)) or "invalid TOML"
        raise ConfigError(
            [
                ConfigProblem(
                    "",
                    f"TOML syntax error: {message}",
                    file=path,
                    line=syntax_line,
                    hint="check quotes, brackets and '=' on that line; strings need quotes",
                )
            ]
        ) from None
    return ConfigLayer(path=path, text=text, data=data)


def merge_layers(layers: Iterable[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for data in layers:
        _merge_into(merged, data)
    return merged


def _merge_into(target: dict[str, Any], source: dict[str, Any]) -> None:
    for key, value in source.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_into(target[key], value)
        else:
            target[key] = value


MACHINE_ONLY = ("security",)


def load_settings(
    paths: Sequence[Path], overrides: dict[str, Any] | None = None, machine: Path | None = None
) -> Settings:
    """Read every existing file in `paths` (in order, later wins) and validate the merged result. Only `machine`
    (the machine-wide file, if it is among `paths`) may set the [security] table: roles and the PIN rule are IT's."""
    layers: list[ConfigLayer] = []
    problems: list[ConfigProblem] = []
    for path in paths:
        try:
            layers.append(read_layer(path))
        except ConfigError as exc:
            problems.extend(exc.problems)
    for layer in layers:
        for table in MACHINE_ONLY:
            if table in layer.data and (machine is None or layer.path != machine):
                problems.append(
                    ConfigProblem(
                        table,
                        "only the machine-wide config file may set this",
                        file=layer.path,
                        line=_line_of(layer.text, (table,)),
                        hint=f"ask IT to set [{table}] in {machine or 'the machine-wide agentdesk.toml'}",
                    )
                )
    if problems:
        raise ConfigError(problems)
    data = merge_layers([overrides or {}, *(layer.data for layer in layers)])
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_problems_from(exc, layers, data)) from None


def check_config_file(path: Path) -> list[ConfigProblem]:
    """Every problem in one file on its own (over the built-in defaults); it may be the machine-wide file."""
    try:
        load_settings([path], machine=path)
    except ConfigError as exc:
        return exc.problems
    return []


def _problems_from(exc: ValidationError, layers: Sequence[ConfigLayer], data: dict[str, Any]) -> list[ConfigProblem]:
    """Every problem at once: each field's, the entries of a mistyped kind checked as the kind meant, and the
    cross-key checks even when fields are wrong too (pydantic runs those only on otherwise valid settings)."""
    problems: list[ConfigProblem] = []
    checked_together = False
    for error in exc.errors(include_url=False):
        checked_together = checked_together or not error["loc"]
        problems += _error_problems(error, (), layers, data)
    if not checked_together:
        for found in cross_field_problems(data, DEFAULT_DISPOSITION_CODES):
            problems.append(_problem_at(found.loc, found.message, layers, data))
    return problems


def _error_problems(error: Any, base: Loc, layers: Sequence[ConfigLayer], data: dict[str, Any]) -> list[ConfigProblem]:
    loc = (*base, *_drop_union_tags(tuple(error["loc"])))
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, FieldProblems | FieldProblem):
        # A check of several keys names the one to change: point at its line, not at the table (or <defaults>).
        found = cause.problems if isinstance(cause, FieldProblems) else [cause]
        return [_problem_at((*loc, *problem.loc), problem.message, layers, data) for problem in found]
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return _unknown_kind(loc, layers, data)
    return [_problem_at(loc, _plain_message(error), layers, data, error)]


def _problem_at(
    loc: Loc, message: str, layers: Sequence[ConfigLayer], data: dict[str, Any], error: Any = None, hint: str = ""
) -> ConfigProblem:
    if loc[:2] == ("campaigns", "inline") and isinstance(data.get("campaigns"), list):
        loc = ("campaigns", *loc[2:])  # an older file's [[campaigns]] tables
    layer = _owning_layer(layers, loc)
    hint = hint or _hint_for(loc, error or {"type": "value_error"}, layer.data if layer else {})
    line = _line_of(layer.text, loc) if layer else None
    return ConfigProblem(_format_loc(loc), message, file=layer.path if layer else None, line=line, hint=hint)


def _unknown_kind(loc: Loc, layers: Sequence[ConfigLayer], data: dict[str, Any]) -> list[ConfigProblem]:
    """A [[backends]] or [[call_sources]] entry whose kind is missing or mistyped ('fihr'): say which kinds exist,
    and check the rest of the entry as the closest kind, so its other mistakes show in the same run."""
    field = Settings.model_fields.get(str(loc[0])) if loc else None
    (member,) = get_args(field.annotation) if field is not None and get_origin(field.annotation) is list else (None,)
    union = _unions().get(member, {})
    entry = _value_at(data, loc)
    tag = entry.get("kind") if isinstance(entry, dict) else None
    kinds = ", ".join(union)
    if not isinstance(tag, str):
        return [_problem_at((*loc, "kind"), f"required key 'kind' is missing; one of {kinds}", layers, data)]
    close = difflib.get_close_matches(tag, list(union), n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"one of {kinds}"
    problems = [_problem_at((*loc, "kind"), f"unknown kind '{tag}', expected one of {kinds}", layers, data, hint=hint)]
    if close and isinstance(entry, dict):
        try:
            union[close[0]].model_validate({**entry, "kind": close[0]})
        except ValidationError as inner:
            for error in inner.errors(include_url=False):
                if tuple(error["loc"])[:1] != ("kind",):
                    problems += _error_problems(error, loc, layers, data)
    return problems


def _value_at(data: Any, loc: Loc) -> Any:
    node = data
    for part in loc:
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            node = node[part]
        elif isinstance(part, str) and isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    return node


def _drop_union_tags(loc: Loc) -> Loc:
    # Discriminated unions add the tag ('fhir', 'sql') to the location; the file has no such key.
    return tuple(part for part in loc if part not in UNION_MEMBERS)


def _plain_message(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    expected = {"bool_type": "true or false", "int_type": "a whole number", "float_type": "a number"}.get(kind)
    if expected and isinstance(value, str):
        shown = repr(value) if len(value) <= 40 else repr(value[:37] + "...")
        return f"expected {expected}, not the text {shown} (write it without quotes)"
    if kind not in ("model_type", "union_tag_invalid") and isinstance(value, str | int | float | bool):
        if isinstance(value, str):
            value = _URL_PASSWORD.sub(r"\1***@", value)  # a misplaced secret is never echoed back
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        message += f" (got {shown})"
    return message


_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


def _format_loc(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _owning_layer(layers: Sequence[ConfigLayer], loc: Loc) -> ConfigLayer | None:
    """The file that set the value at `loc`: the later layer with the deepest matching key path."""
    best: tuple[int, ConfigLayer] | None = None
    for layer in layers:
        depth = _matched_depth(layer.data, loc)
        if depth and (best is None or depth >= best[0]):
            best = (depth, layer)
    return best[1] if best else None


def _matched_depth(data: Any, loc: Loc) -> int:
    depth = 0
    node = data
    for part in loc:
        if isinstance(node, list):
            return len(loc)  # arrays are replaced whole, so this layer owns everything under it
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            node = node[part]
            depth += 1
        else:
            break
    return depth


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*([A-Za-z0-9_\-."' ]+?)\s*=""")


def _line_of(text: str, loc: Loc) -> int | None:
    """The line of `text` that sets the longest prefix of `loc` (tomllib keeps no positions, so scan)."""
    table: list[str | int] = []
    array_counts: dict[tuple[str, ...], int] = {}
    best: tuple[int, int] | None = None  # (matched length, line number)
    # TOML ends lines at \n only; splitlines() would also split at \x85, \u2028, \f ... inside a string value and
    # shift every line number after it.
    for number, line in enumerate(text.split("\n"), start=1):
        header = _HEADER.match(line)
        if header:
            names = tuple(_split_key(header.group(2)))
            if header.group(1) == "[[":
                index = array_counts.get(names, -1) + 1
                array_counts[names] = index
                table = [*names, index]
            else:
                table = list(names)
            path: list[str | int] = table
        else:
            key = _KEY.match(line)
            if not key:
                continue
            path = [*table, *_split_key(key.group(1))]
        matched = _common_prefix(path, loc)
        if matched == len(path) and matched and (best is None or matched > best[0]):
            best = (matched, number)
    return best[1] if best else None


def _split_key(key: str) -> list[str]:
    return [part.strip().strip("\"'") for part in key.split(".")]


def _common_prefix(path: Sequence[str | int], loc: Loc) -> int:
    count = 0
    for a, b in zip(path, loc, strict=False):
        if a != b:
            break
        count += 1
    return count


def _hint_for(loc: Loc, error: Any, data: dict[str, Any]) -> str:
    parent, field_name = _model_at(loc, data)
    if parent is None:
        return ""
    if error["type"] == "extra_forbidden":
        known = list(parent.model_fields)
        close = difflib.get_close_matches(str(field_name), known, n=1)
        suggestion = f"did you mean '{close[0]}'? " if close else ""
        return f"{suggestion}known keys here: {', '.join(known)}"
    field = parent.model_fields.get(str(field_name)) if field_name is not None else None
    return field.description or "" if field else ""


def _model_at(loc: Loc, data: Any) -> tuple[type[BaseModel] | None, str | int | None]:
    """The model class holding the last key of `loc`, and that key."""
    model: type[BaseModel] | None = Settings
    union: dict[str, type[BaseModel]] | None = None
    node = data
    names = list(loc)
    for index, part in enumerate(names):
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else {}
            if union is not None:  # an entry of an array of tables with a 'kind': the kind says which model
                kind = node.get("kind") if isinstance(node, dict) else None
                model = union.get(str(kind), next(iter(union.values())))
                union = None
            continue
        if model is None:
            return None, part
        if index == len(names) - 1:
            return model, part
        field = model.model_fields.get(part)
        if field is None:
            return model, part
        node = node.get(part, {}) if isinstance(node, dict) else {}
        annotation = field.annotation
        if get_origin(annotation) is list:
            (annotation,) = get_args(annotation)
            if annotation in _unions():
                union, model = _unions()[annotation], None
                continue
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        else:
            return model, part  # a leaf such as a list of strings: the hint belongs to this field
    return model, None
