"""The batch paths of the identity matcher against the readable definitions they must reproduce exactly: a
batch's comparison patterns (`Matcher.levels_of_pairs`) against `Matcher.levels` pair by pair, the comparators'
shortcuts against their plain definitions, and the fitting's sums against the plain loops they replaced. A fitted
model and a link's output are byte for byte those of the plain code, so equality here is exact, never approximate.
All records are synthetic."""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from dataclasses import replace
from itertools import product

from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import OSA, JaroWinkler

from agentdesk.records.identity import (
    DEFAULT_MODEL,
    MATCH_FIELDS,
    MISSING,
    Levels,
    Matcher,
    NameFrequencies,
    estimate_m,
    person_from_fields,
)
from agentdesk.records.identity.compare import _close, _dates_apart, _dates_apart_by_digit
from agentdesk.records.identity.fit import _m_field, _pairs_sharing
from agentdesk.records.identity.model import MatchModel
from agentdesk.records.identity.normalise import Person
from tests.records.test_identity import ROBERT

# Pairs that take every branch of the comparators: swapped names, nicknames, names cut short, initials, middle
# names, double-barrelled names, twins and other household members, typos in dates and identifiers, missing values.
HARD = [
    ROBERT,
    {**ROBERT, "given_name": "Bob"},
    {**ROBERT, "given_name": "Rob", "birth_date": "1980-12-04"},
    {**ROBERT, "given_name": "O'Brien", "family_name": "Robert"},  # names in the wrong boxes
    {**ROBERT, "given_name": "Obrien", "family_name": "Bob"},
    {**ROBERT, "given_name": "R"},
    {**ROBERT, "given_name": "Robert James"},
    {**ROBERT, "given_name": "Roberta", "sex": "female", "birth_date": "1980-04-21"},
    {**ROBERT, "given_name": "Jac", "family_name": "O'Brien-Smith"},
    {**ROBERT, "given_name": "Jacqueline", "family_name": "Smith", "birth_date": "1980-04-13"},
    {**ROBERT, "given_name": "Charlotte", "birth_date": "1980-14-02"},
    {**ROBERT, "given_name": "Charles", "birth_date": "1908-04-12"},
    {**ROBERT, "given_name": "Charlotye", "birth_date": "9180-04-12"},
    {**ROBERT, "given_name": "Olivia", "family_name": "Obrian", "email": ""},
    {**ROBERT, "given_name": "Olive", "family_name": "Obrien", "ssn": "912-34-5678"},
    {**ROBERT, "given_name": "Emily", "birth_date": "2012-09-30", "sex": "female", "ssn": "912-34-5687"},
    {**ROBERT, "given_name": "", "family_name": "", "birth_date": "", "sex": "", "phone": ""},
    {**ROBERT, "email": "", "address_line": "", "postal_code": "", "mrn": "A1001", "mrn_system": "urn:a"},
    {**ROBERT, "address_line": "12 North Main Stret", "postal_code": "02134-1234", "mrn": "A2002"},
    {**ROBERT, "address_line": "14 North Main Street", "postal_code": "02199", "mrn": "A1001", "mrn_system": "urn:b"},
    {**ROBERT, "address_line": "North Main Street Apt 4", "postal_code": "03134", "ssn": "987-65-4329"},
    {**ROBERT, "address_line": "12 North Main Street", "postal_code": "02934", "phone": ""},
    {**ROBERT, "given_name": "Liam", "family_name": "Quinn", "phone": "(617) 555-0199", "birth_date": "1908-04-21"},
]
NAMES = NameFrequencies.count(["charlotte"] * 6 + ["charles"] * 6 + ["olivia"] * 5 + ["olive"] * 5, ["obrien"] * 5)
MATCHERS = (Matcher(), Matcher(replace(DEFAULT_MODEL, names=NAMES)))


def _agree(pairs: list[tuple[Person, Person]]) -> None:
    for matcher in MATCHERS:
        batch = matcher.levels_of_pairs(iter(pairs))
        assert batch == [matcher.levels(a, b) for a, b in pairs]
        assert all(type(lv) is Levels for lv in batch)


def test_batch_levels_are_the_levels_of_each_pair_on_hard_cases() -> None:
    people = [person_from_fields(fields) for fields in HARD]
    _agree([(a, b) for a in people for b in people])


_given = st.sampled_from(["Robert", "Bob", "Rob", "R", "Robert James", "Jac", "Jacqueline", "Charlotte", "Charles"])
_family = st.sampled_from(["O'Brien", "Obrien", "O'Brien-Smith", "Smith", "Smyth", "Robert", "Bob", "Quinn"])
_typed = st.text("abcehlortv -'", max_size=10)
_digits = st.text("0129", min_size=4, max_size=4)


@st.composite
def _people(draw: st.DrawFn) -> Person:
    month_day = draw(st.sampled_from(["0412", "1204", "0421", "1402", "0413", ""]))
    year = draw(st.sampled_from(["1980", "1908", "1981", "9180", ""]))
    return person_from_fields(
        {
            "given_name": draw(st.one_of(_given, _typed)),
            "family_name": draw(st.one_of(_family, _typed)),
            "birth_date": f"{year}-{month_day[:2]}-{month_day[2:]}" if year and month_day else "",
            "sex": draw(st.sampled_from(["male", "female", ""])),
            "phone": draw(st.sampled_from(["617-555-0123", "617-555-0124", ""])),
            "email": draw(st.sampled_from(["a@example.org", "b@example.org", ""])),
            "address_line": draw(st.sampled_from(["12 Main St", "12 Main Street Apt 4", "14 Main St", "Main St", ""])),
            "postal_code": draw(st.sampled_from(["02134", "02199", "02934", "03134", ""])),
            "mrn": draw(st.sampled_from(["A1001", "A2002", ""])),
            "mrn_system": draw(st.sampled_from(["urn:a", "urn:b", ""])),
            "ssn": draw(st.one_of(st.just(""), _digits.map(lambda d: f"912-34-{d}"))),
        }
    )


@settings(max_examples=200, deadline=None)
@given(pairs=st.lists(st.tuples(_people(), _people()), min_size=1, max_size=12))
def test_batch_levels_are_the_levels_of_each_pair(pairs: list[tuple[Person, Person]]) -> None:
    _agree(pairs)


def _plain_close(a: str, b: str) -> bool:
    return JaroWinkler.similarity(a, b) >= 0.88 or (min(len(a), len(b)) >= 5 and OSA.distance(a, b) <= 1)


@st.composite
def _spelling_and_typo(draw: st.DrawFn) -> tuple[str, str]:
    word = draw(st.text("abcdeh", min_size=1, max_size=9))
    k = draw(st.integers(0, len(word)))
    letter = draw(st.sampled_from("abcdeh"))
    typo = draw(
        st.sampled_from(
            [
                word[:k] + letter + word[k:],  # added
                word[:k] + word[k + 1 :],  # dropped
                word[:k] + letter + word[k + 1 :],  # changed
                word[:k] + word[k + 1 : k + 2] + word[k : k + 1] + word[k + 2 :],  # neighbours swapped
                draw(st.text("abcdeh", min_size=1, max_size=9)),  # another word
            ]
        )
    )
    return word, typo or letter


@settings(max_examples=500, deadline=None)
@given(words=_spelling_and_typo())
def test_close_skips_the_edit_distance_only_when_it_cannot_be_one(words: tuple[str, str]) -> None:
    assert _close(*words) == _plain_close(*words)


@st.composite
def _two_dates(draw: st.DrawFn) -> tuple[str, str]:
    date = draw(st.text("0123", min_size=8, max_size=8))
    k = draw(st.integers(0, 7))
    other = draw(
        st.sampled_from(
            [
                date[:k] + draw(st.sampled_from("0123")) + date[k + 1 :],
                date[:k] + date[k + 1 : k + 2] + date[k : k + 1] + date[k + 2 :],
                date[:4] + date[6:] + date[4:6],
                draw(st.text("0123", min_size=8, max_size=8)),
            ]
        )
    )
    return date, other


@settings(max_examples=500, deadline=None)
@given(dates=_two_dates())
def test_dates_compared_by_halves_as_digit_by_digit(dates: tuple[str, str]) -> None:
    if dates[0] != dates[1]:
        assert _dates_apart(*dates) == _dates_apart_by_digit(*dates)


def _plain_weight(matcher: Matcher, model: MatchModel, lv: Levels) -> float:
    """`Matcher.weigh_levels` as first written: every field's weight looked up, the household fields grouped."""
    person_fields = {"given_name", "family_name", "birth_date", "sex", "email", "ssn"}
    weights = {name: model.weight(name, level, lv.household and name in person_fields) for name, level in lv.by_field()}
    total = (
        weights["given_name"]
        + weights["family_name"]
        + weights["birth_date"]
        + weights["sex"]
        + weights["email"]
        + weights["mrn"]
        + weights["ssn"]
    )
    group = (weights["phone"], weights["address_line"], weights["postal_code"])
    agree = [g for g in group if g > 0]
    disagree = [g for g in group if g < 0]
    if agree:
        total += max(agree) + model.household_overlap * (sum(agree) - max(agree))
    if disagree:
        total += min(disagree) + model.household_overlap * (sum(disagree) - min(disagree))
    return total


def _patterns(rng: random.Random, size: int) -> list[Levels]:
    levels = {f.name: [lv.name for lv in f.levels] + [MISSING] for f in DEFAULT_MODEL.fields}
    return [
        Levels(
            rng.choice(levels["given_name"]),
            rng.choice(levels["family_name"]),
            rng.random() < 0.1,
            *(rng.choice(levels[name]) for name in MATCH_FIELDS[2:]),
        )
        for _ in range(size)
    ]


def test_weights_are_the_plain_sum_for_every_household_combination() -> None:
    rng = random.Random(7)
    phone, address, postal = (
        [lv.name for lv in DEFAULT_MODEL.field_model(name).levels] + [MISSING]
        for name in ("phone", "address_line", "postal_code")
    )
    for model in (DEFAULT_MODEL, replace(DEFAULT_MODEL, household_overlap=0.35)):
        matcher = Matcher(model)
        for lv, levels in product(_patterns(rng, 40), product(phone, address, postal)):
            pattern = lv._replace(phone=levels[0], address=levels[1], postal=levels[2])
            assert matcher.weigh_levels(pattern) == _plain_weight(matcher, model, pattern)


def _plain_estimate_m(
    model: MatchModel, patterns: Counter[Levels], blocked: frozenset[str], iterations: int
) -> tuple[MatchModel, float]:
    """EM as first written: a matcher per iteration, each pattern's probability added field by field."""
    names = dict(
        zip(
            MATCH_FIELDS,
            ("given", "family", "birth_date", "sex", "phone", "email", "address", "postal", "mrn", "ssn"),
            strict=True,
        )
    )
    masked: Counter[Levels] = Counter()
    for lv, count in patterns.items():
        masked[lv._replace(**{names[name]: MISSING for name in blocked})] += count
    total, prior = sum(masked.values()), 0.1
    for _ in range(iterations):
        matcher = Matcher(replace(model, prior=prior), 0.5, 0.5)
        m_counts: defaultdict[tuple[str, str], float] = defaultdict(float)
        matches = 0.0
        for lv, count in masked.items():
            p = matcher.probability(matcher.weigh_levels(lv)) * count
            matches += p
            for name, level in lv.by_field():
                if level != MISSING and name not in blocked:
                    m_counts[(name, level)] += p
        fields = tuple(
            _m_field(f, DEFAULT_MODEL.field_model(f.name), m_counts, 5.0) if f.name not in blocked else f
            for f in model.fields
        )
        model, prior = replace(model, fields=fields), min(max(matches / total, 1e-6), 0.999)
    return model, prior


def test_em_sums_are_the_plain_loop_s_to_the_last_bit() -> None:
    rng = random.Random(11)
    for blocked in (frozenset(), frozenset({"phone"}), frozenset({"birth_date", "given_name", "family_name"})):
        patterns = Counter({lv: rng.randint(1, 300) for lv in _patterns(rng, 300)})
        fitted, prior, used, _ = estimate_m(DEFAULT_MODEL, patterns, blocked, max_iterations=6, tolerance=0.0)
        plain, plain_prior = _plain_estimate_m(DEFAULT_MODEL, patterns, blocked, used)
        assert (fitted.fields, prior) == (plain.fields, plain_prior)
        assert not math.isnan(prior)


@settings(max_examples=100, deadline=None)
@given(
    left=st.lists(st.sampled_from(["", "a", "b", "c", "d"]), max_size=30),
    right=st.lists(st.sampled_from(["", "a", "b", "e"]), max_size=30),
)
def test_value_shares_count_the_pairs_sharing_a_value(left: list[str], right: list[str]) -> None:
    lefts = [Person(phone=v) for v in left]
    rights = [Person(phone=v) for v in right]
    assert _pairs_sharing(lefts, rights, "phone") == (
        sum(1 for a in left for b in right if a and a == b),
        sum(1 for a in left if a) * sum(1 for b in right if b),
    )
    present = [v for v in left if v]
    same = sum(1 for i, a in enumerate(present) for b in present[i + 1 :] if a == b)
    assert _pairs_sharing(lefts, lefts, "phone") == (same, len(present) * (len(present) - 1) // 2)


def test_the_batch_loop_unpacks_a_record_in_person_field_order() -> None:
    """`Matcher.levels_of_pairs` unpacks each record whole, in this order: a field added or moved must be seen."""
    assert Person._fields == (
        "given",
        "given_first",
        "given_forms",
        "family",
        "family_parts",
        "given_parts",
        "family_first",
        "family_forms",
        "birth_date",
        "sex",
        "phone",
        "email",
        "address",
        "house_number",
        "postal_code",
        "mrn",
        "ssn",
        "suffix",
        "mrn_system",
    )


def test_scoring_sets_aside_only_patterns_no_name_could_lift_to_review() -> None:
    """`_score` drops a comparison pattern at once when even the rarest names' bits would leave it "distinct";
    every pair it keeps or drops is the one the plain per-pair sum keeps or drops, with the same weight."""
    from benchmarks.synthetic_people import generate

    from agentdesk.records.identity.batch import _score, link_people
    from agentdesk.records.identity.blocking import block

    left_rows, right_rows, _truth = generate(size=400, seed=3)
    left, right = [person_from_fields(r) for r in left_rows], [person_from_fields(r) for r in right_rows]
    model = link_people(left, right).model
    assert model.names is not None
    blocking = block(left, right)
    levels = [Matcher(model).levels(left[i], right[j]) for i, j in blocking.pairs]
    # A given name made very rare: its exact agreements reach "review" only with its bits, from patterns that
    # would be dropped without them.
    rare = next(left[i].given for (i, _j), lv in zip(blocking.pairs, levels, strict=True) if lv.given == "exact")
    model.names.given_bits[rare] = 40.0
    matcher = Matcher(model)
    kept = {(p.left, p.right): (p.weight, p.decision) for p in _score(blocking, levels, left, right, matcher)}
    plain = {}
    for (i, j), lv in zip(blocking.pairs, levels, strict=True):
        weight = matcher.weigh_levels(lv) + matcher.name_adjustment(left[i], lv)
        decision = matcher.decide(matcher.probability(weight))
        if decision != "distinct":
            held = decision == "match" and matcher.held(left[i], right[j], lv)
            plain[(i, j)] = (weight, "review" if held else decision)
    assert kept == plain and len(plain) < len(blocking.pairs)
    lifted = [
        (i, j)
        for (i, j), lv in zip(blocking.pairs, levels, strict=True)
        if left[i].given == rare
        and lv.given == "exact"
        and matcher.decide(matcher.probability(matcher.weigh_levels(lv))) == "distinct"
    ]
    assert lifted and all(pair in kept for pair in lifted)
