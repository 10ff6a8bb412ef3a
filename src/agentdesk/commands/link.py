"""`agentdesk link`: link two CSV extracts of people (or deduplicate one) with the identity matcher.

Bad rows are reported by file, line and column and skipped; the rest is linked (see records/linking.py). Columns
the header names but link does not read are reported too (with the column they probably mean), as a misspelt
header would otherwise link nothing without a word. The columns read: records/link_columns.py.

Exit codes: 0 the link ran (even with bad rows), 1 an input cannot be used at all (unreadable, no header, no
id column, no column to compare) or the output cannot be written, 2 a usage error (threshold out of range,
broken --config).
"""

from __future__ import annotations

import csv
import gc
import io
import sys
import time
from pathlib import Path

from agentdesk.base.files import write_whole
from agentdesk.base.matching import MATCH_THRESHOLD, REVIEW_THRESHOLD
from agentdesk.records.identity import DEFAULT_MODEL
from agentdesk.records.identity.batch import LinkedPair, link_people
from agentdesk.records.identity.model_file import ModelFileError, load_model, save_model
from agentdesk.records.link_report import link_report, read_truth
from agentdesk.records.linking import MAX_REPORTED_PER_FILE, Extract, InputError, read_extract


def write_pairs(path: Path, pairs: list[LinkedPair], left_ids: list[str], right_ids: list[str]) -> None:
    """Write atomically, so a crash never leaves half a file that looks complete."""
    stream = io.StringIO(newline="")
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(("left_id", "right_id", "score", "decision", "held"))
    for pair in pairs:
        writer.writerow(
            (left_ids[pair.left], right_ids[pair.right], f"{pair.probability:.4f}", pair.decision, pair.held)
        )
    write_whole(path, stream.getvalue())


# The default region of `TelephonySettings`, mirrored so that a run without --config does not import the config
# schema (pydantic: a quarter of a second); tests/commands/test_link_command.py keeps them equal. The thresholds'
# defaults are base.matching's, which the schema uses too.
DEFAULT_REGION = "US"


def _thresholds(threshold: float | None, config: Path | None) -> tuple[float, float, str]:
    """(match, review, region) from the defaults, --config and --threshold. Raises ValueError on bad usage."""
    match, review, region = MATCH_THRESHOLD, REVIEW_THRESHOLD, DEFAULT_REGION
    if config is not None:
        from agentdesk.config import ConfigError, load_settings

        try:
            settings = load_settings([config])
        except ConfigError as exc:
            raise ValueError("\n".join(str(problem) for problem in exc.problems)) from None
        match, review = settings.matching.match_threshold, settings.matching.review_threshold
        region = settings.telephony.default_region
    if threshold is not None:
        if not 0 < threshold <= 1:
            raise ValueError(f"--threshold must be above 0 and at most 1, not {threshold:g}")
        match, review = threshold, min(review, threshold)
    return match, review, region


def _report(extracts: list[Extract]) -> None:
    for extract in extracts:
        for warning in extract.warnings:
            print(f"{extract.name}: {warning}", file=sys.stderr)
    by_file: dict[str, int] = {}
    for problem in (problem for extract in extracts for problem in extract.problems):
        by_file[problem.file] = by_file.get(problem.file, 0) + 1
        if by_file[problem.file] <= MAX_REPORTED_PER_FILE:
            print(problem, file=sys.stderr)
    for name, count in by_file.items():
        if count > MAX_REPORTED_PER_FILE:
            print(f"{name}: {count - MAX_REPORTED_PER_FILE} more problem(s) not shown", file=sys.stderr)


def run_link(
    left: Path,
    right: Path | None,
    out: Path,
    threshold: float | None,
    config: Path | None = None,
    *,
    model_path: Path | None = None,
    fit_path: Path | None = None,
    report: bool = False,
    truth: Path | None = None,
) -> int:
    """The `agentdesk link` command. Returns the process exit code.

    The model is fitted by EM from the records being linked, unless `model_path` names a saved one (then used
    as it is, or refitted from it when `fit_path` is given too); `fit_path` saves the model the run used."""
    # The batch allocates hundreds of thousands of small tuples and sets and creates no reference cycles, so the
    # cyclic collector would only rescan them over and over (a third of the run time); refcounting frees them.
    # Off until the run's objects are gone: the first collection after it is back on would scan every object
    # still alive (~50 ms when it came during the writing of the output).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _link(left, right, out, threshold, config, model_path, fit_path, report, truth)
    finally:
        if enabled:
            gc.enable()


def _link(
    left: Path,
    right: Path | None,
    out: Path,
    threshold: float | None,
    config: Path | None,
    model_path: Path | None,
    fit_path: Path | None,
    report: bool,
    truth: Path | None,
) -> int:
    started = time.perf_counter()
    try:
        match_threshold, review_threshold, region = _thresholds(threshold, config)
    except ValueError as exc:
        print(f"agentdesk link: {exc}", file=sys.stderr)
        return 2
    stages: dict[str, float] = {}
    try:
        model = DEFAULT_MODEL if model_path is None else load_model(model_path)
        truth_pairs = None if truth is None else read_truth(truth)
        left_extract = read_extract(left, region)
        right_extract = read_extract(right, region) if right is not None else None
        extracts = [left_extract] if right_extract is None else [left_extract, right_extract]
        _report(extracts)
        stages["read"] = time.perf_counter() - started
        result = link_people(
            left_extract.people,
            None if right_extract is None else right_extract.people,
            model=model,
            fit=model_path is None or fit_path is not None,
            match_threshold=match_threshold,
            review_threshold=review_threshold,
        )
        stages.update(result.seconds)
    except (InputError, ModelFileError) as exc:
        print(f"agentdesk link: {exc}", file=sys.stderr)
        return 1
    right_ids = (right_extract or left_extract).ids
    written = time.perf_counter()
    try:
        write_pairs(out, result.pairs, left_extract.ids, right_ids)
    except OSError as exc:
        print(f"agentdesk link: {out}: cannot write the output: {exc.strerror or type(exc).__name__}", file=sys.stderr)
        return 1
    if fit_path is not None:
        try:
            save_model(result.model, fit_path)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            print(f"agentdesk link: {fit_path}: cannot write the model: {reason}", file=sys.stderr)
            return 1
    stages["write"] = time.perf_counter() - written
    if report:
        print(link_report(result, left_extract.ids, right_ids, right_extract is None, stages, truth_pairs))
    matches = sum(pair.decision == "match" for pair in result.pairs)
    rows = sum(extract.rows for extract in extracts)
    bad = sum(extract.bad_rows for extract in extracts)
    seconds = time.perf_counter() - started
    print(
        f"link: {rows} rows read, {bad} bad rows, {result.compared} pairs compared, "
        f"{matches} matches, {len(result.pairs) - matches} reviews, {seconds:.2f} s"
    )
    return 0
