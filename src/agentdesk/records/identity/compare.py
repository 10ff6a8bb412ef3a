"""Comparators: each compares one field of two `Person`s and returns a level name (exact, nickname, close,
different, ..., or `MISSING` when either side has no value)."""

from __future__ import annotations

from functools import lru_cache

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, JaroWinkler

from agentdesk.records.identity.normalise import Person
from agentdesk.records.identity.schema import MISSING

# Jaro-Winkler at or above which two names are "close" (a typo apart); below it they are "different".
NAME_CLOSE_JW = 0.88
# Token-set ratio (0-100) at or above which two address lines are "close" (same house number required).
ADDRESS_CLOSE_RATIO = 90.0


def compare_given(a: Person, b: Person) -> str:
    """exact / nickname / close (a typo, or a middle name on one side) / truncated ('Jac' for 'Jacqueline') /
    initial / different."""
    return _given_level(a.given, a.given_first, a.given_forms, b.given, b.given_first, b.given_forms)


def compare_family(a: Person, b: Person) -> str:
    """exact / close (a typo, or one part of a double-barrelled name) / different."""
    return _family_level(a.family, a.family_parts, b.family, b.family_parts)


def compare_swapped_names(a: Person, b: Person) -> tuple[str, str]:
    """(given level, family level) with one record's names read the other way round (entered in the wrong boxes).

    Which record is "the wrong way round" is unknown, and the given-name comparator knows nicknames while the
    family-name one does not, so both readings are compared and the better kept: the score stays symmetric."""
    one = (
        _given_level(a.given, a.given_first, a.given_forms, b.family, b.family_first, b.family_forms),
        _family_level(a.family, a.family_parts, b.given, b.given_parts),
    )
    other = (
        _given_level(a.family, a.family_first, a.family_forms, b.given, b.given_first, b.given_forms),
        _family_level(a.given, a.given_parts, b.family, b.family_parts),
    )
    return max(one, other, key=lambda levels: (_name_rank(levels[0]) + _name_rank(levels[1]), _name_rank(levels[0])))


def _given_level(a: str, a_first: str, a_forms: frozenset[str], b: str, b_first: str, b_forms: frozenset[str]) -> str:
    if not a or not b:
        return MISSING
    if a == b:
        return "exact"
    if len(a_first) == 1 or len(b_first) == 1:
        return "initial" if a_first[0] == b_first[0] else "different"
    if a_first == b_first:
        return "close"  # a middle name on one side only
    if a_forms & b_forms:
        return "nickname"
    if _close(a, b):
        return "close"
    return "truncated" if _truncated(a_first, b_first) else "different"


def _truncated(a: str, b: str) -> bool:
    """One name is the start of the other, cut short by a form's field length or a hurried agent ('jac' /
    'jacqueline'): a partial agreement, not another name. Two letters at least: one is an initial."""
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    return 2 <= len(short) < len(long) and long.startswith(short)


def _family_level(a: str, a_parts: frozenset[str], b: str, b_parts: frozenset[str]) -> str:
    if not a or not b:
        return MISSING
    if a == b:
        return "exact"
    if _close(a, b) or not a_parts.isdisjoint(b_parts):
        return "close"
    return "different"


@lru_cache(maxsize=1 << 17)
def _close(a: str, b: str) -> bool:
    # Jaro-Winkler >= 0.88 (Splink's "close" too) catches a typo late in a name of four letters or more; one
    # edit anywhere catches typos early in longer names, where Jaro-Winkler drops faster. Below five letters
    # one edit is too often another name ('jon'/'jan').
    return JaroWinkler.similarity(a, b) >= NAME_CLOSE_JW or (min(len(a), len(b)) >= 5 and OSA.distance(a, b) <= 1)


def compare_birth_date(a: str, b: str) -> str:
    """exact / near (day and month transposed, one digit off, two adjacent digits swapped) / year / different."""
    if not a or not b:
        return MISSING
    if a == b:
        return "exact"
    if a[:4] == b[:4] and a[4:6] == b[6:8] and a[6:8] == b[4:6]:
        return "near"
    diffs = [i for i in range(8) if a[i] != b[i]]
    if len(diffs) == 1:
        return "near"
    if len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]]:
        return "near"
    return "year" if a[:4] == b[:4] else "different"


def compare_address(a: Person, b: Person) -> str:
    """exact / close (token-set ratio >= 90 with the same house number: 'Apt 4' added, 'Stret') / different."""
    if not a.address or not b.address:
        return MISSING
    if a.address == b.address:
        return "exact"
    if a.house_number and b.house_number and a.house_number != b.house_number:
        return "different"  # neighbours on one street are not one address
    return "close" if fuzz.token_set_ratio(a.address, b.address) >= ADDRESS_CLOSE_RATIO else "different"


def compare_postal(a: str, b: str) -> str:
    if not a or not b:
        return MISSING
    if a == b:
        return "exact"
    return "first3" if a[:3] == b[:3] else "different"


def compare_exact(a: str, b: str) -> str:
    if not a or not b:
        return MISSING
    return "exact" if a == b else "different"


def compare_ssn(a: str, b: str) -> str:
    """exact / one_digit (one typo: a digit changed, added or dropped, or two neighbours swapped) / different."""
    if not a or not b:
        return MISSING
    if a == b:
        return "exact"
    return "one_digit" if OSA.distance(a, b) <= 1 else "different"


def compare_mrn(a: Person, b: Person) -> str:
    """exact / different, or `MISSING` when both sources name the MRN's identifier system and the systems
    differ: two hospitals' numbers say nothing about each other."""
    if not a.mrn or not b.mrn:
        return MISSING
    if a.mrn == b.mrn:
        return "exact"
    if a.mrn_system and b.mrn_system and a.mrn_system != b.mrn_system:
        return MISSING
    return "different"


_NAME_RANK = {"exact": 4, "nickname": 3, "close": 2, "truncated": 2, "initial": 1, MISSING: 1, "different": 0}


def _name_rank(level: str) -> int:
    return _NAME_RANK[level]
