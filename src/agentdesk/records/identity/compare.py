"""Comparators: each compares one field of two `Person`s and returns a level name (exact, nickname, close,
different, ..., or `MISSING` when either side has no value)."""

from __future__ import annotations

from collections.abc import Callable

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
    # The better reading by the names' ranks summed, then the given name's; the first on a tie (as `max` keeps).
    rank = _NAME_RANK
    if (rank[other[0]] + rank[other[1]], rank[other[0]]) > (rank[one[0]] + rank[one[1]], rank[one[0]]):
        return other
    return one


def _given_level(
    a: str,
    a_first: str,
    a_forms: frozenset[str],
    b: str,
    b_first: str,
    b_forms: frozenset[str],
    two_names: Callable[[str, str], bool] | None = None,
) -> str:
    """`two_names(a, b)`: the two spellings are two names (each one many records hold), not a typo: close
    spellings are then "truncated" or "different" (the matcher's check against the population's names; a middle
    name on one side only is not this: the first names agree)."""
    if not a or not b:
        return MISSING
    if a == b:
        return "exact"
    if len(a_first) == 1 or len(b_first) == 1:
        return "initial" if a_first[0] == b_first[0] else "different"
    if a_first == b_first:
        return "close"  # a middle name on one side only
    if not a_forms.isdisjoint(b_forms):
        return "nickname"
    if _close(a, b) and (two_names is None or not two_names(a, b)):
        return "close"
    # A typo is a spelling no one else uses: two close spellings that are each a name many records hold
    # (Charlotte and Charles) are two names, however alike they look, unless one is cut short (Dan, Dana).
    # Most pairs of a batch get here with another name altogether, whose first letter differs: not cut short.
    return "truncated" if a_first[:1] == b_first[:1] and _truncated(a_first, b_first) else "different"


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


def _close(a: str, b: str) -> bool:
    # Jaro-Winkler >= 0.88 (Splink's "close" too) catches a typo late in a name of four letters or more; one
    # edit anywhere catches typos early in longer names, where Jaro-Winkler drops faster. Below five letters
    # one edit is too often another name ('jon'/'jan').
    # Two cheap necessary conditions for one edit spare most pairs the call: an edit changes the length by one
    # at most, and leaves the first or the last letter in place (in names of five letters or more).
    # Not cached: a batch's pairs seldom repeat a pair of spellings (a fifth of the candidate pairs, a tenth of
    # random ones), and keeping each pair in a cache cost more than the comparisons it saved.
    if _jaro_winkler(a, b) >= NAME_CLOSE_JW:
        return True
    size_a, size_b = len(a), len(b)
    return (
        size_a >= 5
        and size_b >= 5
        and -1 <= size_a - size_b <= 1
        and (a[0] == b[0] or a[-1] == b[-1])
        and _osa(a, b) <= 1
    )


# Bound once: `_close` runs for most pairs of a batch, and the attribute lookups were a good part of its time.
_jaro_winkler, _osa = JaroWinkler.similarity, OSA.distance


def compare_birth_date(a: str, b: str) -> str:
    """exact / near (day and month transposed, one digit off, two adjacent digits swapped) / year / different."""
    if not a or not b:
        return MISSING
    if a == b:
        return "exact"
    return _dates_apart(a, b)


def _dates_apart(a: str, b: str) -> str:
    """`compare_birth_date` of two differing dates ('YYYYMMDD'). Most pairs of a batch differ in the year and
    the day: settled by comparing halves, the digits are looked at one by one only within the half that
    differs."""
    if len(a) != 8 or len(b) != 8:
        return _dates_apart_by_digit(a, b)
    if a[:4] == b[:4]:
        if a[4:6] == b[6:8] and a[6:8] == b[4:6]:
            return "near"  # day and month transposed
        return "near" if _one_typo(a[4:], b[4:]) else "year"
    if a[4:] == b[4:]:
        return "near" if _one_typo(a[:4], b[:4]) else "different"
    # Both halves differ: near only when the digits either side of the middle are swapped.
    return "near" if a[3] == b[4] and a[4] == b[3] and a[:3] == b[:3] and a[5:] == b[5:] else "different"


def _one_typo(a: str, b: str) -> bool:
    """Two differing strings of one length are one typo apart: from the first character that differs, the rest
    agrees (one character changed) or that character and the next are swapped and the rest agrees."""
    i = 0
    while a[i] == b[i]:
        i += 1
    return a[i + 1 :] == b[i + 1 :] or (a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :])


def _dates_apart_by_digit(a: str, b: str) -> str:
    """The definition `_dates_apart` follows, digit by digit (dates of another length than 8 end here)."""
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
