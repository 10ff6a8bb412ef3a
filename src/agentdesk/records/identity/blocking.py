"""Blocking: which pairs are worth scoring. Several passes, each a kind of key two records must share; a pair is
compared when any pass puts it in one block, so a typo in one field only loses the passes built on that field.

Passes (chosen by which fields the records have; `choose_passes`):

* exact values of strong single fields: phone, e-mail, MRN;
* one-typo neighbourhoods of identifiers and birth dates: the value and every form of it with one character
  deleted, so two values one substitution, insertion, deletion or neighbour swap apart share a key (a date's
  forms with the family name's initial); birth dates also by year with day and month in either order;
* phonetic names: a given name (or the canonical name a nickname stands for) with the family name's Soundex,
  both Soundex codes, and the two names' prefixes unordered with the birth year (names in the wrong boxes);
* place: postal code with either name's initial, house number with the street's Soundex.

Blocks larger than `max_block` are dropped (a switchboard number, a placeholder, a very common name): they say
little about identity and would make the run quadratic. Keys are tuples whose first item names the pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
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


@lru_cache(maxsize=65536)
def one_typo_forms(value: str) -> tuple[str, ...]:
    """The value and each form of it with one character deleted: two values one edit (or one swap of neighbours)
    apart always share one of these."""
    return (value, *{value[:i] + value[i + 1 :] for i in range(len(value))})


BlockingKey = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BlockingPass:
    """One kind of blocking key: `tag` (the keys' first item), what it is, the `Person` fields it needs."""

    tag: str
    description: str
    fields: tuple[str, ...]
    keys: Callable[[Person], Iterable[BlockingKey]]


def _phone(p: Person) -> Iterable[BlockingKey]:
    return (("p", p.phone),) if p.phone else ()


def _email(p: Person) -> Iterable[BlockingKey]:
    return (("e", p.email),) if p.email else ()


def _mrn(p: Person) -> Iterable[BlockingKey]:
    return (("m", p.mrn),) if p.mrn else ()


def _ssn(p: Person) -> Iterable[BlockingKey]:
    return [("s", form) for form in one_typo_forms(p.ssn)] if p.ssn else ()


def _birth(p: Person) -> Iterable[BlockingKey]:
    b = p.birth_date
    if not b:
        return ()
    keys: list[BlockingKey] = [("b", b), ("b", b[:4], *sorted((b[4:6], b[6:8])))]  # exact; day and month swapped
    # A mistyped date with the family name's initial: one typo covers ten dates, so the initial keeps blocks
    # small (a pair with both mistyped is left to the other passes).
    initial = p.family[:1] or p.given[:1]
    keys.extend(("b", form, initial) for form in one_typo_forms(b)[1:])
    return keys


def _names(p: Person) -> Iterable[BlockingKey]:
    if not (p.family and p.given):
        return ()
    family_code = soundex(p.family)
    keys: list[BlockingKey] = [("n", given, family_code) for given in p.given_forms]
    keys.append(("n", soundex(p.given), family_code))
    if p.birth_date:
        first, second = sorted((p.family[:3], p.given[:3]))
        keys.append(("n", first, second, p.birth_date[:4]))
    return keys


def _place(p: Person) -> Iterable[BlockingKey]:
    keys: list[BlockingKey] = []
    if p.postal_code:
        if p.family:
            keys.append(("a", p.postal_code, p.family[0]))
        if p.given:
            keys.append(("a", p.postal_code, p.given[0]))
    if p.house_number and p.address:
        street = p.address.split(" ", 2)
        if len(street) > 1:
            keys.append(("a", p.house_number, soundex(street[1])))
    return keys


PASSES: tuple[BlockingPass, ...] = (
    BlockingPass("p", "phone (exact)", ("phone",), _phone),
    BlockingPass("e", "e-mail (exact)", ("email",), _email),
    BlockingPass("m", "MRN (exact)", ("mrn",), _mrn),
    BlockingPass("s", "SSN or national id (one typo)", ("ssn",), _ssn),
    BlockingPass("b", "birth date (one typo, day/month swapped)", ("birth_date",), _birth),
    BlockingPass("n", "names (nicknames, Soundex, swapped)", ("given", "family"), _names),
    BlockingPass("a", "place (postal code + initial, house number + street)", ("postal_code", "address"), _place),
)


def choose_passes(*populations: Sequence[Person], min_share: float = 0.01) -> tuple[BlockingPass, ...]:
    """The passes whose fields at least `min_share` of the records of every population have (any one of the
    pass's fields): an extract without phones gets no phone pass, one without birth dates no date pass."""
    chosen = []
    for blocking_pass in PASSES:
        if all(_share(people, blocking_pass.fields) >= min_share for people in populations if people):
            chosen.append(blocking_pass)
    return tuple(chosen)


def _share(people: Sequence[Person], fields: tuple[str, ...]) -> float:
    step = max(1, len(people) // 2000)  # a sample is enough to tell a column that is there from one that is not
    sample = people[::step]
    return sum(any(getattr(p, f) for f in fields) for p in sample) / len(sample)


def person_keys(p: Person, passes: Sequence[BlockingPass] = PASSES) -> set[BlockingKey]:
    keys: set[BlockingKey] = set()
    for blocking_pass in passes:
        keys.update(blocking_pass.keys(p))
    return keys


def blocking_keys(p: Person) -> set[BlockingKey]:
    """Every pass's keys for one record."""
    return person_keys(p)


@dataclass
class Blocking:
    """The candidate pairs of one run and what the passes did (for fitting and `link --report`)."""

    pairs: list[tuple[int, int]]
    passes: tuple[BlockingPass, ...]
    by_pass: dict[str, list[int]]  # pass tag -> indexes into `pairs` of the pairs that pass found
    left_keys: list[set[BlockingKey]]
    right_keys: list[set[BlockingKey]]
    dropped_blocks: int  # blocks over the size cap, not used


def block(
    left: Sequence[Person],
    right: Sequence[Person] | None = None,
    passes: Sequence[BlockingPass] | None = None,
    max_block: int = 100,
) -> Blocking:
    """Index pairs (i, j) sharing at least one blocking key, each once. Without `right`, pairs i < j of `left`."""
    chosen = tuple(passes) if passes is not None else choose_passes(left, *(() if right is None else (right,)))
    left_keys = [person_keys(person, chosen) for person in left]
    right_keys = left_keys if right is None else [person_keys(person, chosen) for person in right]
    index: dict[BlockingKey, list[int]] = {}
    for j, keys in enumerate(right_keys):
        for key in keys:
            members = index.get(key)
            if members is None:
                index[key] = [j]
            else:
                members.append(j)
    oversized = [k for k, members in index.items() if len(members) > max_block]
    for key in oversized:
        del index[key]
    pairs: list[tuple[int, int]] = []
    bits = {p.tag: 1 << k for k, p in enumerate(chosen)}
    found_by_bits: dict[int, list[int]] = {}  # which passes found a pair (a bit each) -> indexes into `pairs`
    for i, keys in enumerate(left_keys):
        found: dict[int, int] = {}
        for key in keys:
            members = index.get(key)
            if members:
                bit = bits[key[0]]
                for j in members:
                    found[j] = found.get(j, 0) | bit
        for j in sorted(found):
            if right is None and j <= i:
                continue
            mask = found[j]
            at = found_by_bits.get(mask)
            if at is None:
                found_by_bits[mask] = [len(pairs)]
            else:
                at.append(len(pairs))
            pairs.append((i, j))
    by_pass: dict[str, list[int]] = {}
    for p in chosen:
        bit = bits[p.tag]
        by_pass[p.tag] = sorted(k for mask, at in found_by_bits.items() if mask & bit for k in at)
    return Blocking(pairs, chosen, by_pass, left_keys, right_keys, len(oversized))


def candidate_pairs(
    left: Sequence[Person], right: Sequence[Person] | None = None, max_block: int = 100
) -> list[tuple[int, int]]:
    """The pairs `block` finds with the passes the records' fields allow."""
    return block(left, right, max_block=max_block).pairs
