"""Probabilistic identity matching (Fellegi–Sunter) of person records, with an explanation for every score.

How a pair is scored
--------------------
Each field of the two records is normalised (`Person`), compared, and put in one *level* (exact, nickname,
close, different, ...). A level carries two probabilities: m = P(level | same person) and u = P(level |
different people). Its weight is log2(m / u), a Bayes factor in bits; a missing value on either side is no
evidence (weight 0). The weights are summed, the prior's log-odds added, and the sum turned into a probability:

    probability = 1 / (1 + 2 ** -(sum of weights + log2(prior / (1 - prior))))

Two corrections to plain Fellegi–Sunter, both because of households (a parent and child share phone, address
and family name, and a wrong merge across people is worse than a missed one):

* Phone, address and postal code move together (one household, one move), so they are not independent
  evidence: the strongest agreement among them counts in full and each further one at `household_overlap`
  (default 0.1); disagreements the same way. The explanation shows the counted weight.
* When the two records share a phone or an address, the question becomes "which member of this household?",
  so family name, given name, birth date, sex, e-mail and SSN are weighed with u-probabilities *among different
  people of one household* (`u_household`): a shared family name is then almost no evidence, an equal birth
  date is twins-rare rather than one-in-30,000, and a different given name or birth date decides.

Default m/u probabilities (m, u, u within a household) are in `DEFAULT_MODEL` below; they are conservative
hand-set rates for US registration data, not fitted to any one data set. `estimate_u` re-estimates the u side
from random pairs of a real extract. The default prior (`1e-4`) is the chance that two records drawn at random
from two extracts of about ten thousand people are the same person.

Nothing here logs, and explanations carry field names, levels and weights only, never values.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from typing import Literal, NamedTuple

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, JaroWinkler

from agentdesk.records.model import SourceRecord
from agentdesk.records.nicknames import NICKNAMES
from agentdesk.records.phone import normalise_phone

Outcome = Literal["agree", "partial", "disagree", "missing"]
Decision = Literal["match", "review", "distinct"]

# The fields the scorer compares, in explanation order.
MATCH_FIELDS: tuple[str, ...] = (
    "given_name",
    "family_name",
    "birth_date",
    "sex",
    "phone",
    "email",
    "address_line",
    "postal_code",
    "mrn",
    "ssn",
)
HOUSEHOLD_FIELDS: tuple[str, ...] = ("phone", "address_line", "postal_code")
MISSING = "missing"

# Jaro-Winkler at or above which two names are "close" (a typo apart); below it they are "different".
NAME_CLOSE_JW = 0.88
# Token-set ratio (0-100) at or above which two address lines are "close" (same house number required).
ADDRESS_CLOSE_RATIO = 90.0


# --------------------------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------------------------

# Letters NFKD does not decompose into ASCII.
_TRANSLITERATE = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"})
_APOSTROPHES = str.maketrans("", "", "'’`´")
_LETTERS = re.compile(r"[a-z]+")
_NOT_ALNUM = re.compile(r"[\W_]+")
_NOT_DIGIT = re.compile(r"[^0-9]+")
_WORDS = re.compile(r"[a-z0-9]+")
_NAME_NOISE = frozenset({"jr", "sr", "ii", "iii", "iv", "mr", "mrs", "ms", "miss", "dr", "md", "phd"})
# Values registration staff type when they do not know the name: never evidence of anything.
_NAME_PLACEHOLDERS = frozenset(
    {"unknown", "unk", "baby", "babyboy", "babygirl", "infant", "newborn", "test", "patient", "none", "fnu", "lnu"}
)


def fold(text: str) -> str:
    """Lower case without accents: 'José' -> 'jose', 'Øberg' -> 'oberg'."""
    if text.isascii():
        return text.lower()  # the common case, without the Unicode decomposition
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(_TRANSLITERATE)


@lru_cache(maxsize=65536)
def name_tokens(raw: str) -> tuple[str, ...]:
    """A name as lower-case ASCII words, without titles and suffixes: "O'Brien-Smith Jr." -> ('obrien', 'smith').

    Apostrophes join (O'Brien = OBrien); hyphens and spaces split, so 'Smith-Jones' and 'Smith Jones' agree.
    """
    tokens = tuple(t for t in _LETTERS.findall(fold(raw).translate(_APOSTROPHES)) if t not in _NAME_NOISE)
    if tokens and (tokens[0] in _NAME_PLACEHOLDERS or "".join(tokens) in _NAME_PLACEHOLDERS):
        return ()
    return tokens


def normalise_name(raw: str) -> str:
    """The comparable form of a name: accents, case, punctuation and spacing removed ('Mc Donald' = 'McDonald')."""
    return "".join(name_tokens(raw))


@lru_cache(maxsize=65536)
def given_name_forms(name: str) -> frozenset[str]:
    """A normalised given name and the canonical names it may be a nickname of: 'bob' -> {'bob', 'robert'}."""
    return frozenset((name, *NICKNAMES.get(name, ())))


_SEX = {"m": "m", "male": "m", "man": "m", "f": "f", "female": "f", "woman": "f", "x": "x", "other": "x"}


def normalise_sex(raw: str) -> str:
    """'m', 'f', 'x', or '' when unknown (unknown is no evidence, not a value that agrees with itself)."""
    return _SEX.get(raw.strip().casefold(), "")


_PLACEHOLDER_BIRTH_DATES = frozenset({"19000101", "19010101", "18000101", "00010101"})


def normalise_birth_date(raw: str) -> str:
    """'YYYYMMDD' for a real ISO date, '' for blanks, invalid dates and the placeholders systems default to."""
    try:
        parsed = date.fromisoformat(raw.strip())
    except ValueError:
        return ""
    compact = f"{parsed.year:04d}{parsed.month:02d}{parsed.day:02d}"
    return "" if compact in _PLACEHOLDER_BIRTH_DATES else compact


_PHONE_SEPARATORS = re.compile(r"[\s().-]+")


def normalise_e164(raw: str, region: str = "US") -> str:
    """E.164 via `normalise_phone`, or '' for unusable and placeholder numbers (000-000-0000, 123-456-7890)."""
    raw = raw.strip()
    e164 = (_plain_nanp(raw) if region == "US" else None) or (normalise_phone(raw, region) if raw else None)
    if not e164:
        return ""
    national = e164[-10:]
    if len(set(national)) == 1 or national in ("1234567890", "0123456789"):
        return ""
    return e164


def _plain_nanp(raw: str) -> str | None:
    """The E.164 form of a plainly written North American number ('(617) 555-0123', '1-617-555-0123',
    '+1 617 555 0123'), which is what `normalise_phone` returns for it, without its ~60 µs parse; None for
    anything else (letters, extensions, other countries), which goes to `normalise_phone`.
    tests/test_identity.py checks the two agree."""
    compact = _PHONE_SEPARATORS.sub("", raw)
    if compact.startswith("+1"):
        compact = compact[1:]
    elif compact.startswith("+"):
        return None
    if not (compact.isascii() and compact.isdigit()):
        return None
    if len(compact) == 11 and compact[0] == "1":
        compact = compact[1:]
    if len(compact) == 10 and compact[0] in "23456789":
        return f"+1{compact}"
    return None


_EMAIL_PLACEHOLDER_USERS = frozenset({"none", "noemail", "no", "na", "unknown", "test", "noreply", "donotreply"})


def normalise_email(raw: str) -> str:
    email = raw.strip().casefold()
    user, at, domain = email.partition("@")
    if not (user and at and "." in domain) or user.replace("-", "").replace(".", "") in _EMAIL_PLACEHOLDER_USERS:
        return ""
    return email


_ADDRESS_WORDS = {
    "street": "st",
    "str": "st",
    "avenue": "ave",
    "av": "ave",
    "road": "rd",
    "drive": "dr",
    "lane": "ln",
    "court": "ct",
    "place": "pl",
    "boulevard": "blvd",
    "parkway": "pkwy",
    "highway": "hwy",
    "terrace": "ter",
    "circle": "cir",
    "square": "sq",
    "trail": "trl",
    "way": "wy",
    "apartment": "apt",
    "unit": "apt",
    "suite": "ste",
    "ste": "ste",
    "number": "",
    "no": "",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
}


@lru_cache(maxsize=65536)
def normalise_address(raw: str) -> str:
    """Lower-case words with USPS-style abbreviations: '12 North Main Street, Apt. 4' -> '12 n main st apt 4'."""
    words = (_ADDRESS_WORDS.get(word, word) for word in _WORDS.findall(fold(raw)))
    return " ".join(word for word in words if word)


def normalise_postal(raw: str) -> str:
    """US ZIP: the first five digits ('02134-1234' -> '02134'); other countries: letters and digits, upper case."""
    compact = _NOT_ALNUM.sub("", raw).upper()
    return compact[:5] if compact[:5].isdigit() else compact


def normalise_identifier(raw: str) -> str:
    """An MRN without spacing, dashes or leading zeros; '' for all-zero placeholders."""
    compact = _NOT_ALNUM.sub("", raw).upper().lstrip("0")
    return "" if compact in ("", "UNKNOWN", "NA", "NONE") else compact


def normalise_ssn(raw: str) -> str:
    """Nine digits, or '' for blanks and the placeholders registrations use (000-00-0000, 999-99-9999, ...)."""
    digits = _NOT_DIGIT.sub("", raw)
    if len(digits) != 9 or len(set(digits)) == 1 or digits in ("123456789", "078051120"):
        return ""
    if digits[:3] in ("000", "666") or digits[3:5] == "00" or digits[5:] == "0000":
        return ""
    return digits


class Person(NamedTuple):
    """One record normalised once for comparing: every value a plain comparable string ('' = missing).

    A NamedTuple rather than a dataclass: batches build tens of thousands, and tuple construction is several
    times cheaper than a frozen dataclass's __init__."""

    given: str = ""  # all given-name words joined: 'maryann'
    given_first: str = ""  # the first given-name word: 'mary'
    given_forms: frozenset[str] = frozenset()  # given_first and the canonical names it may stand for
    family: str = ""  # family-name words joined: 'obriensmith'
    family_parts: frozenset[str] = frozenset()  # {'obrien', 'smith'}: one part agreeing is a partial agreement
    given_parts: frozenset[str] = frozenset()
    family_first: str = ""  # for comparing swapped names: the family name's first word as a given name
    family_forms: frozenset[str] = frozenset()
    birth_date: str = ""  # 'YYYYMMDD'
    sex: str = ""
    phone: str = ""  # E.164
    email: str = ""
    address: str = ""
    house_number: str = ""
    postal_code: str = ""
    mrn: str = ""
    ssn: str = ""

    def __repr__(self) -> str:
        return "Person(<values hidden>)"  # a stray log line or traceback must not carry patient data


def person_from_fields(fields: Mapping[str, str], region: str = "US") -> Person:
    """Normalise a record's fields (the keys of `SourceRecord.fields`; unknown keys are ignored)."""
    given, given_first, given_forms, given_parts = _name_features(fields.get("given_name", ""))
    family, family_first, family_forms, family_parts = _name_features(fields.get("family_name", ""))
    address = normalise_address(fields.get("address_line", ""))
    first_word = address.split(" ", 1)[0] if address else ""
    return Person(
        given=given,
        given_first=given_first,
        given_forms=given_forms,
        family=family,
        family_parts=family_parts,
        given_parts=given_parts,
        family_first=family_first,
        family_forms=family_forms,
        birth_date=normalise_birth_date(fields.get("birth_date", "")),
        sex=normalise_sex(fields.get("sex", "")),
        phone=normalise_e164(fields.get("phone", ""), region),
        email=normalise_email(fields.get("email", "")),
        address=address,
        house_number=first_word if first_word[:1].isdigit() else "",
        postal_code=normalise_postal(fields.get("postal_code", "")),
        mrn=normalise_identifier(fields.get("mrn", "")),
        ssn=normalise_ssn(fields.get("ssn", "")),
    )


@lru_cache(maxsize=65536)
def _name_features(raw: str) -> tuple[str, str, frozenset[str], frozenset[str]]:
    """(joined words, first word, first word's nickname forms, words) of one name: names repeat across a batch,
    so each spelling is worked out once."""
    tokens = name_tokens(raw)
    if not tokens:
        return "", "", frozenset(), frozenset()
    return "".join(tokens), tokens[0], given_name_forms(tokens[0]), frozenset(tokens)


def person_from_record(record: SourceRecord, region: str = "US") -> Person:
    return person_from_fields(record.fields, region)


# --------------------------------------------------------------------------------------------------------------
# Comparators: each returns a level name
# --------------------------------------------------------------------------------------------------------------


def compare_given(a: Person, b: Person) -> str:
    """exact / nickname / close (a typo, or a middle name on one side) / initial / different."""
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
    return "close" if _close(a, b) else "different"


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
    if not a or not b:
        return MISSING
    if a == b:
        return "exact"
    return "one_digit" if sum(x != y for x, y in zip(a, b, strict=True)) == 1 else "different"


# --------------------------------------------------------------------------------------------------------------
# The model: m/u per field level
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Level:
    """One comparison level of a field. u_household = u among different people of one household (None = u)."""

    name: str
    outcome: Outcome
    m: float
    u: float
    u_household: float | None = None


@dataclass(frozen=True, slots=True)
class FieldModel:
    name: str
    levels: tuple[Level, ...]

    def level(self, name: str) -> Level:
        for level in self.levels:
            if level.name == name:
                return level
        raise KeyError(name)


def _f(name: str, *levels: Level) -> FieldModel:
    return FieldModel(name, levels)


# m, u, u within a household. Sources for the orders of magnitude: a given name shared by two random US people
# ~0.5-1%, a family name ~0.2%, a birth date 1 in ~30,000 (365 days x ~80 birth years), a postal code ~0.5% in
# a regional extract; households: same family name ~85%, same birth date = twins ~1%, Jr/Sr share given names.
# The m side says how often one person's two records differ: typos, nicknames, moves, new phone numbers.
DEFAULT_FIELDS: tuple[FieldModel, ...] = (
    _f(
        "given_name",
        Level("exact", "agree", 0.87, 0.006, 0.02),
        Level("nickname", "partial", 0.05, 0.002, 0.005),
        Level("close", "partial", 0.065, 0.006, 0.03),
        Level("initial", "partial", 0.005, 0.005, 0.005),  # one side has only an initial: no evidence either way
        # Nicknames outside the table, or another name used: rare, and within a household this is what tells
        # twins apart, so it is kept strong.
        Level("different", "disagree", 0.01, 0.981, 0.935),
    ),
    _f(
        "family_name",
        Level("exact", "agree", 0.90, 0.002, 0.85),
        Level("close", "partial", 0.07, 0.003, 0.05),
        Level("different", "disagree", 0.03, 0.995, 0.10),
    ),
    _f(
        "birth_date",
        Level("exact", "agree", 0.92, 0.00005, 0.01),
        Level("near", "partial", 0.055, 0.0008, 0.005),
        Level("year", "partial", 0.01, 0.0125, 0.05),
        Level("different", "disagree", 0.015, 0.98665, 0.935),
    ),
    _f(
        "sex",
        Level("exact", "agree", 0.98, 0.5, 0.5),
        Level("different", "disagree", 0.02, 0.5, 0.5),
    ),
    _f(
        "phone",
        Level("exact", "agree", 0.80, 0.0001),
        Level("different", "disagree", 0.20, 0.9999),
    ),
    _f(
        "email",
        Level("exact", "agree", 0.80, 0.00001, 0.05),
        Level("different", "disagree", 0.20, 0.99999, 0.95),
    ),
    _f(
        "address_line",
        Level("exact", "agree", 0.72, 0.0001),
        Level("close", "partial", 0.08, 0.0002),
        Level("different", "disagree", 0.20, 0.9997),
    ),
    _f(
        "postal_code",
        Level("exact", "agree", 0.82, 0.005),
        Level("first3", "partial", 0.06, 0.03),
        Level("different", "disagree", 0.12, 0.965),
    ),
    _f(
        "mrn",
        Level("exact", "agree", 0.70, 0.000001),
        # Two systems' MRNs often differ for one person (different numbering), so disagreement is weak evidence.
        Level("different", "disagree", 0.30, 0.999999),
    ),
    _f(
        "ssn",
        Level("exact", "agree", 0.96, 0.00000001),
        # Siblings' (twins') SSNs are often issued in sequence: one digit apart is weak evidence in a household.
        Level("one_digit", "partial", 0.03, 0.0000001, 0.05),
        Level("different", "disagree", 0.01, 0.99999989),
    ),
)


@dataclass(frozen=True)
class MatchModel:
    """The m/u table, the prior, and how much a second household field adds to the first."""

    fields: tuple[FieldModel, ...] = DEFAULT_FIELDS
    prior: float = 1e-4
    household_overlap: float = 0.1
    _weights: dict[tuple[str, str, bool], float] = field(init=False, repr=False, compare=False)
    _outcomes: dict[tuple[str, str], Outcome] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 < self.prior < 1:
            raise ValueError("prior must be between 0 and 1")
        weights: dict[tuple[str, str, bool], float] = {}
        for model in self.fields:
            for level in model.levels:
                weights[(model.name, level.name, False)] = math.log2(level.m / level.u)
                u_hh = level.u if level.u_household is None else level.u_household
                weights[(model.name, level.name, True)] = math.log2(level.m / u_hh)
            weights[(model.name, MISSING, False)] = weights[(model.name, MISSING, True)] = 0.0
        object.__setattr__(self, "_weights", weights)
        object.__setattr__(self, "_outcomes", {(f.name, lv.name): lv.outcome for f in self.fields for lv in f.levels})

    @property
    def prior_weight(self) -> float:
        return math.log2(self.prior / (1 - self.prior))

    def weight(self, field_name: str, level: str, household: bool = False) -> float:
        """log2(m/u) of one level; `household` uses the u among different members of one household."""
        return self._weights[(field_name, level, household)]

    def weight_keys(self) -> list[tuple[str, str, bool]]:
        return list(self._weights)

    def outcome(self, field_name: str, level: str) -> Outcome:
        if level == MISSING:
            return "missing"
        return self._outcomes[(field_name, level)]

    def field_model(self, name: str) -> FieldModel:
        return next(f for f in self.fields if f.name == name)


DEFAULT_MODEL = MatchModel()


# --------------------------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldComparison:
    """How one field contributed: its level, the outcome, the weight counted (bits) and why (never a value)."""

    field: str
    outcome: Outcome
    level: str
    weight: float
    note: str = ""


@dataclass(frozen=True, slots=True)
class MatchScore:
    probability: float
    weight: float  # the sum of the field weights, without the prior
    decision: Decision
    explanation: tuple[FieldComparison, ...]
    prior_weight: float = 0.0

    def comparison(self, field_name: str) -> FieldComparison:
        return next(c for c in self.explanation if c.field == field_name)

    def describe(self) -> str:
        """A few lines a reviewer can read: one per field, then the total. Contains no patient values."""
        lines = [
            f"{c.field:<13} {c.outcome:<9} {c.level:<10} {c.weight:+6.2f}" + (f"  ({c.note})" if c.note else "")
            for c in self.explanation
        ]
        lines.append(f"{'prior':<13} {'':<9} {'':<10} {self.prior_weight:+6.2f}")
        lines.append(f"total weight {self.weight:+.2f} -> probability {self.probability:.4f}: {self.decision}")
        return "\n".join(lines)


class _Levels(NamedTuple):
    given: str
    family: str
    swapped: bool
    birth_date: str
    sex: str
    phone: str
    email: str
    address: str
    postal: str
    mrn: str
    ssn: str

    @property
    def household(self) -> bool:
        """The two records share a phone line or an address: the question becomes which household member."""
        return self.phone == "exact" or self.address in ("exact", "close")

    def by_field(self) -> tuple[tuple[str, str], ...]:
        return (
            ("given_name", self.given),
            ("family_name", self.family),
            ("birth_date", self.birth_date),
            ("sex", self.sex),
            ("phone", self.phone),
            ("email", self.email),
            ("address_line", self.address),
            ("postal_code", self.postal),
            ("mrn", self.mrn),
            ("ssn", self.ssn),
        )


_PERSON_FIELDS_IN_HOUSEHOLD = frozenset({"given_name", "family_name", "birth_date", "sex", "email", "ssn"})


class Matcher:
    """Scores pairs of `Person`s with one model and one pair of thresholds."""

    def __init__(
        self, model: MatchModel = DEFAULT_MODEL, match_threshold: float = 0.97, review_threshold: float = 0.60
    ) -> None:
        if not 0 < review_threshold <= match_threshold <= 1:
            raise ValueError("thresholds must satisfy 0 < review_threshold <= match_threshold <= 1")
        self.model = model
        self.match_threshold = match_threshold
        self.review_threshold = review_threshold
        self._prior_weight = model.prior_weight
        self._overlap = model.household_overlap
        # (field, level, household) -> weight, with "within household" applied only to the person fields.
        self._w = {
            (name, level, household): model.weight(name, level, household and name in _PERSON_FIELDS_IN_HOUSEHOLD)
            for (name, level, household) in model.weight_keys()
        }
        # The same as one level -> weight table per field in MATCH_FIELDS order, for each household flag.
        self._tables = {
            household: tuple(
                {level: w for (name, level, hh), w in self._w.items() if name == field_name and hh == household}
                for field_name in MATCH_FIELDS
            )
            for household in (False, True)
        }

    def levels(self, a: Person, b: Person) -> _Levels:
        given, family = compare_given(a, b), compare_family(a, b)
        swapped = False
        if "different" in (given, family) and a.given and a.family and b.given and b.family:
            s_given, s_family = compare_swapped_names(a, b)
            # Both names must agree once swapped: one name agreeing in the other box is a relative's
            # (a parent's given name used as a child's middle or family name), not a swap.
            if "different" not in (s_given, s_family) and (
                _name_rank(s_given) + _name_rank(s_family) > _name_rank(given) + _name_rank(family)
            ):
                given, family, swapped = s_given, s_family, True
        return _Levels(
            given=given,
            family=family,
            swapped=swapped,
            birth_date=compare_birth_date(a.birth_date, b.birth_date),
            sex=compare_exact(a.sex, b.sex),
            phone=compare_exact(a.phone, b.phone),
            email=compare_exact(a.email, b.email),
            address=compare_address(a, b),
            postal=compare_postal(a.postal_code, b.postal_code),
            mrn=compare_exact(a.mrn, b.mrn),
            ssn=compare_ssn(a.ssn, b.ssn),
        )

    def _household_factors(self, weights: Sequence[float]) -> list[float]:
        """How much of each household field's weight counts: phone, address and postal code move together, so
        the strongest agreement (and the strongest disagreement) counts in full, each further one partly."""
        factors = [1.0] * len(weights)
        for sign in (1.0, -1.0):
            same_sign = sorted((i for i, w in enumerate(weights) if w * sign > 0), key=lambda i: -abs(weights[i]))
            for i in same_sign[1:]:
                factors[i] = self._overlap
        return factors

    def weight(self, a: Person, b: Person) -> float:
        """The summed weight without building an explanation (the batch fast path; `explain` is the same sum)."""
        lv = self.levels(a, b)
        given, family, birth, sex, phone, email, address, postal, mrn, ssn = self._tables[lv.household]
        total = (
            given[lv.given]
            + family[lv.family]
            + birth[lv.birth_date]
            + sex[lv.sex]
            + email[lv.email]
            + mrn[lv.mrn]
            + ssn[lv.ssn]
        )
        group = (phone[lv.phone], address[lv.address], postal[lv.postal])
        agree = [g for g in group if g > 0]
        disagree = [g for g in group if g < 0]
        if agree:
            strongest = max(agree)
            total += strongest + self._overlap * (sum(agree) - strongest)
        if disagree:
            strongest = min(disagree)
            total += strongest + self._overlap * (sum(disagree) - strongest)
        return total

    def probability(self, weight: float) -> float:
        logit = weight + self._prior_weight
        if logit > 60:
            return 1.0
        if logit < -60:
            return 0.0
        return 1.0 / (1.0 + math.exp2(-logit))

    def decide(self, probability: float) -> Decision:
        if probability >= self.match_threshold:
            return "match"
        if probability >= self.review_threshold:
            return "review"
        return "distinct"

    def explain(self, levels: _Levels) -> tuple[FieldComparison, ...]:
        """One `FieldComparison` per field, with the weight as counted and the reason for any correction."""
        hh = levels.household
        fields = levels.by_field()
        weights = [self._w[(name, level, hh)] for name, level in fields]
        notes = []
        for name, level in fields:
            note = ""
            if hh and name in _PERSON_FIELDS_IN_HOUSEHOLD and level != MISSING:
                note = "weighed as within one household (shared phone or address)"
            if levels.swapped and name in ("given_name", "family_name"):
                note = "given and family names swapped" + (f"; {note}" if note else "")
            notes.append(note)
        group = [i for i, (name, _) in enumerate(fields) if name in HOUSEHOLD_FIELDS]
        for i, factor in zip(group, self._household_factors([weights[i] for i in group]), strict=True):
            if factor != 1.0:
                weights[i] *= factor
                notes[i] = f"counted x{factor:g}: phone, address and postal code move together"
        return tuple(
            FieldComparison(name, self.model.outcome(name, level), level, weight, note)
            for (name, level), weight, note in zip(fields, weights, notes, strict=True)
        )

    def score(self, a: Person, b: Person) -> MatchScore:
        explanation = self.explain(self.levels(a, b))
        total = sum(c.weight for c in explanation)
        probability = self.probability(total)
        return MatchScore(probability, total, self.decide(probability), explanation, self._prior_weight)


_NAME_RANK = {"exact": 4, "nickname": 3, "close": 2, "initial": 1, MISSING: 1, "different": 0}


def _name_rank(level: str) -> int:
    return _NAME_RANK[level]


def score_records(
    a: SourceRecord,
    b: SourceRecord,
    *,
    match_threshold: float = 0.97,
    review_threshold: float = 0.60,
    model: MatchModel = DEFAULT_MODEL,
    region: str = "US",
) -> MatchScore:
    """Score two source records (fields as `SourceRecord.fields`: given_name, family_name, birth_date, ...)."""
    matcher = _matcher(model, match_threshold, review_threshold)
    return matcher.score(person_from_record(a, region), person_from_record(b, region))


@lru_cache(maxsize=16)
def _matcher(model: MatchModel, match_threshold: float, review_threshold: float) -> Matcher:
    return Matcher(model, match_threshold, review_threshold)


# --------------------------------------------------------------------------------------------------------------
# Blocking: which pairs are worth scoring
# --------------------------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------------------------
# Estimation
# --------------------------------------------------------------------------------------------------------------


def estimate_u(
    left: Sequence[Person],
    right: Sequence[Person] | None = None,
    *,
    model: MatchModel = DEFAULT_MODEL,
    pairs: int = 200_000,
    seed: int = 0,
) -> MatchModel:
    """Re-estimate each level's u from random pairs (almost all of which are different people), keeping m.

    Household u-probabilities and m are kept: random pairs say nothing about them. Levels never seen get a
    floor of one half of an observation, so no weight becomes infinite.
    """
    others = left if right is None else right
    if not left or not others:
        return model
    rng = random.Random(seed)
    matcher = Matcher(model)
    counts: dict[tuple[str, str], int] = {}
    present: dict[str, int] = {}
    for _ in range(pairs):
        for name, level in matcher.levels(rng.choice(left), rng.choice(others)).by_field():
            if level != MISSING:
                counts[(name, level)] = counts.get((name, level), 0) + 1
                present[name] = present.get(name, 0) + 1
    fields = []
    for field_model in model.fields:
        seen = present.get(field_model.name, 0)
        if not seen:
            fields.append(field_model)
            continue
        estimated = tuple(
            replace(level, u=max(counts.get((field_model.name, level.name), 0), 0.5) / seen)
            for level in field_model.levels
        )
        fields.append(replace(field_model, levels=estimated))
    return replace(model, fields=tuple(fields))
