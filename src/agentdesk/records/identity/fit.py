"""Fitting: a Fellegi-Sunter model estimated from the records being linked, the way Splink does it.

* u-probabilities (how often different people agree by chance) from the population: an exact agreement's u is
  the chance two random records share a value (the sum of squared value shares, computed exactly), the other
  levels' u from random pairs.
* m-probabilities (how often one person's two records agree) by expectation-maximisation over the candidate
  pairs, one EM session per blocking pass, each leaving out the fields its pass blocked on. The pairs a name
  pass finds agree on names whether or not they are one person, so that pass says nothing about the names' m;
  it does say how often one person's birth dates or addresses differ. Each field's m is the average over the
  sessions that left it free, weighted by their expected matches. (One EM over all candidate pairs would see
  namesakes as a second kind of match and learn that matches often have different birth dates.)
* the prior (the chance two random records are one person): the expected matches among the candidate pairs,
  summed with the fitted weights, over all possible pairs, refined to a fixed point.

Household u-probabilities stay as in the starting model (random pairs are almost never one household), unless the
candidate pairs sharing a phone or an address are nearly all one person: then the records show no households
and plain u is used throughout (`HOUSEHOLD_SHARE`). Every
estimate is smoothed towards the starting model with `pseudo` observations' weight, so a level the data rarely
shows keeps a sensible value. Fewer than `MIN_PAIRS` candidate pairs: the starting model is returned (one
caller's handful of records cannot fit a model; the desk uses one fitted offline, config `matching.model`).
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import replace
from functools import reduce
from itertools import chain, repeat
from operator import add, attrgetter, mul

from agentdesk.records.identity.blocking import Blocking
from agentdesk.records.identity.model import DEFAULT_MODEL, FieldModel, FitSummary, Level, MatchModel, NameFrequencies
from agentdesk.records.identity.normalise import Person
from agentdesk.records.identity.schema import MATCH_FIELDS, MISSING
from agentdesk.records.identity.scoring import Matcher, _Levels, _new_levels

MIN_PAIRS = 200
RANDOM_PAIRS = 10_000
# Which fields each pass blocked on (left out of its EM session). Person attribute -> matcher field.
_PASS_FIELDS: dict[str, frozenset[str]] = {
    "p": frozenset({"phone"}),
    "e": frozenset({"email"}),
    "m": frozenset({"mrn"}),
    "s": frozenset({"ssn"}),
    "b": frozenset({"birth_date", "given_name", "family_name"}),  # date forms carry a name's initial
    "n": frozenset({"given_name", "family_name", "birth_date"}),  # swapped-name keys carry the birth year
    "a": frozenset({"postal_code", "address_line", "given_name", "family_name"}),
}
# Person value each field's exact agreement is counted on.
_VALUES = {
    "given_name": "given",
    "family_name": "family",
    "birth_date": "birth_date",
    "sex": "sex",
    "phone": "phone",
    "email": "email",
    "address_line": "address",
    "postal_code": "postal_code",
    "mrn": "mrn",
    "ssn": "ssn",
}


def name_frequencies(*populations: Sequence[Person]) -> NameFrequencies:
    """Given and family name frequencies over all the records being linked."""
    people = list(chain.from_iterable(populations))
    return NameFrequencies.count(list(map(attrgetter("given"), people)), list(map(attrgetter("family"), people)))


def fit_model(
    blocking: Blocking,
    levels: Sequence[_Levels],
    left: Sequence[Person],
    right: Sequence[Person] | None = None,
    start: MatchModel = DEFAULT_MODEL,
    *,
    pseudo: float = 5.0,
    seed: int = 0,
    names: NameFrequencies | None = None,
) -> MatchModel:
    """The model fitted to `left` (and `right`) from the candidate pairs `blocking` found (`levels`: each pair's
    comparison pattern, in `blocking.pairs` order; `names`: `name_frequencies` of the records, when the caller
    has them already)."""
    people = (left,) if right is None else (left, right)
    if names is None:
        names = name_frequencies(*people)
    if len(levels) < MIN_PAIRS:
        return replace(start, names=names)
    sharing = _sharing(left, right)
    model = estimate_u_from_population(left, right, start, pseudo=pseudo, seed=seed, sharing=sharing)
    model = replace(model, names=None)
    # The distinct patterns are numbered (in C), so that each pass counts its pairs' numbers rather than hashing
    # every pair's pattern again. Counters keep first-seen order, so the per-pass counts below list the patterns
    # in the same order as counting the patterns themselves: the EM sums add up in the same order.
    patterns = Counter(levels)
    distinct = list(patterns)
    numbers = list(map({lv: k for k, lv in enumerate(distinct)}.__getitem__, levels))
    iterations, converged = 0, True
    for tag, indexes in blocking.by_pass.items():
        if not indexes:
            continue
        in_pass = Counter(map(numbers.__getitem__, indexes))
        model, _prior, used, done = estimate_m(
            model,
            Counter({distinct[k]: count for k, count in in_pass.items()}),
            _PASS_FIELDS.get(tag, frozenset()),
            start,
            pseudo,
        )
        iterations += used
        converged = converged and done
    possible = len(left) * (len(left) - 1) // 2 if right is None else len(left) * len(right)
    weighed = _Weighed(patterns)
    model = _fit_prior(model, weighed, possible)
    ssns = list(filter(None, map(attrgetter("ssn"), chain.from_iterable(people))))
    floors = {("ssn", "one_digit"): one_typo_chance(ssns)}
    model = _fit_prior(_u_from_candidates(model, weighed, possible, sharing, floors), weighed, possible)
    model = _fit_prior(_without_households_if_none(model, weighed), weighed, possible)
    records = sum(len(p) for p in people)
    return replace(model, names=names, fitted=FitSummary(len(levels), records, iterations, converged))


def estimate_u_from_population(
    left: Sequence[Person],
    right: Sequence[Person] | None,
    start: MatchModel = DEFAULT_MODEL,
    *,
    pairs: int = RANDOM_PAIRS,
    pseudo: float = 5.0,
    seed: int = 0,
    sharing: dict[str, tuple[int, int]] | None = None,
) -> MatchModel:
    """u of every level from the population: exact agreement from value shares (`sharing`: each field's
    `_pairs_sharing`, worked out here when not given), the rest from random pairs."""
    others = left if right is None else right
    if sharing is None:
        sharing = _sharing(left, right)
    rng = random.Random(seed)
    choice = rng.choice
    # Drawn in the order of one pair at a time (a left record, then a right one), then compared all at once.
    drawn = [choice(population) for _ in range(pairs) for population in (left, others)]
    # Random pairs repeat a few hundred comparison patterns: counted whole, then split into fields.
    patterns = Counter(Matcher(start).levels_of_pairs(zip(drawn[0::2], drawn[1::2], strict=True)))
    counts: Counter[tuple[str, str]] = Counter()
    for pattern, times in patterns.items():
        for name, level_name in pattern.by_field():
            if level_name != MISSING:
                counts[(name, level_name)] += times
    fields = []
    for field_model in start.fields:
        shared, total = sharing[field_model.name]
        exact = max(shared, 0.5) / total if total else None  # P(two records share a value | both have one)
        sampled = {lv.name: counts[(field_model.name, lv.name)] for lv in field_model.levels if lv.name != "exact"}
        rest = sum(sampled.values())
        levels = []
        for level in field_model.levels:
            if level.name == "exact":
                u = exact if exact is not None else level.u
            else:
                share = 1.0 - (exact if exact is not None else 0.0)
                u = share * (sampled[level.name] + pseudo * level.u) / (rest + pseudo)
            levels.append(replace(level, u=max(u, 1e-9)))
        fields.append(replace(field_model, levels=tuple(_normalised(levels, "u"))))
    return replace(start, fields=tuple(fields))


def _sharing(left: Sequence[Person], right: Sequence[Person] | None) -> dict[str, tuple[int, int]]:
    """Each field's `_pairs_sharing` (`right` None: pairs within `left`)."""
    others = left if right is None else right
    return {name: _pairs_sharing(left, others, attribute) for name, attribute in _VALUES.items()}


def _pairs_sharing(left: Sequence[Person], right: Sequence[Person], attribute: str) -> tuple[int, int]:
    """(pairs sharing a value, pairs where both have a value), pairs of distinct records when `right` is `left`."""
    value = attrgetter(attribute)
    left_counts = Counter(filter(None, map(value, left)))
    n_left = sum(left_counts.values())
    if right is left:
        shared = sum(map(mul, left_counts.values(), left_counts.values()))
        return (shared - n_left) // 2, n_left * (n_left - 1) // 2
    # Each right value is looked up, not counted: the pairs sharing a value are, summed over the right records,
    # how many left records hold its value.
    right_values = list(filter(None, map(value, right)))
    return sum(map(left_counts.get, right_values, repeat(0))), n_left * len(right_values)


def _normalised(levels: list[Level], side: str) -> list[Level]:
    """The levels with their m (or u) scaled to add up to 1."""
    total = sum(getattr(level, side) for level in levels)
    if side == "m":
        return [replace(level, m=level.m / total) for level in levels]
    return [replace(level, u=level.u / total) for level in levels]


def estimate_m(
    model: MatchModel,
    patterns: Counter[_Levels],
    blocked: frozenset[str] = frozenset(),
    start: MatchModel = DEFAULT_MODEL,
    pseudo: float = 5.0,
    max_iterations: int = 40,
    tolerance: float = 1e-4,
) -> tuple[MatchModel, float, int, bool]:
    """One EM session: the m of the fields not `blocked`, with u fixed, and the session's own share of matches.
    Returns (model, share of matches among `patterns`, iterations, converged)."""
    masked: Counter[_Levels] = Counter()
    blank = [k for k, name in enumerate(_LEVEL_FIELDS) if name in blocked]
    for lv, count in patterns.items():
        masked[_mask(lv, blank)] += count
    levels, counts = list(masked), list(masked.values())
    total = sum(counts)
    # An iteration weighs each pattern once and adds up each (field, level)'s probabilities with `_sums` (the
    # blocked fields are missing in every masked pattern, so they hold no level).
    holders = _holders(levels)
    prior = 0.1
    for iteration in range(1, max_iterations + 1):
        matcher = Matcher(model, 0.5, 0.5, prior=prior)
        weigh, probability = matcher.weigh_levels, matcher.probability
        shares = [probability(weigh(lv)) * count for lv, count in zip(levels, counts, strict=True)]
        matches = reduce(add, shares, 0.0)
        m_counts = _sums(shares, holders)
        updated = tuple(
            _m_field(f, start.field_model(f.name), m_counts, pseudo) if f.name not in blocked else f
            for f in model.fields
        )
        new_prior = min(max(matches / total, 1e-6), 0.999)
        change = max(abs(new_prior - prior), _largest_m_change(model.fields, updated))
        model, prior = replace(model, fields=updated), new_prior
        if change < tolerance:
            return model, prior, iteration, True
    return model, prior, max_iterations, False


def _mask(lv: _Levels, blank: list[int]) -> _Levels:
    """The pattern with the values at `blank` (positions in `_Levels`) missing."""
    if not blank:
        return lv
    values: list[str | bool] = list(lv)
    for k in blank:
        values[k] = MISSING
    return _new_levels(values)


def _holders(levels: Sequence[_Levels]) -> defaultdict[tuple[str, str], list[int]]:
    """(field, level) -> the patterns holding that level, in pattern order (a level present: not missing)."""
    holders: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
    for n, lv in enumerate(levels):
        for key in lv.by_field():
            if key[1] != MISSING:
                holders[key].append(n)
    return holders


def _sums(values: list[float], holders: defaultdict[tuple[str, str], list[int]]) -> defaultdict[tuple[str, str], float]:
    """(field, level) -> the sum of `values` over the patterns holding that level: added left to right from 0.0
    with `reduce` (in C), the same sums in the same order as adding pattern by pattern into a defaultdict."""
    sums: defaultdict[tuple[str, str], float] = defaultdict(float)
    for key, holding in holders.items():
        sums[key] = reduce(add, map(values.__getitem__, holding), 0.0)
    return sums


class _Weighed:
    """The candidate pairs' distinct patterns and their counts, with each pattern's weight under a model's m/u
    table worked out once per table: fitting the prior changes only the prior, so the corrections between the
    prior's fits read weights already worked out."""

    def __init__(self, patterns: Counter[_Levels]) -> None:
        self.levels = list(patterns)
        self.counts = list(patterns.values())
        self.holders = _holders(self.levels)
        # id(model.fields) -> (the fields, kept so that the id is not reused; household_overlap; the weights)
        self._weights: dict[int, tuple[tuple[FieldModel, ...], float, list[float]]] = {}

    def weights(self, model: MatchModel) -> list[float]:
        known = self._weights.get(id(model.fields))
        if known is not None and known[1] == model.household_overlap:
            return known[2]
        weigh = Matcher(model).weigh_levels
        weights = [weigh(lv) for lv in self.levels]
        self._weights[id(model.fields)] = (model.fields, model.household_overlap, weights)
        return weights


# The matcher field each of `_Levels`' values is (None: `swapped`, which no pass blocks on): `_Levels` lists the
# fields in MATCH_FIELDS order with `swapped` third.
_LEVEL_FIELDS: tuple[str | None, ...] = (*MATCH_FIELDS[:2], None, *MATCH_FIELDS[2:])


def _m_field(
    current: FieldModel, start: FieldModel, m_counts: defaultdict[tuple[str, str], float], pseudo: float
) -> FieldModel:
    total = sum(m_counts[(current.name, lv.name)] for lv in current.levels)
    levels = [
        replace(level, m=(m_counts[(current.name, level.name)] + pseudo * first.m) / (total + pseudo))
        for level, first in zip(current.levels, start.levels, strict=True)
    ]
    return replace(current, levels=tuple(levels))


def _largest_m_change(before: Sequence[FieldModel], after: Sequence[FieldModel]) -> float:
    return max(
        (
            abs(a.m - b.m)
            for old, new in zip(before, after, strict=True)
            for a, b in zip(old.levels, new.levels, strict=True)
        ),
        default=0.0,
    )


def one_typo_chance(values: Sequence[str]) -> float:
    """The chance that a stranger's identifier is one typo away from a record's: of the numbers as long as
    this one, the share one digit changed or two neighbours swapped away (9L + L - 1 of 10^L numbers, for an
    L-digit number), averaged over the records' identifiers (0 without any). Numbers spread over their space
    (as SSNs are) are this close by chance; numbers issued in sequence are closer, never further apart."""
    # The chance depends on the length and the alphabet only: worked out once for each (length, digits only).
    kinds = [(len(value), value.isdigit()) for value in values if value]
    chance = {
        (size, digits): ((alphabet - 1) * size + size - 1) / float(alphabet) ** size
        for size, digits in set(kinds)
        for alphabet in (10 if digits else 36,)
    }
    chances = list(map(chance.__getitem__, kinds))
    return sum(chances) / len(chances) if chances else 0.0


def _u_from_candidates(
    model: MatchModel,
    weighed: _Weighed,
    possible: int,
    sharing: dict[str, tuple[int, int]],
    floors: dict[tuple[str, str], float] | None = None,
) -> MatchModel:
    """Correct u with what the fitted model says about the candidate pairs.

    * An exact agreement's u counted from value shares includes the true pairs (a deduplication with many
      copies of one person shares their SSN many times): the expected matches agreeing are taken out.
    * Random pairs almost never land on a rare level (SSNs one digit apart); the candidate pairs hold all of
      them when a pass blocks on that field, so each level's u is at least its expected non-matches among the
      candidate pairs over all possible pairs.
    * A level's u is never below its floor (SSNs one typo apart: `one_typo_chance`). The candidate pairs
      cannot show it when the model takes strangers whose numbers happen to be one digit apart for one person
      (their pairs count as matches, not as the non-matches u is counted from), and a one-typo agreement then
      weighed nearly as much as an exact one."""
    probability = Matcher(model).probability
    chances = list(map(probability, weighed.weights(model)))
    counts = weighed.counts
    matches = _sums([count * p for count, p in zip(counts, chances, strict=True)], weighed.holders)
    others = _sums([count * (1.0 - p) for count, p in zip(counts, chances, strict=True)], weighed.holders)
    fields = []
    for f in model.fields:
        levels = []
        for level in f.levels:
            u = max(level.u, others[(f.name, level.name)] / possible, (floors or {}).get((f.name, level.name), 0.0))
            shared, total = sharing[f.name]
            if level.name == "exact" and total:
                chance = max(shared - matches[(f.name, "exact")], 0.5) / total
                u = max(chance, others[(f.name, "exact")] / possible)
            levels.append(replace(level, u=u))
        fields.append(replace(f, levels=tuple(_normalised(_monotone(levels), "u"))))
    return replace(model, fields=tuple(fields))


def _monotone(levels: list[Level]) -> list[Level]:
    """No partial agreement outweighs the exact one (SSNs one digit apart are not better evidence than equal
    ones, however rarely strangers' numbers happen to be one digit apart): raise such a level's u."""
    exact = next((level for level in levels if level.name == "exact"), None)
    if exact is None:
        return levels
    ratio = exact.u / exact.m
    return [level if level.name == "exact" else replace(level, u=max(level.u, level.m * ratio)) for level in levels]


# Below this share of non-matches among the candidate pairs sharing a phone or an address, the records show no
# households (FEBRL: everyone at an address is one person), and the within-household u-probabilities, which
# assume parents, children and twins share those, would only weaken the evidence of true pairs.
HOUSEHOLD_SHARE = 0.02


def _without_households_if_none(model: MatchModel, weighed: _Weighed) -> MatchModel:
    plain = replace(
        model,
        fields=tuple(
            replace(f, levels=tuple(replace(level, u_household=None) for level in f.levels)) for f in model.fields
        ),
    )
    probability = Matcher(plain).probability
    shared = others = 0.0
    for lv, count, weight in zip(weighed.levels, weighed.counts, weighed.weights(plain), strict=True):
        if lv.household:
            shared += count
            others += count * (1.0 - probability(weight))
    if shared and others / shared < HOUSEHOLD_SHARE:
        return plain
    return model


def _fit_prior(model: MatchModel, weighed: _Weighed, possible: int, rounds: int = 30) -> MatchModel:
    """The prior at which the expected matches among the candidate pairs, over all possible pairs, reproduce it."""
    prior = min(max(model.prior, 1.0 / max(possible, 1)), 0.5)
    weights = list(zip(weighed.weights(model), weighed.counts, strict=True))
    for _ in range(rounds):
        logit = math.log2(prior / (1 - prior))
        expected = sum(count / (1.0 + math.exp2(-(w + logit))) for w, count in weights)
        new_prior = min(max(expected / max(possible, 1), 1e-12), 0.5)
        if abs(math.log(new_prior / prior)) < 1e-4:
            prior = new_prior
            break
        prior = new_prior
    return replace(model, prior=prior)
