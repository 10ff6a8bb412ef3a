"""`agentdesk link`, run as the real CLI in a subprocess on small synthetic CSVs."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

HEADER = "id,given_name,family_name,birth_date,sex,phone,email,address_line,city,state,postal_code,mrn,ssn"

# Synthetic people: 555-01xx numbers, example.org mail. L1/R1 are one person spelled differently; R2 is L1's
# child (same phone, address, family name); L2/R3 are one person after a move; L3 and R4 are strangers.
LEFT = [
    "L1,Robert,O'Brien,1980-04-12,M,(617) 555-0123,bob.obrien@example.org,12 North Main Street,Boston,MA,02134,,",
    "L2,Elizabeth,Nakamura,1975-11-02,F,212-555-0145,,7 Elm Road,New York,NY,10001,MRN77,",
    "L3,Carlos,Mendez,1990-01-30,M,305-555-0177,,55 Bay Drive,Miami,FL,33101,,",
]
RIGHT = [
    "R1,Bob,OBRIEN,1980-04-12,male,+16175550123,BOB.OBRIEN@EXAMPLE.ORG,12 N Main St,Boston,MA,02134-1234,,",
    "R2,Emily,O'Brien,2010-06-30,F,617.555.0123,,12 North Main Street,Boston,MA,02134,,",
    "R3,Liz,Nakamura,1975-11-02,F,415-555-0190,,99 Pine Street,San Francisco,CA,94105,MRN77,",
    "R4,Aisha,Grant,1968-03-03,F,503-555-0111,,3 Oak Lane,Portland,OR,97201,,",
]


def write_csv(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentdesk", *args], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )


def read_out(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


SUMMARY = re.compile(
    r"^link: (\d+) rows read, (\d+) bad rows, (\d+) pairs compared, (\d+) matches, (\d+) reviews, [\d.]+ s$"
)


def summary(result: subprocess.CompletedProcess[str]) -> tuple[int, ...]:
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    found = SUMMARY.match(lines[0])
    assert found, lines[0]
    return tuple(int(n) for n in found.groups())


def test_links_two_files(tmp_path: Path) -> None:
    left, right = write_csv(tmp_path / "left.csv", LEFT), write_csv(tmp_path / "right.csv", RIGHT)
    result = run(tmp_path, "link", str(left), str(right), "--out", "pairs.csv")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    rows_read, bad, compared, matches, reviews = summary(result)
    assert (rows_read, bad, matches, reviews) == (7, 0, 2, 0)
    assert 2 <= compared < 12  # blocked: not all 3 x 4 pairs
    out = tmp_path / "pairs.csv"
    assert out.read_text(encoding="utf-8").splitlines()[0] == "left_id,right_id,score,decision,held"
    pairs = {(row["left_id"], row["right_id"]): row for row in read_out(out)}
    assert set(pairs) == {("L1", "R1"), ("L2", "R3")}  # never L1 with the child R2
    for row in pairs.values():
        assert re.fullmatch(r"[01]\.\d{4}", row["score"]) and float(row["score"]) >= 0.97
        assert row["decision"] == "match"


def test_deduplicates_one_file(tmp_path: Path) -> None:
    rows = [*LEFT, *(row.replace("R", "D", 1) for row in RIGHT)]
    path = write_csv(tmp_path / "all.csv", rows)
    result = run(tmp_path, "link", str(path), "--out", "dupes.csv")
    assert result.returncode == 0, result.stderr
    assert summary(result)[0] == 7
    pairs = {(row["left_id"], row["right_id"]) for row in read_out(tmp_path / "dupes.csv")}
    assert pairs == {("L1", "D1"), ("L2", "D3")}  # each pair once, in file order, never a record with itself


def test_threshold_overrides_the_match_threshold(tmp_path: Path) -> None:
    # One person, little evidence: a nickname and a shared phone, nothing else.
    left = write_csv(tmp_path / "a.csv", ["A1,Robert,Smith,,,(617) 555-0123,,,,,,,"])
    right = write_csv(tmp_path / "b.csv", ["B1,Bobby,Smith,,,617-555-0123,,,,,,,"])
    default = run(tmp_path, "link", str(left), str(right), "--out", "default.csv")
    assert default.returncode == 0, default.stderr
    [row] = read_out(tmp_path / "default.csv")
    score = float(row["score"])
    assert row["decision"] == "review" and 0.6 <= score < 0.97
    lowered = run(tmp_path, "link", str(left), str(right), "--out", "low.csv", "--threshold", f"{score - 0.01:.4f}")
    assert read_out(tmp_path / "low.csv")[0]["decision"] == "match"
    assert summary(lowered)[3:5] == (1, 0)
    bad = run(tmp_path, "link", str(left), str(right), "--out", "x.csv", "--threshold", "1.5")
    assert bad.returncode == 2 and "--threshold" in bad.stderr


def test_thresholds_come_from_config(tmp_path: Path) -> None:
    left = write_csv(tmp_path / "a.csv", ["A1,Robert,Smith,,,(617) 555-0123,,,,,,,"])
    right = write_csv(tmp_path / "b.csv", ["B1,Bobby,Smith,,,617-555-0123,,,,,,,"])
    config = tmp_path / "agentdesk.toml"
    config.write_text("[matching]\nmatch_threshold = 0.5\nreview_threshold = 0.2\n", encoding="utf-8")
    result = run(tmp_path, "--config", str(config), "link", str(left), str(right), "--out", "pairs.csv")
    assert result.returncode == 0, result.stderr
    assert read_out(tmp_path / "pairs.csv")[0]["decision"] == "match"
    config.write_text("[matching]\nmatch_treshold = 0.5\n", encoding="utf-8")
    broken = run(tmp_path, "--config", str(config), "link", str(left), str(right), "--out", "pairs.csv")
    assert broken.returncode == 2 and "match_treshold" in broken.stderr


def test_malformed_rows_are_reported_by_line_and_column_and_the_rest_is_linked(tmp_path: Path) -> None:
    # Names on bad rows are distinctive, so a leak into the output would be caught.
    lines = [
        HEADER.encode(),
        LEFT[0].encode(),  # line 2: good
        b"L9,Zebulon,Quaxley,1980-04-12,M",  # line 3: too few columns
        b"L8,Xanthippe,Vorhees,4 Dec 80,F,,,,,,,,",  # line 4: a date in no format link reads: linked without it
        b",Wilhelmina,Umberfield,1971-01-01,F,,,,,,,,",  # line 5: missing id
        b"L1,Tiberius,Snodgrass,1960-01-01,M,,,,,,,,",  # line 6: duplicate id
        "L7,Ségolène,Ravenscroft,1960-01-01,F,,,,,,,,".encode("latin-1"),  # line 7: not UTF-8
        b"",  # a blank line is not a row
        LEFT[1].encode(),  # line 9: good
        b'L6,"Quentin' + b"q" * 200_000 + b'",Zorba,1960-01-01,M,,,,,,,,',  # line 10: over the csv field limit
        LEFT[2].encode(),  # line 11: good
    ]
    left = tmp_path / "left.csv"
    left.write_bytes(b"\n".join(lines) + b"\n")
    right = write_csv(tmp_path / "right.csv", RIGHT)
    result = run(tmp_path, "link", str(left), str(right), "--out", "pairs.csv")
    assert result.returncode == 0, result.stderr
    errors = result.stderr.splitlines()
    assert errors == [
        "left.csv:3: 5 columns where the header has 13",
        "left.csv:4: birth_date: not a date link reads (YYYY-MM-DD, MM/DD/YYYY, YYYYMMDD); linked without it",
        "left.csv:5: id: missing",
        "left.csv:6: id: duplicate of the id on line 2",
        "left.csv:7: given_name: not valid UTF-8",
        "left.csv:10: not a readable CSV record (a field is too long)",
    ]
    rows_read, bad, _compared, matches, _reviews = summary(result)
    assert (rows_read, bad, matches) == (9 + 4, 5, 2)
    assert {(r["left_id"], r["right_id"]) for r in read_out(tmp_path / "pairs.csv")} == {("L1", "R1"), ("L2", "R3")}
    leaked = result.stdout + result.stderr
    for secret in (
        "Zebulon",
        "Xanthippe",
        "Wilhelmina",
        "Umberfield",
        "Tiberius",
        "Snodgrass",
        "Ravenscroft",
        "Quentin",
        "Zorba",
    ):
        assert secret not in leaked
    assert "4 Dec 80" not in leaked and "Ségolène" not in leaked and "S\\xe9gol" not in leaked


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "cannot read"),  # no such file
        (b"", "no header"),
        (b"\n\n", "no header"),
        (b"given_name,family_name\nAda,Lovelace\n", "no 'id' column"),
        (b"Ada,Lovelace,1815-12-10\n", "no 'id' column"),  # no header row: the first row is not named
        (b"id,Patient,Born\n1,Ada Lovelace,1815-12-10\n", "no column link compares"),
    ],
)
def test_unusable_input_exits_1(tmp_path: Path, content: bytes | None, reason: str) -> None:
    left = tmp_path / "left.csv"
    if content is not None:
        left.write_bytes(content)
    right = write_csv(tmp_path / "right.csv", RIGHT)
    result = run(tmp_path, "link", str(left), str(right), "--out", "pairs.csv")
    assert result.returncode == 1
    assert "left.csv" in result.stderr and reason in result.stderr
    assert len(result.stderr.splitlines()) == 1  # one line: the reason
    assert "Lovelace" not in result.stderr and "1815" not in result.stderr
    assert not (tmp_path / "pairs.csv").exists()


def test_a_folder_as_input_and_an_unwritable_output_exit_1(tmp_path: Path) -> None:
    right = write_csv(tmp_path / "right.csv", RIGHT)
    assert run(tmp_path, "link", str(tmp_path), str(right), "--out", "pairs.csv").returncode == 1
    result = run(tmp_path, "link", str(right), "--out", str(tmp_path / "missing" / "pairs.csv"))
    assert result.returncode == 1 and "cannot write" in result.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run(tmp_path, "link", "left.csv").returncode == 2  # --out is required
    assert run(tmp_path, "link", "--out", "x.csv").returncode == 2  # LEFT is required


def test_extra_columns_are_named_on_stderr_and_a_bom_is_fine(tmp_path: Path) -> None:
    header = "\ufeffID,Given_Name,family_name,birth_date,notes"
    left = write_csv(tmp_path / "a.csv", ["A1,Robert,Smith,1980-04-12,called twice"], header=header)
    right = write_csv(tmp_path / "b.csv", ["B1,Rob,Smith,1980-04-12,"], header=header)
    result = run(tmp_path, "link", str(left), str(right), "--out", "pairs.csv")
    assert result.returncode == 0, result.stderr
    assert read_out(tmp_path / "pairs.csv")[0]["decision"] == "match"
    warning = "ignored column(s) link does not read: 'notes'; see agentdesk link --help"
    assert result.stderr.splitlines() == [f"a.csv: {warning}", f"b.csv: {warning}"]
    assert "called twice" not in result.stderr


def test_misspelt_columns_are_named_with_the_column_they_probably_mean(tmp_path: Path) -> None:
    """A typo in a header used to link on what was left without a word: 0 matches and no hint why."""
    header = "id,given_nmae,family_name,brith_date,Home Phone,phone,ID,notes"
    rows = ["A1,Robert,Smith,1980-04-12,617-555-0123,,X1,called twice"]
    left = write_csv(tmp_path / "a.csv", rows, header=header)
    result = run(tmp_path, "link", str(left), "--out", "pairs.csv")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "a.csv: ignored column(s) link does not read: 'given_nmae' (did you mean given_name?), 'brith_date' (did "
        "you mean birth_date?), 'Home Phone', 'notes'; see agentdesk link --help",
        "a.csv: column 'ID' ignored: id is read from 'id'",
    ]


def test_a_header_with_no_column_to_compare_exits_1_naming_its_columns(tmp_path: Path) -> None:
    write_csv(tmp_path / "a.csv", ["A1,Robert Smith,1980-04-12"], header="id,Name,Birth")
    result = run(tmp_path, "link", "a.csv", "--out", "pairs.csv")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "agentdesk link: a.csv: no column link compares (given_name, family_name, birth_date, sex, phone, email, "
        "address_line, postal_code, mrn, ssn): ignored column(s) link does not read: 'Name' (did you mean "
        "given_name and family_name in two columns?), 'Birth' (did you mean birth_date?); see agentdesk link --help"
    ]
    assert not (tmp_path / "pairs.csv").exists()


# The same two people as LEFT[0:2] and RIGHT[0], RIGHT[2], as other systems export them (synthetic values).
FEBRL_HEADER = "rec_id,given_name,surname,street_number,address_1,suburb,postcode,state,date_of_birth,soc_sec_id"
FEBRL_ROWS = [
    "rec-1-org,robert,o'brien,12,north main street,boston,02134,ma,19800412,",
    "rec-2-org,elizabeth,nakamura,7,elm road,new york,10001,ny,19751102,",
]
EHR_HEADER = "Patient ID,First Name,Last Name,DOB,Gender,Phone Number,E-mail,Address,City,State,Zip,MRN,SSN"
EHR_ROWS = [
    "R1,Bob,OBRIEN,04/12/1980,male,+16175550123,BOB.OBRIEN@EXAMPLE.ORG,12 N Main St,Boston,MA,02134-1234,,",
    "R3,Liz,Nakamura,11/2/1975,F,415-555-0190,,99 Pine Street,San Francisco,CA,94105,MRN77,",
]


def test_other_systems_header_spellings_and_date_formats_are_read(tmp_path: Path) -> None:
    """FEBRL / recordlinkage (rec_id, surname, date_of_birth as YYYYMMDD) and an EHR export (Patient ID, First
    Name, Last Name, DOB as MM/DD/YYYY, Gender, Zip) link like files written with link's own column names."""
    febrl = write_csv(tmp_path / "febrl.csv", FEBRL_ROWS, header=FEBRL_HEADER)
    ehr = write_csv(tmp_path / "ehr.csv", EHR_ROWS, header=EHR_HEADER)
    result = run(tmp_path, "link", str(febrl), str(ehr), "--out", "pairs.csv")
    assert result.returncode == 0, result.stderr
    # street_number and address_1 are FEBRL's split address: named, not guessed into address_line.
    assert result.stderr.splitlines() == [
        "febrl.csv: ignored column(s) link does not read: 'street_number', 'address_1' (did you mean "
        "address_line?); see agentdesk link --help"
    ]
    assert summary(result)[:2] == (4, 0)
    pairs = {(r["left_id"], r["right_id"]): r["decision"] for r in read_out(tmp_path / "pairs.csv")}
    assert pairs == {("rec-1-org", "R1"): "match", ("rec-2-org", "R3"): "match"}
    # Column names are matched ignoring case, spaces and punctuation: 'Date of Birth', 'given-name', 'SURNAME'.
    header = "ID,given-name,SURNAME,Date of Birth"
    spelled = write_csv(tmp_path / "spelled.csv", ["S1,Robert,O'Brien,1980-04-12"], header)
    again = run(tmp_path, "link", str(spelled), str(ehr), "--out", "again.csv")
    assert again.returncode == 0 and again.stderr == "", again.stderr
    assert [(r["left_id"], r["right_id"]) for r in read_out(tmp_path / "again.csv")] == [("S1", "R1")]


def test_a_month_first_birth_date_is_read_as_the_search_box_reads_it(tmp_path: Path) -> None:
    """02/03/1984 used to drop the whole row; the desk's search box reads it as 3 February 1984, so link does."""
    from agentdesk.records.lookup import parse_search

    left = write_csv(tmp_path / "a.csv", ["A1,Ana,Lopez,02/03/1984,F,,,,,,,,", "A2,Ana,Lopez,2/3/1984,F,,,,,,,,"])
    right = write_csv(tmp_path / "b.csv", ["B1,Ana,Lopez,1984-02-03,F,,,,,,,,", "B2,Ana,Lopez,1984-03-02,F,,,,,,,,"])
    result = run(tmp_path, "link", str(left), "--out", "dupes.csv")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert summary(result)[:2] == (2, 0)
    assert [(r["left_id"], r["right_id"], r["decision"]) for r in read_out(tmp_path / "dupes.csv")] == [
        ("A1", "A2", "match")
    ]
    one = write_csv(tmp_path / "one.csv", ["A1,Ana,Lopez,02/03/1984,F,,,,,,,,"])
    linked = run(tmp_path, "link", str(one), str(right), "--out", "pairs.csv")
    assert linked.returncode == 0 and linked.stderr == "", linked.stderr
    decisions = {(r["left_id"], r["right_id"]): r["decision"] for r in read_out(tmp_path / "pairs.csv")}
    assert decisions.get(("A1", "B1")) == "match" and decisions.get(("A1", "B2")) != "match"  # 3 Feb, not 2 Mar
    assert parse_search("Lopez, Ana 02/03/1984").birth_date == "1984-02-03"  # what the agent's search reads


def test_an_unreadable_birth_date_is_reported_by_line_and_column_and_the_row_still_linked(tmp_path: Path) -> None:
    header = "id,given_name,family_name,DOB,phone,email"
    rows = [
        "A1,Robert,Quimby,1980-04-12,617-555-0123,rq@example.org",
        "A2,Robert,Quimby,Apr 12th 80,617-555-0123,rq@example.org",  # no format link reads
        "A3,Robert,Quimby,25/12/1984,617-555-0123,rq@example.org",  # day first: linked as typed, with a hint
    ]
    left = write_csv(tmp_path / "a.csv", rows, header=header)
    result = run(tmp_path, "link", str(left), "--out", "dupes.csv")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "a.csv:3: DOB: not a date link reads (YYYY-MM-DD, MM/DD/YYYY, YYYYMMDD); linked without it",
        "a.csv:4: DOB: not a real date as MM/DD/YYYY (day first?); linked with its digits as typed",
    ]
    assert summary(result)[:2] == (3, 0)  # reported, not dropped
    assert ("A1", "A2") in {(r["left_id"], r["right_id"]) for r in read_out(tmp_path / "dupes.csv")}
    for value in ("Apr 12th", "25/12", "Quimby", "617"):
        assert value not in result.stdout + result.stderr


def test_help_and_readme_list_every_column_spelling_and_date_format() -> None:
    from agentdesk.records.dates import CELL_FORMATS
    from agentdesk.records.identity.schema import MATCH_FIELDS
    from agentdesk.records.link_columns import COLUMNS, columns_help

    result = subprocess.run(
        [sys.executable, "-m", "agentdesk", "link", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert columns_help() in result.stdout  # as written, not rewrapped
    for column in COLUMNS:
        for name in (column.name, *column.aliases):
            assert re.search(rf"\b{name}\b", result.stdout), name
    for date_format in CELL_FORMATS:
        assert date_format in result.stdout
    assert set(MATCH_FIELDS) <= {column.name for column in COLUMNS}  # every field the matcher compares is read
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert f"```\n{columns_help()}\n```" in readme, "README: paste columns_help() into the headless tools section"


def test_default_thresholds_mirror_the_schema() -> None:
    from agentdesk.commands import link as linking
    from agentdesk.config.schema import MatchingSettings, TelephonySettings

    matching = MatchingSettings()  # type: ignore[call-arg]
    assert (matching.match_threshold, matching.review_threshold) == (linking.MATCH_THRESHOLD, linking.REVIEW_THRESHOLD)
    assert TelephonySettings().default_region == linking.DEFAULT_REGION  # type: ignore[call-arg]


def test_a_record_matches_at_most_one_record_of_the_other_file(tmp_path: Path) -> None:
    """Two namesakes born three days apart: between two extracts only the better pair is a match, the other goes
    to review; deduplicating one file keeps both, since a file may hold the same person more than twice."""
    left = write_csv(tmp_path / "a.csv", ["A1,Mark,Gonzalez,2006-06-05,M,,,,,,,,"])
    rows = ["B1,Mark,Gonzalez,2006-06-05,M,,,,,,,,", "B2,Mark,Gonzalez,2006-06-08,M,,,,,,,,"]
    right = write_csv(tmp_path / "b.csv", rows)
    result = run(tmp_path, "link", str(left), str(right), "--out", "pairs.csv")
    assert result.returncode == 0, result.stderr
    decisions = {(r["left_id"], r["right_id"]): r["decision"] for r in read_out(tmp_path / "pairs.csv")}
    assert decisions == {("A1", "B1"): "match", ("A1", "B2"): "review"}
    both = write_csv(tmp_path / "both.csv", ["A1,Mark,Gonzalez,2006-06-05,M,,,,,,,,", *rows])
    assert run(tmp_path, "link", str(both), "--out", "dupes.csv").returncode == 0
    assert {r["decision"] for r in read_out(tmp_path / "dupes.csv")} == {"match"}


def _population_csv(path: Path, size: int, seed: int) -> list[str]:
    """A synthetic extract big enough to fit a model on, and the ids of its rows."""
    import random

    rng = random.Random(seed)
    lines, ids = [], []
    for n in range(size):
        record_id = f"P{n:04d}"
        given = rng.choice(["Ava", "Liam", "Noah", "Emma", "Mia", "Lucas", "Zoe", "Owen", "Ella", "Jack"])
        family = "".join(rng.choice("bcdfghjklmnprstvz") + rng.choice("aeiou") for _ in range(3)).title()
        birth = f"{rng.randint(1940, 2010)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        phone = f"617-555-{rng.randint(100, 199):04d}" if n % 2 else ""
        lines.append(f"{record_id},{given},{family},{birth},,{phone},,{n} Elm St,,,0{2100 + n % 50},,")
        ids.append(record_id)
    write_csv(path, lines)
    return ids


def test_fit_saves_a_model_that_model_reuses_and_report_shows_the_stages(tmp_path: Path) -> None:
    _population_csv(tmp_path / "left.csv", 300, 1)
    rows = (tmp_path / "left.csv").read_text(encoding="utf-8").splitlines()[1:]
    copies = [row.replace("P", "C", 1).replace("Elm St", "Elm Street") for row in rows[::2]]
    write_csv(tmp_path / "right.csv", copies)
    truth = tmp_path / "truth.csv"
    truth.write_text("left_id,right_id\n" + "".join(f"P{n:04d},C{n:04d}\n" for n in range(0, 300, 2)), encoding="utf-8")
    fitted = run(
        tmp_path, "link", "left.csv", "right.csv", "--out", "a.csv", "--fit", "model.json", "--truth", "truth.csv"
    )
    assert fitted.returncode == 0, fitted.stderr
    report = fitted.stdout
    for expected in (
        "blocking passes",
        "blocking recall: 1.0000",
        "pairs compared:",
        "model: fitted by EM",
        "time per stage: read",
    ):
        assert expected in report, expected
    assert "matches: precision 1.0000, recall 1.0000" in report
    assert "Elm" not in report and "Ava" not in report  # no values from the files
    model = json.loads((tmp_path / "model.json").read_text(encoding="utf-8"))
    assert model["format"] == "agentdesk-match-model" and model["fitted"]["records"] == 450
    reused = run(tmp_path, "link", "left.csv", "right.csv", "--out", "b.csv", "--model", "model.json", "--report")
    assert reused.returncode == 0, reused.stderr
    assert "model: not fitted here" in reused.stdout
    assert read_out(tmp_path / "a.csv") == read_out(tmp_path / "b.csv")
    (tmp_path / "broken.json").write_text('{"format": "agentdesk-match-model", "version": 1}', encoding="utf-8")
    broken = run(tmp_path, "link", "left.csv", "right.csv", "--out", "c.csv", "--model", "broken.json")
    assert broken.returncode == 1 and "broken.json: prior" in broken.stderr


def test_an_impossible_birth_date_is_reported_and_linked_as_typed(tmp_path: Path) -> None:
    left = write_csv(tmp_path / "a.csv", ["A1,Robert,Smith,1980-04-31,M,(617) 555-0123,,,,,,,"])
    right = write_csv(tmp_path / "b.csv", ["B1,Robert,Smith,1980-04-13,M,617-555-0123,,,,,,,"])
    result = run(tmp_path, "link", str(left), str(right), "--out", "pairs.csv")
    assert result.returncode == 0
    assert result.stderr.splitlines() == ["a.csv:2: birth_date: not a real date; linked with its digits as typed"]
    assert summary(result)[1] == 0  # not a bad row
    assert [r["decision"] for r in read_out(tmp_path / "pairs.csv")] == ["match"]


@pytest.mark.skipif(sys.platform == "win32", reason="named pipes as paths are POSIX")
def test_an_output_that_is_not_a_file_is_written_to_never_replaced(tmp_path: Path) -> None:
    """`--out /dev/null` (or a pipe) must stay what it is: the atomic rename used to put a plain file in its place,
    and run as root that replaced the machine's /dev/null. A named pipe stands in for the device here."""
    import os
    import stat
    import threading

    left, right = write_csv(tmp_path / "left.csv", LEFT), write_csv(tmp_path / "right.csv", RIGHT)
    pipe = tmp_path / "pairs.fifo"
    os.mkfifo(pipe)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_text(encoding="utf-8")), daemon=True)
    reader.start()
    result = run(tmp_path, "link", str(left), str(right), "--out", str(pipe))
    reader.join(10)
    if reader.is_alive():  # nothing was written to the pipe: release the reader before failing
        with pipe.open("w"):
            pass
    assert result.returncode == 0, result.stderr
    assert stat.S_ISFIFO(pipe.stat().st_mode)
    assert received and received[0].splitlines()[0] == "left_id,right_id,score,decision,held"


@pytest.mark.parametrize("enabled", [True, False])
def test_link_leaves_the_cyclic_collector_as_it_found_it(tmp_path: Path, enabled: bool) -> None:
    """`link` turns the collector off for the run (its objects hold no cycles) and back on only once they are
    gone; a caller that had it off (an embedding program, a benchmark) keeps it off, also after a failure."""
    import gc

    from agentdesk.commands.link import run_link

    left, right = write_csv(tmp_path / "left.csv", LEFT), write_csv(tmp_path / "right.csv", RIGHT)
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        assert run_link(left, right, tmp_path / "pairs.csv", None) == 0
        assert gc.isenabled() is enabled
        assert run_link(tmp_path / "missing.csv", None, tmp_path / "pairs2.csv", None) == 1
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
