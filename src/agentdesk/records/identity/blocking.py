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
little about identity and would make the run quadratic. A record's keys (`person_keys`) are (pass tag, key) pairs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import compress
from operator import attrgetter

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
    fraction of a function call per record)."""

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
    """The exact date ('19610723'), the year with day and month in either order ('1961:07:23'), and each form
    with one digit deleted with the family name's initial ('1961073|q'): one typo covers ten dates, so the
    initial keeps blocks small (a pair with both mistyped is left to the other passes). Normalised dates are
    eight digits, so the three kinds never spell one another."""
    rows, dates = _rows_with(people, "birth_date")
    keys = list(dates)
    keys.extend(f"{b[:4]}:{b[4:6]}:{b[6:8]}" if b[4:6] <= b[6:8] else f"{b[:4]}:{b[6:8]}:{b[4:6]}" for b in dates)
    marked = [f"|{people[row].family[:1] or people[row].given[:1]}" for row in rows]
    for at in range(8):
        keys.extend(b[:at] + b[at + 1 :] + mark for b, mark in zip(dates, marked, strict=True))
    return keys, rows * 10


def _names(people: Sequence[Person]) -> PassKeys:
    """A given name (or the canonical name a nickname stands for) with the family name's Soundex ('bob r163'),
    both Soundex codes ('r163 r163': letters and digits, never a name), and the two names' first three letters
    in order with the birth year ('har/qui/1961': names in the wrong boxes)."""
    keys: list[str] = []
    rows: list[int] = []
    for row, p in enumerate(people):
        if not (p.family and p.given):
            continue
        family_code = soundex(p.family)
        forms = [f"{given} {family_code}" for given in p.given_forms]
        forms.append(f"{soundex(p.given)} {family_code}")
        if p.birth_date:
            first, second = sorted((p.family[:3], p.given[:3]))
            forms.append(f"{first}/{second}/{p.birth_date[:4]}")
        keys.extend(forms)
        rows.extend([row] * len(forms))
    return keys, rows


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


def _blocks(keys: list[str], rows: list[int], wanted: set[str]) -> dict[str, list[int]]:
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


def block(
    left: Sequence[Person],
    right: Sequence[Person] | None = None,
    passes: Sequence[BlockingPass] | None = None,
    max_block: int = 100,
) -> Blocking:
    """Index pairs (i, j) sharing at least one blocking key, each once, in (i, j) order. Without `right`, pairs
    i < j of `left`.

    Each pass's keys are counted first (in C, by `Counter`): most keys are one record's alone and are never
    grouped. The blocks of two or more records are then reduced to their distinct sets of records (a pair with
    one birth date shares ten of that pass's keys: the date, its swapped form and its eight one-typo forms),
    and pairs are made once per distinct set."""
    chosen = tuple(passes) if passes is not None else choose_passes(left, *(() if right is None else (right,)))
    width = len(left if right is None else right)
    found: dict[int, int] = {}  # i * width + j -> which passes found the pair (a bit each)
    get = found.get
    dropped = 0
    for bit_number, blocking_pass in enumerate(chosen):
        bit = 1 << bit_number
        left_keys, left_rows = blocking_pass.keys(left)
        if right is None:
            counts = Counter(left_keys)
            blocks = _blocks(left_keys, left_rows, {key for key, count in counts.items() if count > 1})
            # one record's keys of a pass can coincide ('19880101' less either 8): sets count records once
            groups = Counter(map(frozenset, blocks.values()))  # distinct set of records -> keys it is the block of
            for group, holding in groups.items():
                if len(group) > max_block:
                    dropped += holding
                    continue
                members = sorted(group)
                for at in range(len(members) - 1):
                    base = members[at] * width
                    for j in members[at + 1 :]:
                        code = base + j
                        found[code] = get(code, 0) | bit
            continue
        right_keys, right_rows = blocking_pass.keys(right)
        right_counts = Counter(right_keys)
        shared = right_counts.keys() & set(left_keys)
        large = {key for key, count in right_counts.items() if count > max_block}
        right_blocks = _blocks(right_keys, right_rows, shared | large)
        oversized = {key for key in large if len(set(right_blocks[key])) > max_block}
        dropped += len(oversized)
        left_blocks = _blocks(left_keys, left_rows, shared - oversized)
        # Tuples, not sets, name a group here: a record listed twice only marks its pairs twice (idempotent),
        # and tuples are cheaper to build and hash than frozensets.
        pair_groups = set(
            zip(
                map(tuple, left_blocks.values()),
                map(tuple, map(right_blocks.__getitem__, left_blocks.keys())),
                strict=True,
            )
        )
        for left_group, right_group in pair_groups:
            for i in left_group:
                base = i * width
                for j in right_group:
                    code = base + j
                    found[code] = get(code, 0) | bit
    codes = sorted(found)
    pairs = [divmod(code, width) for code in codes]
    found_by_bits: dict[int, list[int]] = {}  # which passes found a pair -> indexes into `pairs`
    for k, code in enumerate(codes):
        mask = found[code]
        found_together = found_by_bits.get(mask)
        if found_together is None:
            found_by_bits[mask] = [k]
        else:
            found_together.append(k)
    by_pass: dict[str, list[int]] = {}
    for bit_number, p in enumerate(chosen):
        bit = 1 << bit_number
        by_pass[p.tag] = sorted(k for mask, ks in found_by_bits.items() if mask & bit for k in ks)
    return Blocking(pairs, chosen, by_pass, dropped, left, right)


def candidate_pairs(
    left: Sequence[Person], right: Sequence[Person] | None = None, max_block: int = 100
) -> list[tuple[int, int]]:
    """The pairs `block` finds with the passes the records' fields allow."""
    return block(left, right, max_block=max_block).pairs
