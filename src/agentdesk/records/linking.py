"""Linking CSV extracts of people (or deduplicating one) with the identity matcher: reading, pairing, one-to-one.

Bad rows are collected by file, line and column and skipped; the rest is linked. Problems never carry a value
from the file (names, dates, numbers): only line numbers, column names and the reason, because these extracts
are patient data and stderr ends up in tickets and CI logs. The `agentdesk link` command is commands/link.py.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import cast

from agentdesk.records.dates import CELL_FORMATS, read_date
from agentdesk.records.identity import Person, birth_date_digits, normalise_birth_date, people_from_columns
from agentdesk.records.link_columns import COLUMNS, ID_COLUMN, Header, read_header

# Columns read (records/link_columns.py: the id, the fields the matcher compares, city and state, and the other
# spellings of each); any others in the file are ignored with a warning naming them.
KNOWN_COLUMNS: tuple[str, ...] = tuple(column.name for column in COLUMNS)
_COMPARED = tuple(column.name for column in COLUMNS if column.compared and column.name != ID_COLUMN)
MAX_REPORTED_PER_FILE = 100  # a file that is wrong throughout should not bury the summary
_BOM = "\ufeff"
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_UNREADABLE_DATE = f"not a date link reads ({', '.join(CELL_FORMATS)}); linked without it"


class InputError(Exception):
    """An input file that cannot be used at all. The message names the file and the reason, never content."""


@dataclass(frozen=True, slots=True)
class RowProblem:
    file: str
    line: int
    column: str  # '' when the problem is the row as a whole
    reason: str
    kept: bool = False  # a warning: the row is linked anyway

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where}: {self.column}: {self.reason}" if self.column else f"{where}: {self.reason}"


@dataclass
class Extract:
    """The usable rows of one file, normalised for matching."""

    name: str
    warnings: list[str] = field(default_factory=list)  # about the file as a whole (its header), not a row
    ids: list[str] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    rows: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def bad_rows(self) -> int:
        return len({problem.line for problem in self.problems if not problem.kept})


def _records(text: str) -> tuple[list[list[str] | None], Sequence[int]]:
    """The cells of every CSV record and the physical line each starts on (a quoted field may span lines).
    Cells are None for a record the csv module rejects (a field over its size limit): reading goes on with the
    next line."""
    if '"' not in text and "\0" not in text:
        # Without a quote no record spans lines and every comma separates cells, so each line is a record and its
        # cells the text between commas, exactly as the csv module reads it (tests/records/test_linking.py
        # checks), for about two thirds of its cost. Lines end as io.StringIO(newline="") ends them: \r\n, \r, \n.
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        if lines[-1] == "":
            lines.pop()  # the last line's line break, not a line
        if max(map(len, lines), default=0) <= csv.field_size_limit():  # else csv rejects a record: read by csv
            return [line.split(",") if line else [] for line in lines], range(1, len(lines) + 1)
    return _csv_records(text)


def _csv_records(text: str) -> tuple[list[list[str] | None], list[int]]:
    """`_records` by the csv module, for any text."""
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[list[str] | None] = []
    ends = [0]  # the last line of each record; the next one starts on the line after
    while True:
        try:
            # One loop over the reader rather than a next() per record: resumed after a rejected record.
            for row in reader:
                records.append(row)
                ends.append(reader.line_num)
        except csv.Error:
            records.append(None)  # the error text quotes the data, so it is not passed on
            ends.append(reader.line_num)
            continue
        ends.pop()
        return records, [end + 1 for end in ends]


def _has_undecodable(cell: str) -> bool:
    # surrogateescape turns each byte that is not UTF-8 into a lone surrogate U+DC80..U+DCFF.
    return any("\udc80" <= ch <= "\udcff" for ch in cell)


def _row_problems(cells: dict[str, str], seen_ids: dict[str, int], check_utf8: bool) -> list[tuple[str, str]]:
    problems = []
    if check_utf8:
        problems = [(column, "not valid UTF-8") for column, value in cells.items() if _has_undecodable(value)]
    bad_columns = {column for column, _ in problems}
    record_id = cells.get("id", "")
    if "id" not in bad_columns:
        if not record_id:
            problems.append(("id", "missing"))
        elif record_id in seen_ids:
            problems.append(("id", f"duplicate of the id on line {seen_ids[record_id]}"))
    return problems


def _birth_date(cell: str) -> tuple[str, str]:
    """(the birth date as a Person holds it, 'YYYYMMDD' or '', and the warning or '') for a birth date cell in
    any format of `CELL_FORMATS`; a blank cell is ('', '').

    A date that does not exist (1980-02-30, a typo) keeps its digits: compared digit by digit it is still
    evidence. One that cannot be read at all is dropped, not the row: the other fields still link it."""
    value = cell.strip()
    if not value:
        return "", ""
    if _ISO_DATE.fullmatch(value):
        # The common cell, a real date already written YYYY-MM-DD: its digits, without read_date's match and
        # objects, which cost several times more. (fromisoformat reads more than this, so the pattern comes first.)
        try:
            date.fromisoformat(value)
        except ValueError:
            pass  # read below, as any other cell, for the warning
        else:
            return birth_date_digits(value.replace("-", "")), ""
    typed = read_date(value)
    if typed is None:
        return "", _UNREADABLE_DATE
    try:
        return normalise_birth_date(typed.iso()), ""
    except ValueError:
        pass
    if "/" in value and typed.month > 12 >= typed.day:  # 25/12/1984: a file from a day-first system
        return (
            normalise_birth_date(typed.as_typed()),
            "not a real date as MM/DD/YYYY (day first?); linked with its digits as typed",
        )
    return normalise_birth_date(typed.as_typed()), "not a real date; linked with its digits as typed"


def _header(path: Path, cells: list[str]) -> Header:
    """The header's columns; raises InputError when no row could be linked with them."""
    header = read_header(cells)
    if ID_COLUMN not in header.positions:
        # A header without one column we know may be a first row of data: its cells are not named.
        raise InputError(
            f"{path}: the header has no 'id' column (a unique key per row; also read as: "
            f"{', '.join(COLUMNS[0].aliases)}); see agentdesk link --help"
        )
    if not any(column in header.positions for column in _COMPARED):
        unknown = "; ".join(header.warnings(cells)) or "no other column"
        raise InputError(f"{path}: no column link compares ({', '.join(_COMPARED)}): {unknown}")
    return header


def read_extract(path: Path, region: str = "US") -> Extract:
    """Read one CSV extract; raise InputError when the file as a whole is unusable."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file: {exc.strerror or type(exc).__name__}") from None
    try:
        text, check_utf8 = raw.decode("utf-8"), False
    except UnicodeDecodeError:
        # Undecodable bytes become lone surrogates so that the row holding them, not the file, is rejected.
        text, check_utf8 = raw.decode("utf-8", errors="surrogateescape"), True
    text = text.removeprefix(_BOM)
    name = path.name
    extract = Extract(name)
    rows, lines = _records(text)
    header: list[str] = []
    start = len(rows)  # the first row after the header
    for index, row in enumerate(rows):
        if row is None:
            raise InputError(f"{path}: the header row is not readable CSV")
        if any(cell.strip() for cell in row):
            header, start = row, index + 1
            break
    if not header:
        raise InputError(f"{path}: no header row (expected a first line like 'id,given_name,family_name,...')")
    if any(_has_undecodable(cell) for cell in header):
        raise InputError(f"{path}: the header row is not valid UTF-8")
    columns = _header(path, header)
    extract.warnings = columns.warnings(header)
    positions, labels = columns.positions, columns.labels
    # The rows are checked (all at once; one by one when some row is bad, as its problems name its line), then the
    # good ones normalised a column at a time (people_from_columns): a dict of cells and a Person built from it
    # per row cost most of the reading.
    width = len(header)
    body, body_lines = rows[start:], lines[start:]
    ids = None if check_utf8 else _ids_of_good_rows(body, positions[ID_COLUMN], width)
    kept: Sequence[list[str]]
    kept_lines: Sequence[int]
    if ids is None:
        kept, kept_lines = _good_rows(extract, body, body_lines, columns, width, check_utf8)
    else:  # every row good, as in most extracts: nothing to report, every row kept
        extract.rows, extract.ids = len(ids), ids
        kept, kept_lines = cast("list[list[str]]", body), body_lines
    cells_by_position = list(zip(*kept, strict=True)) if kept else [()] * width
    # The columns a Person is made of (city and state are not). Not trimmed: the normalisers ignore the spaces
    # around a value (tests/records/test_identity.py checks), so the same people come out without a strip per cell.
    fields: dict[str, Sequence[str]] = {
        column: cells_by_position[positions[column]] for column in _COMPARED if column in positions
    }
    birth_dates = None
    if "birth_date" in fields:
        birth_dates, warnings = _birth_dates(fields.pop("birth_date"))
        if warnings:
            # A kept row's warning goes among the skipped rows' problems by its line, as when read row by row.
            kept_warnings = (
                RowProblem(name, kept_lines[index], labels["birth_date"], warning, kept=True)
                for index, warning in warnings
            )
            extract.problems = sorted([*extract.problems, *kept_warnings], key=attrgetter("line"))
    extract.people = people_from_columns(fields, region, birth_dates=birth_dates)
    return extract


def _ids_of_good_rows(rows: list[list[str] | None], id_at: int, width: int) -> list[str] | None:
    """The rows' ids when every row is a CSV record of the header's width with an id no other row has (so none
    is blank either), else None: found a column at a time in C rather than row by row."""
    if not rows or None in rows:
        return None
    records = cast("list[list[str]]", rows)  # None is not among them
    if set(map(len, records)) != {width}:
        return None
    ids = list(map(str.strip, map(itemgetter(id_at), records)))
    return ids if "" not in ids and len(set(ids)) == len(ids) else None


def _good_rows(
    extract: Extract,
    rows: list[list[str] | None],
    lines: Sequence[int],
    columns: Header,
    width: int,
    check_utf8: bool,
) -> tuple[list[list[str]], list[int]]:
    """The rows to link and their lines, checked one by one; the rows counted, the kept rows' ids and the
    others' problems (by line and column, never a value) go to `extract`."""
    name, positions, labels = extract.name, columns.positions, columns.labels
    id_at = positions[ID_COLUMN]
    seen_ids: dict[str, int] = {}  # id -> its line; in the order of the rows kept, so also their ids in order
    kept: list[list[str]] = []
    kept_lines: list[int] = []
    for row, line in zip(rows, lines, strict=True):
        if row is None:
            extract.rows += 1
            extract.problems.append(RowProblem(name, line, "", "not a readable CSV record (a field is too long)"))
            continue
        record_id = row[id_at].strip() if len(row) == width else ""
        if not record_id and not "".join(row).strip():
            continue  # blank lines are not rows (a row with an id is not blank: no need to look at all its cells)
        extract.rows += 1
        if len(row) != width:
            extract.problems.append(RowProblem(name, line, "", f"{len(row)} columns where the header has {width}"))
            continue
        if check_utf8 or not record_id or record_id in seen_ids:
            cells = {column: row[position].strip() for column, position in positions.items()}
            problems = _row_problems(cells, seen_ids, check_utf8)
            if problems:
                extract.problems.extend(RowProblem(name, line, labels[column], reason) for column, reason in problems)
                continue
        seen_ids[record_id] = line
        kept.append(row)
        kept_lines.append(line)
    extract.ids = list(seen_ids)
    return kept, kept_lines


def _birth_dates(cells: Sequence[str]) -> tuple[list[str], list[tuple[int, str]]]:
    """The birth date column read with `_birth_date` once per distinct cell (birth days repeat), as a Person
    holds it; and the (row index, warning) of every cell with a warning."""
    read = {cell: _birth_date(cell) for cell in set(cells)}
    column = list(map(itemgetter(0), map(read.__getitem__, cells)))
    if not any(map(itemgetter(1), read.values())):
        return column, []
    return column, [(index, read[cell][1]) for index, cell in enumerate(cells) if read[cell][1]]
