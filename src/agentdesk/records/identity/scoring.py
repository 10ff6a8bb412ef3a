"""Scoring: a `Matcher` turns the levels of two `Person`s into weights, a probability, a decision and an
explanation (with the household corrections described in the package docstring)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import NamedTuple, cast

from rapidfuzz.distance import OSA

from agentdesk.base.matching import MATCH_THRESHOLD, REVIEW_THRESHOLD
from agentdesk.records.identity.compare import (
    _close,
    _dates_apart,
    _family_level,
    _given_level,
    _name_rank,
    compare_address,
    compare_birth_date,
    compare_exact,
    compare_family,
    compare_mrn,
    compare_postal,
    compare_ssn,
    compare_swapped_names,
)
from agentdesk.records.identity.model import DEFAULT_MODEL, MatchModel
from agentdesk.records.identity.normalise import Person, person_from_record
from agentdesk.records.identity.rules import RELIABLE_DISAGREEMENT, Hold, hold_reasons
from agentdesk.records.identity.schema import HOUSEHOLD_FIELDS, MATCH_FIELDS, MISSING, Outcome, Verdict
from agentdesk.records.model import SourceRecord


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
    decision: Verdict
    explanation: tuple[FieldComparison, ...]
    prior_weight: float = 0.0
    # Why a pair that scored as a match is only "review" (the twin and family rule, disagreeing identifiers).
    held: tuple[Hold, ...] = ()

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
        lines.extend(f"held for review: {hold.reason}" for hold in self.held)
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


# A `_Levels` from an iterable of its values, made in C: `_Levels._make` is a Python call, which a batch of pairs
# pays once a pair.
_new_levels = cast(Callable[[Iterable[str | bool]], _Levels], partial(tuple.__new__, _Levels))

Levels = _Levels  # one pair's comparison pattern: a level per field (the name fitting and tests use)

_PERSON_FIELDS_IN_HOUSEHOLD = frozenset({"given_name", "family_name", "birth_date", "sex", "email", "ssn"})


class Matcher:
    """Scores pairs of `Person`s with one model and one pair of thresholds."""

    def __init__(
        self,
        model: MatchModel = DEFAULT_MODEL,
        match_threshold: float = MATCH_THRESHOLD,
        review_threshold: float = REVIEW_THRESHOLD,
        *,
        prior: float | None = None,
    ) -> None:
        """`prior`: used instead of the model's (fitting tries a prior per EM iteration on one m/u table, which
        a model with that prior would only copy)."""
        if not 0 < review_threshold <= match_threshold <= 1:
            raise ValueError("thresholds must satisfy 0 < review_threshold <= match_threshold <= 1")
        self.model = model
        self.match_threshold = match_threshold
        self.review_threshold = review_threshold
        self._prior_weight = model.prior_weight if prior is None else math.log2(prior / (1 - prior))
        self._overlap = model.household_overlap
        self._names = model.names
        names = model.names
        # The largest bits a name's frequency adds to an exact agreement (`name_adjustment_ceiling`).
        self._name_ceilings = (
            (max([0.0, *names.given_bits.values()]), max([0.0, *names.family_bits.values()])) if names else (0.0, 0.0)
        )
        self._typos: dict[str, bool] = {}  # spelling -> one edit from a known given name
        # Without name frequencies no close spelling is known to be another name: the check is skipped.
        self._two_names_or_none = None if model.names is None else self._two_names
        self._ssn_reliable = model.field_model("ssn").level("different").m <= RELIABLE_DISAGREEMENT
        # (field, level, household) -> weight, with "within household" applied only to the person fields.
        self._w = {
            (name, level, household): model.weight(name, level, household and name in _PERSON_FIELDS_IN_HOUSEHOLD)
            for (name, level, household) in model.weight_keys()
        }
        # The same as one level -> weight table per field in MATCH_FIELDS order, for each household flag.
        position = {name: k for k, name in enumerate(MATCH_FIELDS)}
        tables: dict[bool, list[dict[str, float]]] = {hh: [{} for _ in MATCH_FIELDS] for hh in (False, True)}
        for (name, level, household), w in self._w.items():
            tables[household][position[name]][level] = w
        self._tables = {household: tuple(table) for household, table in tables.items()}
        # (phone, address, postal code levels) -> `_household_terms`, filled as patterns are weighed
        self._group: dict[tuple[str, str, str], tuple[float | None, float | None]] = {}

    def levels(self, a: Person, b: Person) -> _Levels:
        """One pair's comparison pattern (`levels_of_pairs` works out the same for many pairs at once)."""
        given = _given_level(
            a.given, a.given_first, a.given_forms, b.given, b.given_first, b.given_forms, self._two_names_or_none
        )
        family = compare_family(a, b)
        swapped = False
        if "different" in (given, family) and _may_be_swapped(a, b):
            swap = _swap(a, b, given, family)
            if swap is not None:
                given, family, swapped = *swap, True
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
            mrn=compare_mrn(a, b),
            ssn=compare_ssn(a.ssn, b.ssn),
        )

    def levels_of_pairs(self, pairs: Iterable[tuple[Person, Person]]) -> list[_Levels]:
        """`[self.levels(a, b) for a, b in pairs]`, without a call per field and pair.

        A batch compares tens of thousands of pairs, and `levels` spends most of its time in calls. Here one loop
        settles the common cases inline (a value missing, an exact agreement, a plain disagreement) and calls a
        comparator only for the rest; the swapped-name check runs only for pairs with a "different" name. One
        loop over the pairs rather than one per field: each record is read once while it is in the processor's
        cache (the right-hand records of candidate pairs come in no particular order; one loop per field measured
        slower). `levels` stays the readable definition; tests/records/test_identity_batch.py checks the two
        agree."""
        given_of, two_names, close = _given_level, self._two_names_or_none, _close
        dates_apart, address_of, mrn_of, ssn_of, new = (
            _dates_apart,
            compare_address,
            compare_mrn,
            compare_ssn,
            _new_levels,
        )
        levels: list[_Levels] = []
        append = levels.append
        for a, b in pairs:
            # All of a record's values at once (one step, where each attribute read is one): the fields in
            # `Person`'s order, those not compared here as _.
            (given_a, first_a, forms_a, family_a, parts_a, _, _, _, birth_a, sex_a, phone_a, email_a, address_a,
             house_a, postal_a, mrn_a, ssn_a, _, _) = a  # fmt: skip
            (given_b, first_b, forms_b, family_b, parts_b, _, _, _, birth_b, sex_b, phone_b, email_b, address_b,
             house_b, postal_b, mrn_b, ssn_b, _, _) = b  # fmt: skip
            if given_a and given_b:
                given = (
                    "exact"
                    if given_a == given_b
                    else given_of(given_a, first_a, forms_a, given_b, first_b, forms_b, two_names)
                )
            else:
                given = MISSING
            if family_a and family_b:  # `compare_family`
                if family_a == family_b:
                    family = "exact"
                else:
                    family = "close" if close(family_a, family_b) or not parts_a.isdisjoint(parts_b) else "different"
            else:
                family = MISSING
            swapped = False
            if (
                (given == "different" or family == "different")
                # `_may_be_swapped` inline: with neither level missing, all four names are present
                and given != MISSING
                and family != MISSING
                and (given_a[0] == family_b[0] or family_a[0] == given_b[0])
            ):
                swap = _swap(a, b, given, family)
                if swap is not None:
                    given, family = swap
                    swapped = True
            if birth_a and birth_b:
                birth = "exact" if birth_a == birth_b else dates_apart(birth_a, birth_b)
            else:
                birth = MISSING
            sex = ("exact" if sex_a == sex_b else "different") if sex_a and sex_b else MISSING
            phone = ("exact" if phone_a == phone_b else "different") if phone_a and phone_b else MISSING
            email = ("exact" if email_a == email_b else "different") if email_a and email_b else MISSING
            if address_a and address_b:
                if address_a == address_b:
                    address = "exact"
                else:
                    # neighbours on one street: `compare_address`'s first test, inline for the common case
                    address = "different" if house_a and house_b and house_a != house_b else address_of(a, b)
            else:
                address = MISSING
            if postal_a and postal_b:  # `compare_postal`
                postal = "exact" if postal_a == postal_b else "first3" if postal_a[:3] == postal_b[:3] else "different"
            else:
                postal = MISSING
            mrn = ("exact" if mrn_a == mrn_b else mrn_of(a, b)) if mrn_a and mrn_b else MISSING
            ssn = ("exact" if ssn_a == ssn_b else ssn_of(ssn_a, ssn_b)) if ssn_a and ssn_b else MISSING
            append(new((given, family, swapped, birth, sex, phone, email, address, postal, mrn, ssn)))
        return levels

    def _two_names(self, a: str, b: str) -> bool:
        """Two spellings that stand for two given names many records hold: each is such a name, or one is and
        the other is one typo (an edit) from another such name but more than one from this one (Charlotye
        beside Charles is Charlotte mistyped)."""
        names = self._names
        if names is None:
            return False
        known_a, known_b = names.known_given(a), names.known_given(b)
        if known_a and known_b:
            return True
        if known_a == known_b:
            return False  # neither is known: nothing says which names they are
        known, other = (a, b) if known_a else (b, a)
        return OSA.distance(other, known, score_cutoff=1) > 1 and self._typo_of_a_name(other)

    def _typo_of_a_name(self, spelling: str) -> bool:
        """One edit from a given name many records hold (cached: the table does not change)."""
        found = self._typos.get(spelling)
        if found is None:
            names = self._names
            found = names is not None and any(OSA.distance(spelling, name, score_cutoff=1) <= 1 for name in names.given)
            self._typos[spelling] = found
        return found

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
        return self.weigh_levels(lv) + self.name_adjustment(a, lv)

    def weigh_levels(self, lv: _Levels) -> float:
        """The summed weight of one comparison pattern, before term-frequency adjustment."""
        given, family, _swapped, birth, sex, phone, email, address, postal, mrn, ssn = lv
        # `lv.household` inline: fitting weighs every pattern once per EM iteration and per prior.
        tables = self._tables[phone == "exact" or address in ("exact", "close")]
        total = (
            tables[0][given]
            + tables[1][family]
            + tables[2][birth]
            + tables[3][sex]
            + tables[5][email]
            + tables[8][mrn]
            + tables[9][ssn]
        )
        terms = self._group.get((phone, address, postal))
        if terms is None:
            terms = self._group[(phone, address, postal)] = self._household_terms(tables, phone, address, postal)
        agreeing, disagreeing = terms
        if agreeing is not None:
            total += agreeing
        if disagreeing is not None:
            total += disagreeing
        return total

    def _household_terms(
        self, tables: tuple[dict[str, float], ...], phone: str, address: str, postal: str
    ) -> tuple[float | None, float | None]:
        """What phone, address and postal code add to a pattern's weight, agreements and disagreements apart
        (None: none of them): the strongest counts in full, each further one at `household_overlap`. Their
        weights do not depend on the household flag, so a matcher works this out once per combination of their
        levels (`_group`)."""
        group = (tables[4][phone], tables[6][address], tables[7][postal])
        agree = [g for g in group if g > 0]
        disagree = [g for g in group if g < 0]
        agreeing = disagreeing = None
        if agree:
            strongest = max(agree)
            agreeing = strongest + self._overlap * (sum(agree) - strongest)
        if disagree:
            strongest = min(disagree)
            disagreeing = strongest + self._overlap * (sum(disagree) - strongest)
        return agreeing, disagreeing

    def name_adjustment(self, a: Person, lv: _Levels) -> float:
        """Term-frequency bits for exactly agreeing names (0 without name frequencies): a common name is weaker
        evidence than a rare one. Not within a household, where a shared family name is expected anyway."""
        names = self._names
        if names is None or lv.household or lv.swapped:
            return 0.0
        bits = 0.0
        if lv.given == "exact":
            bits += names.given_adjustment(a.given)
        if lv.family == "exact":
            bits += names.family_adjustment(a.family)
        return bits

    def name_adjustment_ceiling(self, lv: _Levels) -> float:
        """The most `name_adjustment` can add to a pattern's weight, whatever the names (0 or more)."""
        if self._names is None or lv.household or lv.swapped:
            return 0.0
        given, family = self._name_ceilings
        return (given if lv.given == "exact" else 0.0) + (family if lv.family == "exact" else 0.0)

    def held(self, a: Person, b: Person, lv: _Levels) -> tuple[Hold, ...]:
        """Reasons a pair must not be merged automatically, whatever its score (empty: none)."""
        return hold_reasons(a, b, lv, self._names, self._ssn_reliable)

    def probability(self, weight: float) -> float:
        logit = weight + self._prior_weight
        if logit > 60:
            return 1.0
        if logit < -60:
            return 0.0
        return 1.0 / (1.0 + math.exp2(-logit))

    def decide(self, probability: float) -> Verdict:
        if probability >= self.match_threshold:
            return "match"
        if probability >= self.review_threshold:
            return "review"
        return "distinct"

    def explain(
        self, levels: _Levels, a: Person | None = None, held: tuple[Hold, ...] = ()
    ) -> tuple[FieldComparison, ...]:
        """One `FieldComparison` per field, with the weight as counted and the reason for any correction: the
        household discount, swapped names, the name's frequency (with `a`) and the rules that held the pair."""
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
        if a is not None and self._names is not None and not hh and not levels.swapped:
            for i, (name, level) in enumerate(fields):
                if level != "exact" or name not in ("given_name", "family_name"):
                    continue
                bits = self._names.given_adjustment(a.given) if i == 0 else self._names.family_adjustment(a.family)
                weights[i] += bits
                notes[i] = f"{'common' if bits < 0 else 'uncommon'} name: {bits:+.2f} for its frequency"
        for hold in held:
            i = next(i for i, (name, _) in enumerate(fields) if name == hold.field)
            notes[i] = hold.reason + (f"; {notes[i]}" if notes[i] else "")
        return tuple(
            FieldComparison(name, self.model.outcome(name, level), level, weight, note)
            for (name, level), weight, note in zip(fields, weights, notes, strict=True)
        )

    def score(self, a: Person, b: Person) -> MatchScore:
        levels = self.levels(a, b)
        held = self.held(a, b, levels)
        explanation = self.explain(levels, a, held)
        total = sum(c.weight for c in explanation)
        probability = self.probability(total)
        decision = self.decide(probability)
        if decision == "match" and held:
            decision = "review"
        return MatchScore(probability, total, decision, explanation, self._prior_weight, held)


def _may_be_swapped(a: Person, b: Person) -> bool:
    """A cheap necessary condition for names entered in the wrong boxes: all four names present, and a given
    name starting with the other record's family name's letter (or the other way round)."""
    return bool(
        a.given and a.family and b.given and b.family and (a.given[0] == b.family[0] or a.family[0] == b.given[0])
    )


def _swap(a: Person, b: Person, given: str, family: str) -> tuple[str, str] | None:
    """(given, family) levels with one record's names read the other way round, when that reading is better
    and both names agree in it; None when the names are not swapped. For a pair with a "different" name that
    `_may_be_swapped`."""
    # The reading kept must have both names agreeing, so when the family-name comparison of each reading says
    # "different" (most pairs here), neither can be kept: the given-name comparisons are not needed.
    if (
        _family_level(a.family, a.family_parts, b.given, b.given_parts) == "different"
        and _family_level(a.given, a.given_parts, b.family, b.family_parts) == "different"
    ):
        return None
    s_given, s_family = compare_swapped_names(a, b)
    # Both names must agree once swapped: one name agreeing in the other box is a relative's (a parent's
    # given name used as a child's middle or family name), not a swap.
    if "different" not in (s_given, s_family) and (
        _name_rank(s_given) + _name_rank(s_family) > _name_rank(given) + _name_rank(family)
    ):
        return s_given, s_family
    return None


def score_records(
    a: SourceRecord,
    b: SourceRecord,
    *,
    match_threshold: float = MATCH_THRESHOLD,
    review_threshold: float = REVIEW_THRESHOLD,
    model: MatchModel = DEFAULT_MODEL,
    region: str = "US",
) -> MatchScore:
    """Score two source records (fields as `SourceRecord.fields`: given_name, family_name, birth_date, ...)."""
    matcher = _matcher(model, match_threshold, review_threshold)
    return matcher.score(person_from_record(a, region), person_from_record(b, region))


@lru_cache(maxsize=16)
def _matcher(model: MatchModel, match_threshold: float, review_threshold: float) -> Matcher:
    return Matcher(model, match_threshold, review_threshold)
