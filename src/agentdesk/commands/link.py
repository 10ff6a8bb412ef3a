"""`agentdesk link`: link two CSV extracts of people (or deduplicate one) with the identity matcher.

Bad rows are reported by file, line and column and skipped; the rest is linked (see records/linking.py).

Exit codes: 0 the link ran (even with bad rows), 1 an input cannot be used at all (unreadable, no header, no
id column) or the output cannot be written, 2 a usage error (threshold out of range, broken --config).
"""

from __future__ import annotations

import csv
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

from agentdesk.records.identity import Matcher
from agentdesk.records.linking import (
    MAX_REPORTED_PER_FILE,
    InputError,
    LinkedPair,
    RowProblem,
    link,
    read_extract,
)


def write_pairs(path: Path, pairs: list[LinkedPair], left_ids: list[str], right_ids: list[str]) -> None:
    """Write atomically, so a crash never leaves half a file that looks complete."""
    directory = path.parent if str(path.parent) else Path()
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream, lineterminator="\n")
            writer.writerow(("left_id", "right_id", "score", "decision"))
            for pair in pairs:
                writer.writerow((left_ids[pair.left], right_ids[pair.right], f"{pair.probability:.4f}", pair.decision))
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# The defaults of `MatchingSettings` and `TelephonySettings`, mirrored so that a run without --config does not
# import the config schema (pydantic: a quarter of a second). tests/test_link_command.py keeps them equal.
DEFAULT_MATCH_THRESHOLD = 0.97
DEFAULT_REVIEW_THRESHOLD = 0.60
DEFAULT_REGION = "US"


def _thresholds(threshold: float | None, config: Path | None) -> tuple[float, float, str]:
    """(match, review, region) from the defaults, --config and --threshold. Raises ValueError on bad usage."""
    match, review, region = DEFAULT_MATCH_THRESHOLD, DEFAULT_REVIEW_THRESHOLD, DEFAULT_REGION
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


def _report(problems: list[RowProblem]) -> None:
    by_file: dict[str, int] = {}
    for problem in problems:
        by_file[problem.file] = by_file.get(problem.file, 0) + 1
        if by_file[problem.file] <= MAX_REPORTED_PER_FILE:
            print(problem, file=sys.stderr)
    for name, count in by_file.items():
        if count > MAX_REPORTED_PER_FILE:
            print(f"{name}: {count - MAX_REPORTED_PER_FILE} more problem(s) not shown", file=sys.stderr)


def run_link(left: Path, right: Path | None, out: Path, threshold: float | None, config: Path | None = None) -> int:
    """The `agentdesk link` command. Returns the process exit code."""
    started = time.perf_counter()
    try:
        match_threshold, review_threshold, region = _thresholds(threshold, config)
    except ValueError as exc:
        print(f"agentdesk link: {exc}", file=sys.stderr)
        return 2
    # The batch allocates hundreds of thousands of small tuples and sets and creates no reference cycles, so the
    # cyclic collector would only rescan them over and over (a third of the run time); refcounting frees them.
    gc.disable()
    try:
        left_extract = read_extract(left, region)
        right_extract = read_extract(right, region) if right is not None else None
        extracts = [left_extract] if right_extract is None else [left_extract, right_extract]
        _report([problem for extract in extracts for problem in extract.problems])
        matcher = Matcher(match_threshold=match_threshold, review_threshold=review_threshold)
        pairs, compared = link(left_extract, right_extract, matcher)
    except InputError as exc:
        print(f"agentdesk link: {exc}", file=sys.stderr)
        return 1
    finally:
        gc.enable()
    try:
        write_pairs(out, pairs, left_extract.ids, (right_extract or left_extract).ids)
    except OSError as exc:
        print(f"agentdesk link: {out}: cannot write the output: {exc.strerror or type(exc).__name__}", file=sys.stderr)
        return 1
    matches = sum(pair.decision == "match" for pair in pairs)
    rows = sum(extract.rows for extract in extracts)
    bad = sum(extract.bad_rows for extract in extracts)
    seconds = time.perf_counter() - started
    print(
        f"link: {rows} rows read, {bad} bad rows, {compared} pairs compared, "
        f"{matches} matches, {len(pairs) - matches} reviews, {seconds:.2f} s"
    )
    return 0
