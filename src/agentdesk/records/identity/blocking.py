"""Blocking: which pairs are worth scoring. Several passes, each a kind of key two records must share; a pair is
compared when any pass puts it in one block, so a typo in one field only loses the passes built on that field.

Passes (chosen by which fields the records have; `choose_passes`):

* exact values of strong single fields: phone, e-mail, MRN;
* one-typo neighbourhoods of identifiers: the value and every form of it with one character deleted, so two
  values one substitution, insertion, deletion or neighbour swap apart share a key;
* birth dates by year with day and month in either order (which holds the exact date), and with one part
  (year, month or day) left out or the digits beside the parts' boundaries in order, with the given name's
  Soundex: one part mistyped or wrong, or two neighbouring digits swapped, still meets;
* phonetic names: a given name (or the canonical name a nickname stands for) with the family name's Soundex,
  both Soundex codes, and the two names' prefixes unordered with the birth year (names in the wrong boxes);
* place: postal code with either name's initial, house number with the street's Soundex.

Blocks larger than `max_block` are dropped (a switchboard number, a placeholder, a very common name): they say
little about identity and would make the run quadratic. A record's keys (`person_keys`) are (pass tag, key) pairs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import compress, repeat
from operator import add, attrgetter, mul

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


BlockingKey = tuple[str, str]  # (pass tag, key within the pass)
# One pass's keys for a list of records, flat: keys[k] belongs to row rows[k] (a row may have several keys).
PassKeys = tuple[list[str], list[int]]


@dataclass(frozen=True, slots=True)
class BlockingPass:
    """One kind of blocking key: `tag`, what it is, the `Person` fields it needs, and `keys`, which works out the
    keys of a whole list of records at once (column by column: a list comprehension per kind of key costs a
    fraction of a function call per record). A record holds each of a pass's keys once: `block` tells a key
    several records hold by its being listed more than once."""

    tag: str
    description: str
    fields: tuple[str, ...]
    keys: Callable[[Sequence[Person]], PassKeys]


def _rows_with(people: Sequence[Person], attribute: str) -> tuple[list[int], list[str]]:
    """The rows that have a value for `attribute`, and their values."""
    values = list(map(attrgetter(attribute), people))
    rows = [row for row, value in enumerate(values) if value]
    return rows, [values[row] for row in rows]


def _exact(attribute: str) -> Callable[[Sequence[Person]], PassKeys]:
    def keys(people: Sequence[Person]) -> PassKeys:
        rows, values = _rows_with(people, attribute)
        return values, rows

    return keys


def _ssn(people: Sequence[Person]) -> PassKeys:
    keys: list[str] = []
    rows: list[int] = []
    for row, value in zip(*_rows_with(people, "ssn"), strict=True):
        forms = one_typo_forms(value)
        keys.extend(forms)
        rows.extend([row] * len(forms))
    return keys, rows


def _birth(people: Sequence[Person]) -> PassKeys:
    """The year with day and month in either order ('19610723': the date itself, or the two swapped), and the
    date with one of its parts left out, with the Soundex of the given name's first word (the family name's
    without one): the year's last two digits ('y190723|h630'), the month ('m196123|h630') or the day
    ('d196107|h630'), so that two dates that differ in one part share a key (a digit changed, two neighbours
    within it swapped, a day, month or year wrong altogether); and the date with the two digits either side of
    the year/month and of the month/day boundary each in order ('x19601723|h630'), for neighbours swapped
    across parts (1961-12-03, 1961-10-23).

    The given name, not the family name: every name pass keys on the family name, so this pass is the one that
    finds a record whose family name changed (marriage) or was garbled. Its Soundex keeps blocks small where an
    initial would not (two random records share a year and a day with one in ~15 initials, one in hundreds of
    sounds); a mistyped date with a given name that no longer sounds alike (a nickname: Bob, Robert) is left to
    the name passes, and so is a typo in the century (no other date in a register is one typo from it)."""
    rows, dates = _rows_with(people, "birth_date")
    marks = [f"|{soundex(p.given_first) or soundex(p.family)}" for p in map(people.__getitem__, rows)]
    # day and month in either order: the date itself when the month is not the larger (no new string)
    keys = [b if b[4:6] <= b[6:] else b[:4] + b[6:] + b[4:6] for b in dates]
    # One letter a kind of key: the kinds never spell one another, nor the date.
    keys += [f"y{b[:2]}{b[4:]}{mark}" for b, mark in zip(dates, marks, strict=True)]
    keys += [f"m{b[:4]}{b[6:]}{mark}" for b, mark in zip(dates, marks, strict=True)]
    keys += [f"d{b[:6]}{mark}" for b, mark in zip(dates, marks, strict=True)]
    keys += [
        f"x{b[:3]}{b[3:5] if b[3] <= b[4] else b[4] + b[3]}{b[5:7] if b[5] <= b[6] else b[6] + b[5]}{b[7:]}{mark}"
        for b, mark in zip(dates, marks, strict=True)
    ]
    return keys, rows * 5


def _names(people: Sequence[Person]) -> PassKeys:
    """A given name (or the canonical name a nickname stands for) with the family name's Soundex ('bob r163'),
    both Soundex codes ('r163 r163': letters and digits, never a name), and the two names' first three letters
    in order with the birth year ('har/qui/1961': names in the wrong boxes)."""
    rows = [row for row, p in enumerate(people) if p.family and p.given]
    named = [people[row] for row in rows]
    codes = [soundex(p.family) for p in named]
    keys = [f"{given} {code}" for p, code in zip(named, codes, strict=True) for given in p.given_forms]
    key_rows = [row for p, row in zip(named, rows, strict=True) for _ in p.given_forms]
    keys += [f"{soundex(p.given)} {code}" for p, code in zip(named, codes, strict=True)]
    key_rows += rows
    dated = [(p, row) for p, row in zip(named, rows, strict=True) if p.birth_date]
    keys += [f"{min(p.family[:3], p.given[:3])}/{max(p.family[:3], p.given[:3])}/{p.birth_date[:4]}" for p, _ in dated]
    key_rows += [row for _, row in dated]
    return keys, key_rows


def _place(people: Sequence[Person]) -> PassKeys:
    """Postal code with either name's initial ('2602|q'), house number with the street's Soundex ('12#m500')."""
    keys: list[str] = []
    rows: list[int] = []
    for row, p in enumerate(people):
        if p.postal_code:
            if p.family:
                keys.append(f"{p.postal_code}|{p.family[0]}")
                rows.append(row)
            if p.given and p.given[0] != p.family[:1]:
                keys.append(f"{p.postal_code}|{p.given[0]}")
                rows.append(row)
        if p.house_number and p.address:
            street = p.address.split(" ", 2)
            if len(street) > 1:
                keys.append(f"{p.house_number}#{soundex(street[1])}")
                rows.append(row)
    return keys, rows


PASSES: tuple[BlockingPass, ...] = (
    BlockingPass("p", "phone (exact)", ("phone",), _exact("phone")),
    BlockingPass("e", "e-mail (exact)", ("email",), _exact("email")),
    BlockingPass("m", "MRN (exact)", ("mrn",), _exact("mrn")),
    BlockingPass("s", "SSN or national id (one typo)", ("ssn",), _ssn),
    BlockingPass("b", "birth date (one part wrong, day/month swapped)", ("birth_date",), _birth),
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
    values = map(attrgetter(*fields), sample)  # a value, or a tuple of them for a pass on several fields
    having = sum(map(bool, values)) if len(fields) == 1 else sum(map(any, values))
    return having / len(sample)


def person_keys(p: Person, passes: Sequence[BlockingPass] = PASSES) -> set[BlockingKey]:
    """One record's keys, each with its pass's tag."""
    return {(blocking_pass.tag, key) for blocking_pass in passes for key in blocking_pass.keys((p,))[0]}


def blocking_keys(p: Person) -> set[BlockingKey]:
    """Every pass's keys for one record."""
    return person_keys(p)


@dataclass
class Blocking:
    """The candidate pairs of one run and what the passes did (for fitting and `link --report`)."""

    pairs: list[tuple[int, int]]
    passes: tuple[BlockingPass, ...]
    by_pass: dict[str, list[int]]  # pass tag -> indexes into `pairs` of the pairs that pass found
    dropped_blocks: int  # blocks over the size cap, not used
    left: Sequence[Person] = ()
    right: Sequence[Person] | None = None  # None: a deduplication of `left`

    @cached_property
    def left_keys(self) -> list[set[BlockingKey]]:
        """Each left record's keys (worked out again when asked: the run itself never holds them per record)."""
        return [person_keys(person, self.passes) for person in self.left]

    @cached_property
    def right_keys(self) -> list[set[BlockingKey]]:
        if self.right is None:
            return self.left_keys
        return [person_keys(person, self.passes) for person in self.right]


def _rows_by_key(keys: list[str], rows: list[int], wanted: set[str]) -> dict[str, list[int]]:
    """The rows of each wanted key (the others are skipped in C: `compress` with a `map` of set lookups)."""
    blocks: dict[str, list[int]] = {}
    chosen = list(map(wanted.__contains__, keys))
    for key, row in zip(compress(keys, chosen), compress(rows, chosen), strict=True):
        members = blocks.get(key)
        if members is None:
            blocks[key] = [row]
        else:
            members.append(row)
    return blocks


def _codes(rows_i: Iterable[int], rows_j: Iterable[int], width: int) -> Iterator[int]:
    """Pair codes i * width + j (a pair as one int: cheaper to hash, sort and collect than a tuple), in C."""
    return map(add, map(mul, rows_i, repeat(width)), rows_j)


def _shared(keys: list[str], rows: list[int]) -> dict[str, list[int]]:
    """The holders of every key listed more than once. A record holds a pass's key once (`BlockingPass`), so
    such a key is held by two records or more; the others, most of them, are counted in C and never grouped."""
    counts = Counter(keys)
    return _rows_by_key(keys, rows, set(compress(counts.keys(), map((1).__lt__, counts.values()))))


def _once_per_record(keys: Callable[[Sequence[Person]], PassKeys]) -> Callable[[Sequence[Person]], PassKeys]:
    """A pass of one's own, its keys listed once per record (`_shared` relies on it; the built-in passes are
    written so, tests/records/test_identity_fit.py checks)."""

    def once(people: Sequence[Person]) -> PassKeys:
        distinct = dict.fromkeys(zip(*keys(people), strict=True))
        return [key for key, _ in distinct], [row for _, row in distinct]

    return once


def _dedupe_codes(keys: list[str], rows: list[int], width: int, max_block: int) -> tuple[set[int], int]:
    """The pairs (codes, i < j) of records sharing one of a pass's keys within one list, and how many keys'
    blocks were over the cap. Pairs are made once per distinct set of records (a pair with one birth date
    shares five of its keys); the many sets of two in C."""
    shared = _shared(keys, rows)
    groups = Counter(map(tuple, shared.values()))  # holders, in the order listed -> keys they are the block of
    dropped = sum(holding for group, holding in groups.items() if len(group) > max_block)
    twos = [group for group in groups if len(group) == 2 <= max_block]
    codes = set(_codes(map(min, twos), map(max, twos), width))
    for group in groups:
        if 2 < len(group) <= max_block:
            members = sorted(group)
            for at in range(len(members) - 1):
                codes.update(_codes(repeat(members[at], len(members) - at - 1), members[at + 1 :], width))
    return codes, dropped


def _link_codes(left: PassKeys, right: PassKeys, width: int, max_block: int) -> tuple[set[int], int]:
    """The pairs (codes) of a left and a right record sharing one of a pass's keys, and how many keys' blocks
    (the right records holding the key) were over the cap. Each left key is looked up among the right ones in
    C; only those held by several right records are paired in Python."""
    left_keys, left_rows = left
    right_keys, right_rows = right
    last = dict(zip(right_keys, right_rows, strict=True))  # each key's last holder: the only one of most keys
    several = _shared(right_keys, right_rows) if len(last) < len(right_keys) else {}
    oversized = {key for key, holders in several.items() if len(holders) > max_block}
    found = list(map(last.__contains__, left_keys))
    found_keys, found_rows = list(compress(left_keys, found)), list(compress(left_rows, found))
    alone = [key not in several for key in found_keys]
    codes = set(_codes(compress(found_rows, alone), map(last.__getitem__, compress(found_keys, alone)), width))
    crowded = [not one for one in alone]
    for key, i in zip(compress(found_keys, crowded), compress(found_rows, crowded), strict=True):
        if key not in oversized:
            holders = several[key]
            codes.update(_codes(repeat(i, len(holders)), holders, width))
    return codes, len(oversized)


def block(
    left: Sequence[Person],
    right: Sequence[Person] | None = None,
    passes: Sequence[BlockingPass] | None = None,
    max_block: int = 100,
) -> Blocking:
    """Index pairs (i, j) sharing at least one blocking key, each once, in (i, j) order. Without `right`, pairs
    i < j of `left`.

    Each left key is looked up among the right ones in C (`_link_codes`; within one list, the keys are counted
    in C: `_dedupe_codes`): most keys are one record's alone and are never grouped, and most shared keys are
    held by one record a side, whose pair is found in C too. Keys several records hold are grouped, and pairs
    made once per distinct set of records (a pair born on one day shares five birth-date keys). `max_block` is
    at least 1; passes of one's own (`passes`) may list a record's key more than once."""
    if max_block < 1:
        raise ValueError(f"max_block must be at least 1, not {max_block}")
    chosen = tuple(passes) if passes is not None else choose_passes(left, *(() if right is None else (right,)))
    width = len(left if right is None else right)
    found: list[set[int]] = []  # per pass: the codes (i * width + j) of the pairs it found
    dropped = 0
    for blocking_pass in chosen:
        keys = blocking_pass.keys if blocking_pass in PASSES else _once_per_record(blocking_pass.keys)
        if right is None:
            codes, over = _dedupe_codes(*keys(left), width, max_block)
        else:
            codes, over = _link_codes(keys(left), keys(right), width, max_block)
        found.append(codes)
        dropped += over
    every = sorted(set().union(*found))
    pairs = list(map(divmod, every, repeat(width)))
    positions = range(len(every))
    by_pass = {
        p.tag: list(compress(positions, map(codes.__contains__, every))) for p, codes in zip(chosen, found, strict=True)
    }
    return Blocking(pairs, chosen, by_pass, dropped, left, right)


def candidate_pairs(
    left: Sequence[Person], right: Sequence[Person] | None = None, max_block: int = 100
) -> list[tuple[int, int]]:
    """The pairs `block` finds with the passes the records' fields allow."""
    return block(left, right, max_block=max_block).pairs
