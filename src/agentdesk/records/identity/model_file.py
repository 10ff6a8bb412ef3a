"""A fitted model as a JSON file (`agentdesk link --fit MODEL.json`, read back by `--model` and by the desk's
config `matching.model`).

The file holds the m- and u-probabilities of every field level, the prior, the household overlap, how the model
was fitted, and the name frequency tables (only names held by at least `MIN_NAME_COUNT` records: common names,
which identify no one). The levels are the comparators' own, so a file must list every level of every field;
anything else is refused with a message naming the entry.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from agentdesk.base.files import write_whole
from agentdesk.records.identity.model import (
    DEFAULT_FIELDS,
    FieldModel,
    FitSummary,
    Level,
    MatchModel,
    NameFrequencies,
)

FORMAT = "agentdesk-match-model"
VERSION = 1


class ModelFileError(ValueError):
    """A model file that cannot be used; the message names the file and the entry."""


def model_to_document(model: MatchModel) -> dict[str, Any]:
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "prior": model.prior,
        "household_overlap": model.household_overlap,
        "fields": {
            f.name: {
                level.name: {"m": level.m, "u": level.u}
                | ({} if template.u_household is None else {"u_household": level.u_household})
                for level, template in zip(f.levels, DEFAULT_FIELDS[i].levels, strict=True)
            }
            for i, f in enumerate(model.fields)
        },
    }
    if model.fitted is not None:
        fitted = model.fitted
        document["fitted"] = {
            "pairs": fitted.pairs,
            "records": fitted.records,
            "iterations": fitted.iterations,
            "converged": fitted.converged,
        }
    if model.names is not None:
        names = model.names
        document["name_frequencies"] = {
            "records": names.records,
            "given_name": dict(sorted(names.given.items())),
            "family_name": dict(sorted(names.family.items())),
        }
    return document


def save_model(model: MatchModel, path: Path) -> None:
    """Write atomically: a crash never leaves half a model that the desk would then refuse at start."""
    write_whole(path, json.dumps(model_to_document(model), indent=1) + "\n")


def load_model(path: Path) -> MatchModel:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read the model: {exc.strerror or type(exc).__name__}") from None
    except UnicodeDecodeError:
        raise ModelFileError(f"{path}: not a UTF-8 text file") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path}: not JSON (line {exc.lineno}, column {exc.colno})") from None
    try:
        return model_from_document(document)
    except ModelFileError as exc:
        raise ModelFileError(f"{path}: {exc}") from None


def model_from_document(document: Any) -> MatchModel:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelFileError(f'format: not an AgentDesk match model (expected "format": "{FORMAT}")')
    if document.get("version") != VERSION:
        raise ModelFileError(f"version: {document.get('version')!r} is not supported (this AgentDesk reads {VERSION})")
    prior = _probability(document.get("prior"), "prior", open_top=True)
    overlap = _number(document.get("household_overlap", 0.1), "household_overlap", 0.0, 1.0)
    fields_doc = document.get("fields")
    if not isinstance(fields_doc, dict):
        raise ModelFileError("fields: missing (an object of field -> level -> {m, u})")
    fields = tuple(_field(template, fields_doc.get(template.name)) for template in DEFAULT_FIELDS)
    unknown = sorted(set(fields_doc) - {f.name for f in DEFAULT_FIELDS})
    if unknown:
        raise ModelFileError(f"fields.{unknown[0]}: not a field the matcher compares")
    return MatchModel(
        fields=fields,
        prior=prior,
        household_overlap=overlap,
        names=_names(document.get("name_frequencies")),
        fitted=_fitted(document.get("fitted")),
    )


def _field(template: FieldModel, entry: Any) -> FieldModel:
    where = f"fields.{template.name}"
    if not isinstance(entry, dict):
        raise ModelFileError(f"{where}: missing")
    levels = []
    for level in template.levels:
        values = entry.get(level.name)
        if not isinstance(values, dict):
            raise ModelFileError(f"{where}.{level.name}: missing")
        m = _probability(values.get("m"), f"{where}.{level.name}.m")
        u = _probability(values.get("u"), f"{where}.{level.name}.u")
        u_household = level.u_household
        if level.u_household is not None and "u_household" in values:
            # null: the model was fitted to records without households, and uses u there too
            raw = values["u_household"]
            u_household = None if raw is None else _probability(raw, f"{where}.{level.name}.u_household")
        levels.append(Level(level.name, level.outcome, m, u, u_household))
    extra = sorted(set(entry) - {level.name for level in template.levels})
    if extra:
        raise ModelFileError(f"{where}.{extra[0]}: not a level of this field")
    for side in ("m", "u"):
        total = sum(getattr(level, side) for level in levels)
        if not 0.98 <= total <= 1.02:
            raise ModelFileError(f"{where}: the levels' {side} add up to {total:.3f}, not 1")
    return FieldModel(template.name, tuple(levels))


def _names(entry: Any) -> NameFrequencies | None:
    if entry is None:
        return None
    if not isinstance(entry, dict):
        raise ModelFileError("name_frequencies: not an object")
    tables = []
    for side in ("given_name", "family_name"):
        table = entry.get(side, {})
        if not isinstance(table, dict):
            raise ModelFileError(f"name_frequencies.{side}: not an object of name -> share")
        tables.append(
            {str(name): _probability(share, f"name_frequencies.{side}.{name}") for name, share in table.items()}
        )
    records = entry.get("records")
    if not isinstance(records, int) or isinstance(records, bool) or records < 1:
        raise ModelFileError("name_frequencies.records: not a positive whole number")
    return NameFrequencies(tables[0], tables[1], records)


def _fitted(entry: Any) -> FitSummary | None:
    if entry is None:
        return None
    if not isinstance(entry, dict):
        raise ModelFileError("fitted: not an object")
    numbers = []
    for key in ("pairs", "records", "iterations"):
        value = entry.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ModelFileError(f"fitted.{key}: not a whole number")
        numbers.append(value)
    return FitSummary(numbers[0], numbers[1], numbers[2], bool(entry.get("converged")))


def _number(value: Any, where: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ModelFileError(f"{where}: not a number")
    if not low <= value <= high:
        raise ModelFileError(f"{where}: {value:g} is not between {low:g} and {high:g}")
    return float(value)


def _probability(value: Any, where: str, open_top: bool = False) -> float:
    number = _number(value, where, 0.0, 1.0)
    if number <= 0 or (open_top and number >= 1):
        raise ModelFileError(
            f"{where}: {number:g} must be above 0 and below 1" if open_top else f"{where}: must be above 0"
        )
    return number
