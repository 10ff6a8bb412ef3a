"""Birth dates as people type them: the one reader behind the desk's search box and `agentdesk link`.

The search box finds a date inside free text ('Lopez, Ana 2/3/1984'); `link` reads a whole CSV cell. Both accept
YYYY-MM-DD and MM/DD/YYYY (slashes are read month first, as US systems write them); a cell also accepts
YYYYMMDD (HL7 v2 and FEBRL write dates so), which in free text would be taken for an MRN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

# The formats, in the words `--help` and the README use; SEARCH_FORMATS is what the search box accepts.
SEARCH_FORMATS: tuple[str, ...] = ("YYYY-MM-DD", "MM/DD/YYYY")
CELL_FORMATS: tuple[str, ...] = (*SEARCH_FORMATS, "YYYYMMDD")

_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b|\b(\d{1,2})/(\d{1,2})/(\d{4})\b")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")


@dataclass(frozen=True, slots=True)
class TypedDate:
    """A date as typed, which may not exist (1980-02-30); start and end locate it in the text it was found in."""

    year: int
    month: int
    day: int
    start: int
    end: int

    def iso(self) -> str:
        """YYYY-MM-DD; raises ValueError for a date that does not exist."""
        return date(self.year, self.month, self.day).isoformat()

    def as_typed(self) -> str:
        """YYYY-MM-DD with the digits as typed, even when the date does not exist."""
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"


def _typed(found: re.Match[str]) -> TypedDate:
    if found.group(1):
        year, month, day = int(found.group(1)), int(found.group(2)), int(found.group(3))
    else:
        month, day, year = int(found.group(4)), int(found.group(5)), int(found.group(6))
    return TypedDate(year, month, day, found.start(), found.end())


def find_date(text: str) -> TypedDate | None:
    """The first YYYY-MM-DD or MM/DD/YYYY date in free text, or None."""
    found = _DATE.search(text)
    return None if found is None else _typed(found)


def read_date(cell: str) -> TypedDate | None:
    """A cell that holds a date and nothing else (YYYY-MM-DD, MM/DD/YYYY or YYYYMMDD), or None."""
    cell = cell.strip()
    found = _DATE.fullmatch(cell)
    if found is not None:
        return _typed(found)
    compact = _COMPACT.fullmatch(cell)
    if compact is None:
        return None
    year, month, day = (int(part) for part in compact.groups())
    return TypedDate(year, month, day, 0, len(cell))
