"""Record linkage benchmark: AgentDesk's matcher against recordlinkage and Splink (DuckDB) on the same data.

    python -m pip install -e ".[bench]"
    python benchmarks/matching.py [--size 10000] [--seed 20261127] [--workdir DIR]

One run generates a labelled synthetic set (benchmarks/synthetic_people.py: corrupted copies, household members
who must not be linked, strangers), then runs each tool as its own process on the same left.csv/right.csv and
scores its predicted matches against truth.csv:

* AgentDesk: the real CLI, `python -m agentdesk link left.csv right.csv --out pairs.csv` (decision "match").
* recordlinkage: the same blocking keys, Jaro-Winkler/exact/Levenshtein comparisons, the unsupervised ECM
  (Fellegi-Sunter fitted by EM) classifier.
* Splink 4+/DuckDB: the same blocking rules, its standard name/date/email comparisons, u by random sampling, m
  by EM, pairs at match probability >= the same 0.97 threshold AgentDesk uses.

"wall s" is the whole process (interpreter, imports, reading, writing); "compute s" is what the tool itself
spent after its imports. The two libraries are not project dependencies: without them their rows say so.
"""

from __future__ import annotations

import argparse
import csv
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import synthetic_people  # noqa: E402  (a sibling script, not a package module)

MATCH_THRESHOLD = 0.97  # AgentDesk's default; Splink is asked for the same probability


@dataclass
class Result:
    tool: str
    wall: float | None = None
    compute: float | None = None
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    predicted: int = 0
    note: str = ""


def read_pairs(path: Path, decision_column: str | None = None) -> set[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        rows = csv.DictReader(stream)
        return {
            (row["left_id"], row["right_id"])
            for row in rows
            if decision_column is None or row[decision_column] == "match"
        }


def evaluate(result: Result, predicted: set[tuple[str, str]], truth: set[tuple[str, str]]) -> None:
    true_positives = len(predicted & truth)
    result.predicted = len(predicted)
    result.precision = true_positives / len(predicted) if predicted else 0.0
    result.recall = true_positives / len(truth) if truth else 0.0
    total = result.precision + result.recall
    result.f1 = 2 * result.precision * result.recall / total if total else 0.0


def run_timed(command: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    return time.perf_counter() - started, completed


def bench_agentdesk(work: Path, truth: set[tuple[str, str]]) -> Result:
    result = Result("AgentDesk")
    out = work / "agentdesk_pairs.csv"
    wall, completed = run_timed(
        [sys.executable, "-m", "agentdesk", "link", str(work / "left.csv"), str(work / "right.csv"), "--out", str(out)]
    )
    if completed.returncode != 0:
        result.note = f"failed (exit {completed.returncode}): {completed.stderr.strip()[-300:]}"
        return result
    result.wall = wall
    found = re.search(r"([\d.]+) s\s*$", completed.stdout.strip())
    result.compute = float(found.group(1)) if found else None
    evaluate(result, read_pairs(out, "decision"), truth)
    result.note = completed.stdout.strip().splitlines()[-1]
    return result


def bench_library(name: str, work: Path, truth: set[tuple[str, str]]) -> Result:
    result = Result(name)
    out = work / f"{name}_pairs.csv"
    wall, completed = run_timed([sys.executable, __file__, "--engine", name, "--workdir", str(work)])
    if completed.returncode == 3:
        result.note = completed.stdout.strip() or "not installed"
        return result
    if completed.returncode != 0:
        result.note = f"failed (exit {completed.returncode}): {completed.stderr.strip()[-600:]}"
        return result
    result.wall = wall
    found = re.search(r"compute_seconds=([\d.]+)", completed.stdout)
    result.compute = float(found.group(1)) if found else None
    evaluate(result, read_pairs(out), truth)
    return result


# ---------------------------------------------------------------------------------------------------------------
# The two libraries, each run in its own process (`--engine NAME`)
# ---------------------------------------------------------------------------------------------------------------


def _prepared_frames(work: Path):  # type: ignore[no-untyped-def]
    """Both CSVs as pandas frames with the usual cleaning: lower-case names without punctuation, phone digits,
    lower-case e-mail, 5-digit ZIP, M/F, blanks as missing. The same cleaning for both libraries."""
    import numpy as np
    import pandas as pd

    frames = []
    for side in ("left", "right"):
        frame = pd.read_csv(work / f"{side}.csv", dtype=str, keep_default_na=False)
        for column in ("given_name", "family_name"):
            frame[column] = (
                frame[column]
                .str.normalize("NFKD")
                .str.encode("ascii", "ignore")
                .str.decode("ascii")
                .str.lower()
                .str.replace(r"[^a-z]", "", regex=True)
            )
        digits = frame["phone"].str.replace(r"\D", "", regex=True)
        frame["phone"] = digits.where(digits.str.len() != 11, digits.str[1:])
        frame["email"] = frame["email"].str.lower().str.strip()
        frame["postal_code"] = frame["postal_code"].str[:5]
        frame["sex"] = frame["sex"].str[:1].str.upper()
        frame["address_line"] = frame["address_line"].str.lower().str.replace(r"[^a-z0-9 ]", "", regex=True)
        frame = frame.replace("", np.nan)
        frames.append(frame)
    return frames[0], frames[1]


def engine_recordlinkage(work: Path) -> float:
    import recordlinkage

    started = time.perf_counter()
    left, right = _prepared_frames(work)
    for frame in (left, right):
        frame["family3_year"] = frame["family_name"].str[:3] + frame["birth_date"].str[:4]
        frame["given3_year"] = frame["given_name"].str[:3] + frame["birth_date"].str[:4]
        frame["postal_given"] = frame["postal_code"] + frame["given_name"].str[:1]
    left, right = left.set_index("id"), right.set_index("id")
    indexer = recordlinkage.Index()
    for key in ("phone", "email", "mrn", "birth_date", "family3_year", "postal_given"):
        indexer.block(key)
    indexer.block(left_on="given3_year", right_on="family3_year")  # swapped names
    pairs = indexer.index(left, right)
    compare = recordlinkage.Compare()
    compare.string("given_name", "given_name", method="jarowinkler", threshold=0.88, label="given_name")
    compare.string("family_name", "family_name", method="jarowinkler", threshold=0.88, label="family_name")
    compare.exact("birth_date", "birth_date", label="birth_date")
    compare.exact("sex", "sex", label="sex")
    compare.exact("phone", "phone", label="phone")
    compare.exact("email", "email", label="email")
    compare.string("address_line", "address_line", method="levenshtein", threshold=0.85, label="address_line")
    compare.exact("postal_code", "postal_code", label="postal_code")
    compare.exact("mrn", "mrn", label="mrn")
    features = compare.compute(pairs, left, right)
    matches = recordlinkage.ECMClassifier(binarize=None).fit_predict(features)
    with (work / "recordlinkage_pairs.csv").open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(("left_id", "right_id"))
        writer.writerows(matches.tolist())
    print(f"candidate_pairs={len(pairs)}")
    return time.perf_counter() - started


def engine_splink(work: Path) -> float:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    started = time.perf_counter()
    left, right = _prepared_frames(work)
    left, right = left.rename(columns={"id": "unique_id"}), right.rename(columns={"id": "unique_id"})
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("family_name"),
            cl.DateOfBirthComparison("birth_date", input_is_string=True),
            cl.ExactMatch("sex"),
            cl.ExactMatch("phone"),
            cl.EmailComparison("email"),
            cl.LevenshteinAtThresholds("address_line", [2, 5]),
            cl.ExactMatch("postal_code"),
            cl.ExactMatch("mrn"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("phone"),
            block_on("email"),
            block_on("mrn"),
            block_on("birth_date"),
            block_on("substr(family_name, 1, 3)", "substr(birth_date, 1, 4)"),
            block_on("postal_code", "substr(given_name, 1, 1)"),
            "substr(l.given_name, 1, 3) = substr(r.family_name, 1, 3) "
            "and substr(l.birth_date, 1, 4) = substr(r.birth_date, 1, 4)",
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    db_api = DuckDBAPI()
    if hasattr(db_api, "register"):  # Splink 5: tables are registered with the backend first
        tables = [db_api.register(left, table_name="people_left"), db_api.register(right, table_name="people_right")]
        linker = Linker(tables, settings)
    else:  # Splink 4
        linker = Linker([left, right], settings, db_api=db_api)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "family_name", "birth_date"), block_on("phone", "birth_date")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1_000_000)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("birth_date"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("phone"))
    predictions = linker.inference.predict(threshold_match_probability=MATCH_THRESHOLD).as_pandas_dataframe()
    with (work / "splink_pairs.csv").open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(("left_id", "right_id"))
        for row in predictions.itertuples(index=False):
            # link_only keeps input order: source 0 is left.csv, but be sure of the side before writing
            if row.source_dataset_l == row.source_dataset_r:
                continue
            pair = (row.unique_id_l, row.unique_id_r)
            writer.writerow(pair if str(row.unique_id_l).startswith("L") else pair[::-1])
    return time.perf_counter() - started


def run_engine(name: str, work: Path) -> int:
    import logging
    import warnings

    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    try:
        engine = {"recordlinkage": engine_recordlinkage, "splink": engine_splink}[name]
        seconds = engine(work)
    except ImportError as exc:
        print(f"not installed ({exc.name}): python -m pip install -e '.[bench]'")
        return 3
    print(f"compute_seconds={seconds:.3f}")
    return 0


# ---------------------------------------------------------------------------------------------------------------


def median_result(runs: list[Result]) -> Result:
    """The first run's accuracy (every run is deterministic) with the median times."""
    timed = [r for r in runs if r.wall is not None]
    if not timed:
        return runs[0]
    result = timed[0]
    result.wall = statistics.median(r.wall for r in timed if r.wall is not None)
    computes = [r.compute for r in timed if r.compute is not None]
    result.compute = statistics.median(computes) if computes else None
    return result


def _fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def report(results: list[Result], size: int, truth: int, generated: float) -> None:
    print(f"\n{size} x {size} synthetic people, {truth} true pairs (generated in {generated:.1f} s)\n")
    header = f"{'tool':<14}{'precision':>10}{'recall':>9}{'F1':>9}{'wall s':>9}{'compute s':>11}{'predicted':>11}"
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.tool:<14}{_fmt(r.precision):>10}{_fmt(r.recall):>9}{_fmt(r.f1):>9}"
            f"{_fmt(r.wall, 2):>9}{_fmt(r.compute, 2):>11}{r.predicted if r.wall else '-':>11}"
        )
    ours = results[0]
    print()
    for other in results[1:]:
        if other.wall is None or ours.wall is None:
            print(f"{other.tool}: {other.note}")
            continue
        compute = (
            f", compute {other.compute / ours.compute:.1f}x"
            if other.compute is not None and ours.compute is not None
            else ""
        )
        print(f"{other.tool} takes {other.wall / ours.wall:.1f}x AgentDesk's wall time{compute}")
    if ours.note:
        print(f"AgentDesk: {ours.note}")
    if ours.f1 is not None and ours.precision is not None:
        met = ours.f1 >= 0.99 and ours.precision >= 0.999
        print(f"AgentDesk targets (F1 >= 0.99, precision >= 0.999): {'met' if met else 'NOT met'}")


def main() -> int:
    parser = argparse.ArgumentParser(description="Compare AgentDesk's matcher with recordlinkage and Splink.")
    parser.add_argument("--size", type=int, default=10_000, help="people on each side (default 10000)")
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--workdir", type=Path, help="keep the data and outputs here (default: a temp folder)")
    parser.add_argument("--engine", choices=("recordlinkage", "splink"), help=argparse.SUPPRESS)
    parser.add_argument("--only-agentdesk", action="store_true", help="skip recordlinkage and Splink")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool; medians are shown (default 3)")
    args = parser.parse_args()
    if args.engine:
        return run_engine(args.engine, args.workdir)
    with tempfile.TemporaryDirectory(prefix="agentdesk-bench-") as temporary:
        work = args.workdir or Path(temporary)
        started = time.perf_counter()
        synthetic_people.write(work, args.size, args.seed)
        generated = time.perf_counter() - started
        truth = read_pairs(work / "truth.csv")
        tools = [lambda: bench_agentdesk(work, truth)]
        if not args.only_agentdesk:
            tools += [lambda: bench_library("recordlinkage", work, truth), lambda: bench_library("splink", work, truth)]
        # Alternate the tools round by round, so a busy moment of a shared machine does not land on one tool.
        rounds = [[tool() for tool in tools] for _ in range(args.repeat)]
        report([median_result([r[i] for r in rounds]) for i in range(len(tools))], args.size, len(truth), generated)
        print(f"(medians of {args.repeat} run(s) per tool, alternating)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
