"""`agentdesk link --report`: what blocking, fitting and scoring did, without a value from the files.

Prints the blocking passes and how many candidate pairs each found, the pairs compared, the fitted model (prior
and each field's agreement weight), and the time per stage; with `--truth PAIRS.csv` (left_id,right_id of the
true pairs) also the blocking recall (per pass and overall) and the precision, recall and F1 of the "match"
decisions, with the "review" pairs counted on their own line.
"""

from __future__ import annotations

import csv
from pathlib import Path

from agentdesk.records.identity.batch import BatchResult
from agentdesk.records.identity.blocking import BlockingKey
from agentdesk.records.linking import InputError

Pair = tuple[str, str]


def read_truth(path: Path) -> set[Pair]:
    """The true pairs of a truth file with a left_id,right_id header; InputError naming the file otherwise."""
    try:
        with path.open(encoding="utf-8", newline="") as stream:
            rows = csv.DictReader(stream)
            if rows.fieldnames is None or not {"left_id", "right_id"} <= set(rows.fieldnames):
                raise InputError(f"{path}: the truth file needs a 'left_id,right_id' header")
            return {(row["left_id"], row["right_id"]) for row in rows}
    except OSError as exc:
        raise InputError(f"{path}: cannot read the truth file: {exc.strerror or type(exc).__name__}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: the truth file is not UTF-8") from None


def _key(a: str, b: str, dedupe: bool) -> Pair:
    return (a, b) if not dedupe or a <= b else (b, a)


def link_report(
    result: BatchResult,
    left_ids: list[str],
    right_ids: list[str],
    dedupe: bool,
    stages: dict[str, float],
    truth: set[Pair] | None,
) -> str:
    blocking = result.blocking
    lines = ["blocking passes (chosen by the fields the records have):"]
    truth_index: list[tuple[int, int]] = []
    if truth is not None:
        truth = {_key(a, b, dedupe) for a, b in truth}
        left_at = {record_id: i for i, record_id in enumerate(left_ids)}
        right_at = left_at if dedupe else {record_id: j for j, record_id in enumerate(right_ids)}
        truth_index = [(left_at[a], right_at[b]) for a, b in truth if a in left_at and b in right_at]
    for blocking_pass in blocking.passes:
        line = f"  {blocking_pass.tag}  {blocking_pass.description}"
        if truth is not None:
            found = sum(
                _shares(blocking.left_keys[i], blocking.right_keys[j], blocking_pass.tag) for i, j in truth_index
            )
            line += f": blocking recall {found / max(len(truth), 1):.4f}"
        lines.append(line)
    lines.append(f"  blocks over the size cap (dropped): {blocking.dropped_blocks}")
    lines.append(f"pairs compared: {result.compared}")
    compared = {_key(left_ids[i], right_ids[j], dedupe) for i, j in blocking.pairs}
    model = result.model
    if model.fitted is not None:
        fitted = model.fitted
        state = "converged" if fitted.converged else "not converged"
        how = "fitted by EM" if result.fitted_here else "not fitted here: a saved model, fitted by EM"
        lines.append(
            f"model: {how} on {fitted.pairs} pairs of {fitted.records} records ({fitted.iterations} iterations, "
            f"{state}); prior (two random records are one person) {model.prior:.3g}"
        )
    elif result.fitted_here:
        lines.append(f"model: the defaults (too few candidate pairs to fit one); prior {model.prior:.3g}")
    else:
        lines.append(f"model: not fitted here (prior {model.prior:.3g})")
    for field in model.fields:
        weights = ", ".join(f"{level.name} {model.weight(field.name, level.name):+.1f}" for level in field.levels)
        lines.append(f"  {field.name:<13} {weights}")
    if model.names is not None:
        lines.append(
            f"  name frequencies: {len(model.names.given)} given and {len(model.names.family)} family names "
            "held by enough records to adjust for"
        )
    if truth is not None:
        lines.append(f"blocking recall: {len(compared & truth) / max(len(truth), 1):.4f} of {len(truth)} true pairs")
        matches = {_key(left_ids[p.left], right_ids[p.right], dedupe) for p in result.pairs if p.decision == "match"}
        reviews = {_key(left_ids[p.left], right_ids[p.right], dedupe) for p in result.pairs if p.decision == "review"}
        hits = len(matches & truth)
        precision = hits / len(matches) if matches else 0.0
        recall = hits / len(truth) if truth else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        lines.append(f"matches: precision {precision:.4f}, recall {recall:.4f}, F1 {f1:.4f} ({len(matches)} pairs)")
        lines.append(f"reviews: {len(reviews)} pairs, {len(reviews & truth)} of them true pairs")
    lines.append("time per stage: " + ", ".join(f"{stage} {seconds:.2f} s" for stage, seconds in stages.items()))
    return "\n".join(lines)


def _shares(left: set[BlockingKey], right: set[BlockingKey], tag: str) -> bool:
    return any(key[0] == tag and key in right for key in left)
