"""Problems found by checking several keys together (two backends with one name, a campaign naming an unknown
disposition, a threshold above another): each names the one key to change, by its path under the table
checked, so the loader can point at its file and line instead of the whole configuration."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Loc = tuple[str | int, ...]


class FieldProblem(ValueError):
    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


class FieldProblems(ValueError):
    """Every cross-key problem of one table at once (not one per run)."""

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        super().__init__("; ".join(problem.message for problem in problems))
        self.problems = list(problems)


def cross_field_problems(data: Mapping[str, Any], default_codes: Iterable[str]) -> list[FieldProblem]:
    """The whole configuration's cross-key checks, over plain (merged, not yet validated) data: they also run
    when other keys are wrong, so check-config reports everything in one go. Values of the wrong type are
    skipped here (their own check names them)."""
    problems = [
        *_duplicates(data.get("backends"), ("backends",), "name"),
        *_duplicates(data.get("call_sources"), ("call_sources",), "name"),
        *_duplicates(data.get("dispositions"), ("dispositions",), "code"),
    ]
    campaigns = data.get("campaigns")
    # Older files write [[campaigns]] (an array of tables); newer ones [[campaigns.inline]].
    inline, prefix = (campaigns, ("campaigns",)) if isinstance(campaigns, list) else (None, ("campaigns", "inline"))
    if isinstance(campaigns, Mapping):
        inline = campaigns.get("inline")
    problems += _duplicates(inline, prefix, "code")
    dispositions = data.get("dispositions")
    known = (
        {str(d.get("code")) for d in dispositions if isinstance(d, Mapping)}
        if isinstance(dispositions, list)
        else set(default_codes)
    )
    for index, campaign in enumerate(inline if isinstance(inline, list) else []):
        listed = campaign.get("dispositions") if isinstance(campaign, Mapping) else None
        unknown = [str(code) for code in (listed if isinstance(listed, list) else []) if code not in known]
        if unknown:
            problems.append(
                FieldProblem(
                    (*prefix, index, "dispositions"),
                    f"campaign '{campaign.get('code')}' lists unknown disposition(s) {', '.join(unknown)}; "
                    f"known: {', '.join(sorted(known))}",
                )
            )
    return problems


def _duplicates(entries: object, prefix: Loc, key: str) -> list[FieldProblem]:
    if not isinstance(entries, list):
        return []
    table = ".".join(str(part) for part in prefix)
    seen: dict[str, int] = {}
    problems = []
    for index, entry in enumerate(entries):
        value = entry.get(key) if isinstance(entry, Mapping) else None
        if not isinstance(value, str):
            continue
        if value in seen:
            problems.append(
                FieldProblem(
                    (*prefix, index, key),
                    f"[[{table}]] entries {seen[value] + 1} and {index + 1} share {key} = '{value}'; "
                    f"each {key} must be unique",
                )
            )
        else:
            seen[value] = index
    return problems
