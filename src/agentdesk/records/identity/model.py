"""The model: m/u probabilities per field level, the prior, and the weights they give.

Default m/u probabilities (m, u, u within a household) are in `DEFAULT_MODEL` below; they are conservative
hand-set rates for US registration data, not fitted to any one data set. `estimate_u` re-estimates the u side
from random pairs of a real extract. The default prior (`1e-4`) is the chance that two records drawn at random
from two extracts of about ten thousand people are the same person.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from agentdesk.records.identity.schema import MISSING, Outcome


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
        Level("exact", "agree", 0.86, 0.006, 0.02),
        Level("nickname", "partial", 0.05, 0.002, 0.005),
        Level("close", "partial", 0.065, 0.006, 0.03),
        Level("initial", "partial", 0.005, 0.005, 0.005),  # one side has only an initial: no evidence either way
        # 'Jac' for 'Jacqueline': a form's short field or a hurried agent; some evidence, less than a full name.
        Level("truncated", "partial", 0.01, 0.002, 0.02),
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


# A name is kept in a frequency table only when at least this many records hold it: a table of common names
# identifies no one, and a spelling seen this often is a name in its own right rather than a typo.
MIN_NAME_COUNT = 5
# Term-frequency adjustments are clamped to this many bits either way (a name seen once is not infinitely rare).
TF_CLAMP_BITS = 5.0


class NameFrequencies:
    """How common each given and family name is in a population, for term-frequency adjustment: agreeing on a
    common name ('smith') is weaker evidence than agreeing on a rare one ('szczepanski').

    `given`/`family` map a normalised name to its share of records. Names held by fewer than `MIN_NAME_COUNT`
    records are left out and get no adjustment: how rare they are is not known (often a typo shared by chance),
    and a table of common names identifies no one. Compared by identity: a model carrying a table is its own."""

    def __init__(self, given: dict[str, float], family: dict[str, float], records: int) -> None:
        self.given = given
        self.family = family
        self.records = records
        # Bits to add to an exact agreement's weight: log2(u / u_value) with u_value = u * f_value / c, where c
        # (sum f^3 / sum f^2) makes the adjusted u average back to the level's u over agreeing pairs.
        self.given_bits = self._bits(given)
        self.family_bits = self._bits(family)

    @staticmethod
    def _bits(table: dict[str, float]) -> dict[str, float]:
        square = sum(f * f for f in table.values())
        cube = sum(f * f * f for f in table.values())
        if not square:
            return {}
        scale = cube / square
        return {name: _clamp(math.log2(scale / f)) for name, f in table.items()}

    def given_adjustment(self, name: str) -> float:
        return self.given_bits.get(name, 0.0)

    def family_adjustment(self, name: str) -> float:
        return self.family_bits.get(name, 0.0)

    def known_given(self, name: str) -> bool:
        """A given name held by enough records to be a name in its own right, not a typo of another."""
        return name in self.given

    @classmethod
    def count(cls, given: list[str], family: list[str]) -> NameFrequencies:
        """Frequencies from the names of a population's records (one entry per record; '' = no name)."""
        return cls(_shares(given), _shares(family), max(len(given), len(family), 1))


def _shares(names: list[str]) -> dict[str, float]:
    counts = Counter(filter(None, names))  # counted in C, in first-seen order as a dict would be
    present = sum(counts.values()) or 1
    return {name: n / present for name, n in counts.items() if n >= MIN_NAME_COUNT}


def _clamp(bits: float) -> float:
    return max(-TF_CLAMP_BITS, min(TF_CLAMP_BITS, bits))


@dataclass(frozen=True, slots=True)
class FitSummary:
    """How a model was fitted (shown by `link --report` and kept in the model file)."""

    pairs: int
    records: int
    iterations: int
    converged: bool


@dataclass(frozen=True)
class MatchModel:
    """The m/u table, the prior, how much a second household field adds to the first, and optionally the name
    frequencies for term-frequency adjustment and a note of how the model was fitted."""

    fields: tuple[FieldModel, ...] = DEFAULT_FIELDS
    prior: float = 1e-4
    household_overlap: float = 0.1
    names: NameFrequencies | None = None
    fitted: FitSummary | None = None
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
