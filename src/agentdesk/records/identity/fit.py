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
from operator import attrgetter

from agentdesk.records.identity.blocking import Blocking
from agentdesk.records.identity.model import DEFAULT_MODEL, FieldModel, FitSummary, Level, MatchModel, NameFrequencies
from agentdesk.records.identity.normalise import Person
from agentdesk.records.identity.schema import MATCH_FIELDS, MISSING
from agentdesk.records.identity.scoring import Matcher, _Levels

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
    people = [p for population in populations for p in population]
    return NameFrequencies.count([p.given for p in people], [p.family for p in people])


def fit_model(
    blocking: Blocking,
    levels: Sequence[_Levels],
    left: Sequence[Person],
    right: Sequence[Person] | None = None,
    start: MatchModel = DEFAULT_MODEL,
    *,
    pseudo: float = 5.0,
    seed: int = 0,
) -> MatchModel:
    """The model fitted to `left` (and `right`) from the candidate pairs `blocking` found (`levels`: each pair's
    comparison pattern, in `blocking.pairs` order)."""
    people = (left,) if right is None else (left, right)
    names = name_frequencies(*people)
    if len(levels) < MIN_PAIRS:
        return replace(start, names=names)
    sharing = _sharing(left, right)
    model = estimate_u_from_population(left, right, start, pseudo=pseudo, seed=seed, sharing=sharing)
    model = replace(model, names=None)
    iterations, converged = 0, True
    for tag, indexes in blocking.by_pass.items():
        if not indexes:
            continue
        patterns = Counter(levels[k] for k in indexes)
        model, _prior, used, done = estimate_m(model, patterns, _PASS_FIELDS.get(tag, frozenset()), start, pseudo)
        iterations += used
        converged = converged and done
    possible = len(left) * (len(left) - 1) // 2 if right is None else len(left) * len(right)
    patterns = Counter(levels)
    model = _fit_prior(model, patterns, possible)
    floors = {("ssn", "one_digit"): one_typo_chance([p.ssn for population in people for p in population])}
    model = _fit_prior(_u_from_candidates(model, patterns, possible, sharing, floors), patterns, possible)
    model = _fit_prior(_without_households_if_none(model, patterns), patterns, possible)
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
    comparer = Matcher(start)
    compare, choice = comparer.levels, rng.choice
    # Random pairs repeat a few hundred comparison patterns: counted whole, then split into fields.
    patterns = Counter(compare(choice(left), choice(others)) for _ in range(pairs))
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
    right_counts = left_counts if right is left else Counter(filter(None, map(value, right)))
    n_left, n_right = sum(left_counts.values()), sum(right_counts.values())
    shared = sum(n * right_counts.get(v, 0) for v, n in left_counts.items())
    if right is left:
        return (shared - n_left) // 2, n_left * (n_left - 1) // 2
    return shared, n_left * n_right


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
    free_index = [k for k, name in enumerate(MATCH_FIELDS) if name not in blocked]
    masked: Counter[_Levels] = Counter()
    for lv, count in patterns.items():
        masked[_mask(lv, blocked)] += count
    items = list(masked.items())
    total = sum(masked.values())
    prior = 0.1
    for iteration in range(1, max_iterations + 1):
        matcher = Matcher(replace(model, prior=prior), 0.5, 0.5)
        m_counts: defaultdict[tuple[str, str], float] = defaultdict(float)
        matches = 0.0
        for lv, count in items:
            p = matcher.probability(matcher.weigh_levels(lv)) * count
            matches += p
            fields = lv.by_field()
            for k in free_index:
                name, level_name = fields[k]
                if level_name != MISSING:
                    m_counts[(name, level_name)] += p
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


def _mask(lv: _Levels, blocked: frozenset[str]) -> _Levels:
    if not blocked:
        return lv
    changes: dict[str, str] = {}
    for name, attribute in (
        ("given_name", "given"),
        ("family_name", "family"),
        ("birth_date", "birth_date"),
        ("sex", "sex"),
        ("phone", "phone"),
        ("email", "email"),
        ("address_line", "address"),
        ("postal_code", "postal"),
        ("mrn", "mrn"),
        ("ssn", "ssn"),
    ):
        if name in blocked:
            changes[attribute] = MISSING
    return lv._replace(**changes)  # type: ignore[arg-type]  # every key names a str field


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
    chances = []
    for value in values:
        if value:
            size = len(value)
            alphabet = 10 if value.isdigit() else 36
            chances.append(((alphabet - 1) * size + size - 1) / float(alphabet) ** size)
    return sum(chances) / len(chances) if chances else 0.0


def _u_from_candidates(
    model: MatchModel,
    patterns: Counter[_Levels],
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
    matcher = Matcher(model)
    matches: defaultdict[tuple[str, str], float] = defaultdict(float)
    others: defaultdict[tuple[str, str], float] = defaultdict(float)
    for lv, count in patterns.items():
        p = matcher.probability(matcher.weigh_levels(lv))
        for name, level_name in lv.by_field():
            if level_name != MISSING:
                matches[(name, level_name)] += count * p
                others[(name, level_name)] += count * (1.0 - p)
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


def _without_households_if_none(model: MatchModel, patterns: Counter[_Levels]) -> MatchModel:
    plain = replace(
        model,
        fields=tuple(
            replace(f, levels=tuple(replace(level, u_household=None) for level in f.levels)) for f in model.fields
        ),
    )
    matcher = Matcher(plain)
    shared = others = 0.0
    for lv, count in patterns.items():
        if lv.household:
            shared += count
            others += count * (1.0 - matcher.probability(matcher.weigh_levels(lv)))
    if shared and others / shared < HOUSEHOLD_SHARE:
        return plain
    return model


def _fit_prior(model: MatchModel, patterns: Counter[_Levels], possible: int, rounds: int = 30) -> MatchModel:
    """The prior at which the expected matches among the candidate pairs, over all possible pairs, reproduce it."""
    prior = min(max(model.prior, 1.0 / max(possible, 1)), 0.5)
    weigh = Matcher(model).weigh_levels
    weights = [(weigh(lv), count) for lv, count in patterns.items()]
    for _ in range(rounds):
        logit = math.log2(prior / (1 - prior))
        expected = sum(count / (1.0 + math.exp2(-(w + logit))) for w, count in weights)
        new_prior = min(max(expected / max(possible, 1), 1e-12), 0.5)
        if abs(math.log(new_prior / prior)) < 1e-4:
            prior = new_prior
            break
        prior = new_prior
    return replace(model, prior=prior)
