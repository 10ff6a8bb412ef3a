"""records/linking.py: reading CSV extracts. The reader checks rows one by one and normalises the kept ones a
column at a time; these tests hold it to the plain reading (the csv module record by record, a dict of trimmed
cells and `person_from_fields` per row), down to the problems and their order. All values are synthetic."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from agentdesk.records.dates import read_date
from agentdesk.records.identity import person_from_fields
from agentdesk.records.linking import (
    _UNREADABLE_DATE,
    Extract,
    RowProblem,
    _csv_records,
    _header,
    _records,
    _row_problems,
    read_extract,
)

_LINE_TEXT = st.text(alphabet=list("ab1, \t\r\n\u2028\x85\x0c\x1c\x0b"), max_size=80)


@settings(max_examples=400, deadline=None)
@given(text=_LINE_TEXT)
def test_text_without_quotes_is_read_as_the_csv_module_reads_it(text: str) -> None:
    records, lines = _records(text)
    assert (records, list(lines)) == _csv_records(text)


def test_a_field_over_the_csv_limit_is_rejected_with_or_without_quotes() -> None:
    limit = csv.field_size_limit(10)
    try:
        for long in ("x" * 11, '"' + "x" * 11 + '"'):
            records, lines = _records(f"a,b\r\n{long},c\nd\n")
            assert (records, list(lines)) == ([["a", "b"], None, ["d"]], [1, 2, 3])
    finally:
        csv.field_size_limit(limit)


def _typed_birth_date(value: str) -> tuple[str, str]:
    """The birth date reading of the row-by-row reader: (YYYY-MM-DD or '', warning or '')."""
    typed = read_date(value)
    if typed is None:
        return "", _UNREADABLE_DATE
    try:
        return typed.iso(), ""
    except ValueError:
        pass
    if "/" in value and typed.month > 12 >= typed.day:
        return typed.as_typed(), "not a real date as MM/DD/YYYY (day first?); linked with its digits as typed"
    return typed.as_typed(), "not a real date; linked with its digits as typed"


def _row_by_row(path: Path, region: str = "US") -> Extract:
    """The plain reading `read_extract` must agree with (for files whose header row is usable)."""
    raw = path.read_bytes()
    try:
        text, check_utf8 = raw.decode("utf-8"), False
    except UnicodeDecodeError:
        text, check_utf8 = raw.decode("utf-8", errors="surrogateescape"), True
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    records: list[tuple[int, list[str] | None]] = []
    next_line = 1
    while True:
        try:
            row: list[str] | None = next(reader)
        except StopIteration:
            break
        except csv.Error:
            row = None
        records.append((next_line, row))
        next_line = reader.line_num + 1
    start = next(i for i, (_, row) in enumerate(records) if row is not None and any(c.strip() for c in row))
    header = records[start][1]
    assert header is not None
    columns = _header(path, header)
    extract = Extract(path.name, warnings=columns.warnings(header))
    seen_ids: dict[str, int] = {}
    for line, row in records[start + 1 :]:
        if row is not None and not any(cell.strip() for cell in row):
            continue
        extract.rows += 1
        if row is None:
            extract.problems.append(RowProblem(path.name, line, "", "not a readable CSV record (a field is too long)"))
            continue
        if len(row) != len(header):
            reason = f"{len(row)} columns where the header has {len(header)}"
            extract.problems.append(RowProblem(path.name, line, "", reason))
            continue
        cells = {column: row[position].strip() for column, position in columns.positions.items()}
        problems = _row_problems(cells, seen_ids, check_utf8)
        if problems:
            extract.problems.extend(
                RowProblem(path.name, line, columns.labels[column], reason) for column, reason in problems
            )
            continue
        seen_ids[cells["id"]] = line
        if cells.get("birth_date"):
            cells["birth_date"], warning = _typed_birth_date(cells["birth_date"])
            if warning:
                extract.problems.append(RowProblem(path.name, line, columns.labels["birth_date"], warning, kept=True))
        extract.ids.append(cells["id"])
        extract.people.append(person_from_fields(cells, region))
    return extract


_IDS = st.sampled_from(["", " ", "A1", "A2", " A1 ", "B7", "b7", "C\u00e9"]) | st.text(max_size=4)
_VALUES = st.sampled_from(
    [
        "",
        "  ",
        "Robert",
        " O'Brien Jr ",
        "Ana María",
        "Unknown",
        "1980-04-12",
        " 1980-04-12",
        "04/12/1980",
        "4/5/1980",
        "19800412",
        "1980-02-30",
        "25/12/1984",
        "02/30/1984",
        "1900-01-01",
        "0000-01-01",
        "4 Dec 80",
        "F",
        "male",
        "(617) 555-0123",
        "+1 617 555 0123",
        "000-000-0000",
        "bob@example.org",
        "12 North Main Street",
        "02134-1234",
        "MRN 0042",
        "912-34-5678",
        'say "hi"',
        "a,b",
        "two\nlines",
    ]
) | st.text(max_size=12)
_NAMES = ("given_name", "family_name", "birth_date", "sex", "phone", "email", "address_line")
_NAMES += ("city", "postal_code", "mrn", "ssn", "Date of Birth", "surname", "extra")


@st.composite
def _extract_bytes(draw: st.DrawFn) -> bytes:
    compared = draw(st.sampled_from(_NAMES[:7]))  # a header with none is refused as a whole (InputError)
    others = draw(st.lists(st.sampled_from([name for name in _NAMES if name != compared]), max_size=5, unique=True))
    header = draw(st.permutations(["id", compared, *others]))
    lines: list[bytes] = [",".join(header).encode()]
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["row", "row", "row", "row", "blank", "short", "latin-1"]))
        if kind == "blank":
            lines.append(draw(st.sampled_from([b"", b" ", b" , ,\t"])))
            continue
        width = len(header) + (draw(st.sampled_from([-1, 1])) if kind == "short" else 0)
        cells = [draw(_IDS) if name == "id" else draw(_VALUES) for name in header][: max(width, 0)]
        cells += [draw(_VALUES) for _ in range(width - len(cells))]
        stream = io.StringIO()
        csv.writer(stream, lineterminator="").writerow(cells)  # quotes a cell only when it has to
        lines.append(stream.getvalue().encode("latin-1" if kind == "latin-1" else "utf-8", errors="replace"))
    ending = draw(st.sampled_from([b"\n", b"\r\n", b"\r"]))
    return ending.join(lines) + draw(st.sampled_from([b"", ending]))


@settings(max_examples=300, deadline=None)
@given(content=_extract_bytes())
def test_read_extract_gives_what_reading_row_by_row_gives(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "left.csv"
        path.write_bytes(content)
        read, expected = read_extract(path), _row_by_row(path)
    assert read.ids == expected.ids
    assert read.people == expected.people
    assert (read.rows, read.bad_rows, read.warnings) == (expected.rows, expected.bad_rows, expected.warnings)
    assert read.problems == expected.problems  # the same problems, in the same order
