"""Blocking: which pairs are worth scoring (shared blocking keys, built on Soundex and normalised values)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache

from agentdesk.records.identity.normalise import Person

_SOUNDEX_CODES = str.maketrans("bfpvcgjkqsxzdtlmnr", "111122222222334556")


@lru_cache(maxsize=65536)
def soundex(name: str) -> str:
    """American Soundex of a normalised name ('robert' -> 'r163', 'ashcraft' -> 'a261'); '' for ''."""
    if not name:
        return ""
    coded: list[str] = []
    previous = name[0].translate(_SOUNDEX_CODES)
    for ch in name[1:]:
        if ch in "hw":
            continue  # h and w do not separate two equal codes; vowels do
        code = ch.translate(_SOUNDEX_CODES)
        if code.isdigit() and code != previous:
            coded.append(code)
        previous = code
    return (name[0] + "".join(coded) + "000")[:4]


BlockingKey = tuple[str, ...]


def blocking_keys(p: Person) -> set[BlockingKey]:
    """Keys two records must share one of to be compared. Each catches pairs the others miss: a new phone or
    e-mail (birth date, names), a mistyped birth date (phone, e-mail, names + postal code), a nickname (the
    canonical given name + the family name's Soundex), swapped names (the two names' prefixes, unordered).
    Tuples, not joined strings: cheaper to build and hash, and no separator can collide with a value."""
    keys: set[BlockingKey] = set()
    if p.phone:
        keys.add(("p", p.phone))
    if p.email:
        keys.add(("e", p.email))
    if p.mrn:
        keys.add(("m", p.mrn))
    if p.ssn:
        keys.add(("s", p.ssn))
    if p.birth_date:
        keys.add(("b", p.birth_date))
    if p.family and p.given:
        if p.birth_date:
            first, second = sorted((p.family[:3], p.given[:3]))
            keys.add(("nn", first, second, p.birth_date[:4]))
        family_code = soundex(p.family)
        keys.update(("gf", given, family_code) for given in p.given_forms)
    if p.postal_code:
        if p.family:
            keys.add(("pc", p.postal_code, p.family[0]))
        if p.given:
            keys.add(("pc", p.postal_code, p.given[0]))
    return keys


def candidate_pairs(
    left: Sequence[Person], right: Sequence[Person] | None = None, max_block: int = 500
) -> Iterator[tuple[int, int]]:
    """Index pairs (i, j) sharing at least one blocking key, each once. Without `right`, pairs i < j of `left`.

    Keys held by more than `max_block` records (a switchboard number, a placeholder) are skipped: they say
    nothing about identity and would make the run quadratic.
    """
    left_keys = [blocking_keys(person) for person in left]
    other_keys = left_keys if right is None else [blocking_keys(person) for person in right]
    index: dict[BlockingKey, list[int]] = {}
    for j, keys in enumerate(other_keys):
        for key in keys:
            index.setdefault(key, []).append(j)
    for key in [k for k, members in index.items() if len(members) > max_block]:
        del index[key]
    for i, keys in enumerate(left_keys):
        found: set[int] = set()
        for key in keys:
            members = index.get(key)
            if members:
                found.update(members)
        if right is None:
            found = {j for j in found if j > i}
        yield from ((i, j) for j in found)  # a set of small ints iterates in a fixed order: output is stable
