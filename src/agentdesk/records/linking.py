"""Linking CSV extracts of people (or deduplicating one) with the identity matcher: reading, pairing, one-to-one.

Bad rows are collected by file, line and column and skipped; the rest is linked. Problems never carry a value
from the file (names, dates, numbers): only line numbers, column names and the reason, because these extracts
are patient data and stderr ends up in tickets and CI logs. The `agentdesk link` command is commands/link.py.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from agentdesk.records.dates import CELL_FORMATS, read_date
from agentdesk.records.identity import Person, person_from_fields
from agentdesk.records.link_columns import COLUMNS, ID_COLUMN, Header, read_header

# Columns read (records/link_columns.py: the id, the fields the matcher compares, city and state, and the other
# spellings of each); any others in the file are ignored with a warning naming them.
KNOWN_COLUMNS: tuple[str, ...] = tuple(column.name for column in COLUMNS)
_COMPARED = tuple(column.name for column in COLUMNS if column.compared and column.name != ID_COLUMN)
MAX_REPORTED_PER_FILE = 100  # a file that is wrong throughout should not bury the summary
_BOM = "\ufeff"
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


def _records(text: str) -> Iterator[tuple[int, list[str] | None]]:
    """(first physical line, cells) of every CSV record; a quoted field may span lines. Cells are None for a
    record the csv module rejects (a field over its size limit): reading goes on with the next line."""
    reader = csv.reader(io.StringIO(text, newline=""))
    next_line = 1
    while True:
        try:
            row: list[str] | None = next(reader)
        except StopIteration:
            return
        except csv.Error:
            row = None  # the error text quotes the data, so it is not passed on
        yield next_line, row
        next_line = reader.line_num + 1


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


def _birth_date(value: str) -> tuple[str, str]:
    """(YYYY-MM-DD or '', the warning or '') for a birth date cell, in any format of `CELL_FORMATS`.

    A date that does not exist (1980-02-30, a typo) keeps its digits: compared digit by digit it is still
    evidence. One that cannot be read at all is dropped, not the row: the other fields still link it."""
    typed = read_date(value)
    if typed is None:
        return "", _UNREADABLE_DATE
    try:
        return typed.iso(), ""
    except ValueError:
        pass
    if "/" in value and typed.month > 12 >= typed.day:  # 25/12/1984: a file from a day-first system
        return typed.as_typed(), "not a real date as MM/DD/YYYY (day first?); linked with its digits as typed"
    return typed.as_typed(), "not a real date; linked with its digits as typed"


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
    records = _records(text)
    header: list[str] = []
    for _line, row in records:
        if row is None:
            raise InputError(f"{path}: the header row is not readable CSV")
        if any(cell.strip() for cell in row):
            header = row
            break
    if not header:
        raise InputError(f"{path}: no header row (expected a first line like 'id,given_name,family_name,...')")
    if any(_has_undecodable(cell) for cell in header):
        raise InputError(f"{path}: the header row is not valid UTF-8")
    columns = _header(path, header)
    extract.warnings = columns.warnings(header)
    positions, labels = columns.positions, columns.labels
    seen_ids: dict[str, int] = {}
    for line, row in records:
        if row is not None and not any(cell.strip() for cell in row):
            continue  # blank lines are not rows
        extract.rows += 1
        if row is None:
            extract.problems.append(RowProblem(name, line, "", "not a readable CSV record (a field is too long)"))
            continue
        if len(row) != len(header):
            extract.problems.append(
                RowProblem(name, line, "", f"{len(row)} columns where the header has {len(header)}")
            )
            continue
        cells = {column: row[position].strip() for column, position in positions.items()}
        problems = _row_problems(cells, seen_ids, check_utf8)
        if problems:
            extract.problems.extend(RowProblem(name, line, labels[column], reason) for column, reason in problems)
            continue
        seen_ids[cells["id"]] = line
        if cells.get("birth_date"):
            cells["birth_date"], warning = _birth_date(cells["birth_date"])
            if warning:
                extract.problems.append(RowProblem(name, line, labels["birth_date"], warning, kept=True))
        extract.ids.append(cells["id"])
        extract.people.append(person_from_fields(cells, region))
    return extract
