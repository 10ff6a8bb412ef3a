"""The identity matcher: normalisation, nicknames, comparators, Fellegi–Sunter scores and their explanations,
household safety, thresholds, and blocking. All records are synthetic."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentdesk.base.phone import normalise_phone
from agentdesk.base.text import fold
from agentdesk.records.identity import (
    DEFAULT_MODEL,
    MATCH_FIELDS,
    Matcher,
    MatchModel,
    Person,
    _plain_nanp,
    blocking_keys,
    candidate_pairs,
    compare_birth_date,
    compare_family,
    compare_given,
    estimate_u,
    name_tokens,
    normalise_address,
    normalise_birth_date,
    normalise_e164,
    normalise_email,
    normalise_name,
    normalise_postal,
    normalise_sex,
    normalise_ssn,
    people_from_columns,
    person_from_fields,
    score_records,
    soundex,
)
from agentdesk.records.identity.normalise import (
    _ADDRESS_WORDS,
    _NANP,
    _NOT_ALNUM,
    _PHONE_SEPARATORS,
    _WORDS,
    _alphanumeric,
)
from agentdesk.records.model import SourceRecord
from agentdesk.records.nicknames import NICKNAMES

# A synthetic person (555-01xx is the fictional block; example.org is reserved).
ROBERT = {
    "given_name": "Robert",
    "family_name": "O'Brien",
    "birth_date": "1980-04-12",
    "sex": "male",
    "phone": "(617) 555-0123",
    "email": "robert.obrien@example.org",
    "address_line": "12 North Main Street Apt 4",
    "postal_code": "02134",
}


def person(**changes: str) -> Person:
    return person_from_fields({**ROBERT, **changes})


def record(record_id: str = "1", **changes: str) -> SourceRecord:
    return SourceRecord("test", record_id, {**ROBERT, **changes})


MATCHER = Matcher()


# --------------------------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------------------------


def test_names_lose_case_accents_punctuation_titles_and_suffixes() -> None:
    assert normalise_name("  JOSÉ ") == "jose"
    assert normalise_name("O'Brien") == normalise_name("OBrien") == normalise_name("o’brien") == "obrien"
    assert normalise_name("Mc Donald") == normalise_name("McDonald")
    assert name_tokens("Smith-Jones Jr.") == ("smith", "jones")
    assert normalise_name("Dr. Øberg") == "oberg"
    assert normalise_name("Baby Boy") == "" and normalise_name("UNKNOWN") == ""


def test_phones_become_e164_and_placeholders_are_missing() -> None:
    spellings = ["(617) 555-0123", "617.555.0123", "6175550123", "+1 617 555 0123", "1-617-555-0123"]
    assert {normalise_e164(s) for s in spellings} == {"+16175550123"}
    assert normalise_e164("+44 20 7946 0958") == "+442079460958"  # not North American: via phonenumbers
    assert normalise_e164("000-000-0000") == normalise_e164("123-456-7890") == normalise_e164("") == ""
    assert normalise_e164("not a number") == ""


@settings(max_examples=300, deadline=None)
@given(
    digits=st.text("0123456789", min_size=9, max_size=12),
    style=st.sampled_from(["{d}", "+{d}", "+1{d}", "1-{d}", "({a}) {b}", "{a}.{b}", " {d} ", "+1 ({a}) {b}"]),
)
def test_plain_nanp_fast_path_agrees_with_normalise_phone(digits: str, style: str) -> None:
    raw = style.format(d=digits, a=digits[:3], b=digits[3:])
    fast = _plain_nanp(raw)
    if fast is not None:
        assert fast == normalise_phone(raw, "US")


def test_other_fields_normalise() -> None:
    assert normalise_birth_date("1980-04-12") == "19800412"
    assert normalise_birth_date("") == normalise_birth_date("1900-01-01") == normalise_birth_date("2/3/1980") == ""
    # A date that cannot exist is a typo of one that does: kept as typed, compared digit by digit.
    assert normalise_birth_date("1980-02-30") == "19800230"
    assert normalise_sex("Female") == "f" and normalise_sex("M") == "m" and normalise_sex("unknown") == ""
    # One table of spellings for the panel and the matcher: what the profile shows, the matcher compares.
    from agentdesk.records.fields import clean_fields

    for spelling, shown, code in (("O", "other", "x"), ("Woman", "female", "f"), ("u", "unknown", "")):
        assert clean_fields({"sex": spelling}) == {"sex": shown} and normalise_sex(spelling) == code
    assert normalise_email(" Bob@Example.ORG ") == "bob@example.org"
    assert normalise_email("none@none.com") == normalise_email("not-an-email") == ""
    assert normalise_address("12 North Main Street, Apt. 4") == "12 n main st apt 4"
    assert normalise_postal("02134-1234") == "02134"
    assert normalise_ssn("912-34-5678") == "912345678"
    assert normalise_ssn("999-99-9999") == normalise_ssn("000-12-3456") == normalise_ssn("12345") == ""
    assert normalise_ssn("530 4218") == "5304218"  # another country's 7-digit number


# Cell text as extracts hold it: blanks, spaces around values, placeholders, generation suffixes, dates in every
# format `agentdesk link` reads (and impossible or unreadable ones), phones in the usual spellings, and any text.
_CELLS = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "\t",
            "Robert",
            " robert ",
            "O'Brien-Smith Jr.",
            "Ana María",
            "Unknown",
            "baby girl",
            "Jr",
            "III",
            "Sr.",
            "1980-04-12",
            " 1980-04-12 ",
            "04/12/1980",
            "19800412",
            "1980-02-30",
            "25/12/1984",
            "1900-01-01",
            "0000-00-00",
            "12-04-1980",
            "M",
            "female",
            "u",
            "(617) 555-0123",
            "+1 617 555 0123",
            "617.555.0123",
            "000-000-0000",
            "+44 20 7946 0958",
            "6175550123 x12",
            "Bob@Example.ORG",
            "noemail@example.org",
            "12 North Main Street, Apt. 4",
            "No 5 Rd",
            "02134-1234",
            "SW1A 1AA",
            "00012345",
            "MRN 0042",
            "912-34-5678",
            "000-00-0000",
        ]
    ),
    st.text(max_size=20),
    st.text(alphabet="0123456789 -+().\t", max_size=16),
)
_FIELDS = (*MATCH_FIELDS, "suffix", "mrn_system")


@settings(max_examples=300, deadline=None)
@given(
    fields=st.lists(st.sampled_from(_FIELDS), min_size=1, unique=True),  # no column at all: no rows to count
    pool=st.lists(_CELLS, min_size=1, max_size=6),
    picks=st.lists(st.lists(st.integers(0, 5), min_size=len(_FIELDS), max_size=len(_FIELDS)), max_size=12),
    region=st.sampled_from(["US", "GB"]),
)
def test_people_from_columns_are_person_from_fields_row_by_row(
    fields: list[str], pool: list[str], picks: list[list[int]], region: str
) -> None:
    # Values drawn from a small pool repeat down a column, as names and dates do: both ways a column is worked
    # out (once per distinct value, or value by value when nearly all differ) are exercised.
    rows = [{name: pool[pick[i] % len(pool)] for i, name in enumerate(fields)} for pick in picks]
    columns = {name: [row[name] for row in rows] for name in fields}
    assert people_from_columns(columns, region) == [person_from_fields(row, region) for row in rows]
    if "birth_date" in columns:
        dates = [normalise_birth_date(value) for value in columns["birth_date"]]
        others = {name: values for name, values in columns.items() if name != "birth_date"}
        assert people_from_columns(others, region, birth_dates=dates) == people_from_columns(columns, region)


def test_people_from_columns_edges() -> None:
    assert people_from_columns({}) == [] and people_from_columns({"given_name": []}) == []
    assert people_from_columns({"city": ["Boston"], "given_name": ["Ana"]}) == [
        person_from_fields({"given_name": "Ana"})
    ]
    with pytest.raises(ValueError, match="different lengths"):
        people_from_columns({"given_name": ["Ana"], "family_name": []})


@settings(max_examples=300, deadline=None)
@given(
    field=st.sampled_from(_FIELDS),
    value=_CELLS,
    before=st.text(alphabet=" \t\r\n\u00a0\u2003\u3000\x1c\x85", max_size=3),
    after=st.text(alphabet=" \t\r\n\u00a0\u2003\u3000\x1c\x85", max_size=3),
)
def test_spaces_around_a_value_change_nothing(field: str, value: str, before: str, after: str) -> None:
    # `agentdesk link` hands cells over untrimmed and relies on this.
    assert person_from_fields({field: before + value + after}) == person_from_fields({field: value.strip()})


@settings(max_examples=500, deadline=None)
@given(raw=st.one_of(_CELLS, st.text(alphabet="0123456789 -+().\t\u00a0\u0661x", max_size=18)))
def test_the_fast_paths_read_as_the_patterns_do(raw: str) -> None:
    plain = _NANP.fullmatch(_PHONE_SEPARATORS.sub("", raw))
    assert _plain_nanp(raw) == (None if plain is None else "+1" + plain[1])
    assert _alphanumeric(raw) == _NOT_ALNUM.sub("", raw)
    words = _WORDS.findall(fold(raw))
    assert normalise_address(raw) == " ".join(w for w in (_ADDRESS_WORDS.get(w, w) for w in words) if w)


def test_person_repr_hides_values() -> None:
    assert "robert" not in repr(person()).lower()
    assert "0123" not in repr(person())


def test_soundex() -> None:
    assert soundex("robert") == soundex("rupert") == "r163"
    assert soundex("ashcraft") == "a261"
    assert soundex("pfister") == "p236"
    assert soundex("lee") == "l000"


# --------------------------------------------------------------------------------------------------------------
# Nicknames and name comparators
# --------------------------------------------------------------------------------------------------------------


def test_nickname_table() -> None:
    assert len(NICKNAMES) >= 300
    for nickname in ("bob", "rob", "robbie"):
        assert "robert" in NICKNAMES[nickname]
    for nickname in ("liz", "beth", "betsy"):
        assert "elizabeth" in NICKNAMES[nickname]
    assert NICKNAMES["peggy"] == ("margaret",)
    assert set(NICKNAMES["al"]) >= {"albert", "alfred", "alexander"}
    assert all(n.isascii() and n.isalpha() and n.islower() for n in NICKNAMES)


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        ("Robert", "ROBERT", "exact"),
        ("Robert", "Bob", "nickname"),
        ("Bob", "Rob", "nickname"),  # two nicknames of one name
        ("Peggy", "Margaret", "nickname"),
        ("Elizabeth", "Betsy", "nickname"),
        ("Katherine", "Katherin", "close"),
        ("Ryan", "Ryaa", "close"),
        ("Mary Ann", "Mary", "close"),  # a middle name on one side
        ("R", "Robert", "initial"),
        ("Robert", "Emily", "different"),
        ("", "Robert", "missing"),
    ],
)
def test_given_name_levels(a: str, b: str, level: str) -> None:
    assert compare_given(person(given_name=a), person(given_name=b)) == level


def test_family_name_levels() -> None:
    assert compare_family(person(), person(family_name="OBRIEN")) == "exact"
    assert compare_family(person(family_name="Gonzalez"), person(family_name="Gonzales")) == "close"
    assert compare_family(person(family_name="Smith-Jones"), person(family_name="Jones")) == "close"
    assert compare_family(person(family_name="Smith"), person(family_name="Nguyen")) == "different"


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        ("19800412", "19800412", "exact"),
        ("19800412", "19801204", "near"),  # day and month transposed
        ("19800412", "19810412", "near"),  # one digit off
        ("19800412", "19800421", "near"),  # two adjacent digits swapped
        ("19800412", "19801130", "year"),
        ("19800412", "20100630", "different"),
        ("", "19800412", "missing"),
    ],
)
def test_birth_date_levels(a: str, b: str, level: str) -> None:
    assert compare_birth_date(a, b) == level


# --------------------------------------------------------------------------------------------------------------
# Scores, decisions and explanations
# --------------------------------------------------------------------------------------------------------------


def test_typod_reformatted_same_person_matches() -> None:
    other = person(
        given_name="Bob",
        family_name="OBRIAN",
        phone="+16175550123",
        address_line="12 N Main St",
        birth_date="1980-12-04",
        email="ROBERT.OBRIEN@EXAMPLE.ORG",
    )
    score = MATCHER.score(person(), other)
    assert score.decision == "match", score.describe()
    assert score.comparison("given_name").level == "nickname"
    assert score.comparison("birth_date").level == "near"


def test_same_person_after_a_move_matches_on_person_fields() -> None:
    moved = person(phone="(212) 555-0188", address_line="7 Elm Road", postal_code="10001", email="")
    score = MATCHER.score(person(), moved)
    assert score.decision == "match", score.describe()


def test_swapped_given_and_family_names_match() -> None:
    score = MATCHER.score(person(), person(given_name="O'Brien", family_name="Robert"))
    assert score.decision == "match", score.describe()
    assert score.comparison("given_name").outcome == "agree"
    assert "swapped" in score.comparison("given_name").note


def test_household_parent_and_child_are_not_matched() -> None:
    """Same phone, address, postal code and family name: birth date and given name decide."""
    child = person(given_name="Emily", birth_date="2010-06-30", sex="F", email="")
    score = MATCHER.score(person(), child)
    assert score.decision == "distinct", score.describe()
    assert score.probability < 0.01
    assert "household" in score.comparison("family_name").note


@pytest.mark.parametrize(
    "relative",
    [
        {"given_name": "Michael", "email": ""},  # a twin: same birth date, another given name
        {"birth_date": "2005-02-11", "email": ""},  # Robert Jr.: same given name, another birth date
        {"given_name": "Roberta", "sex": "F", "birth_date": "1982-09-01", "email": ""},  # a similar name
    ],
)
def test_household_members_are_never_merged(relative: dict[str, str]) -> None:
    score = MATCHER.score(person(), person(**relative))
    assert score.decision != "match", score.describe()


def test_twins_with_sequential_ssns_are_not_merged() -> None:
    twin_a = person(ssn="912-34-5678", email="")
    twin_b = person(given_name="Michael", ssn="912-34-5679", email="")
    score = MATCHER.score(twin_a, twin_b)
    assert score.comparison("ssn").level == "one_digit"
    assert score.decision != "match", score.describe()
    assert MATCHER.score(twin_a, person(given_name="Bobby", ssn="912345678")).decision == "match"


def test_shared_phone_alone_is_not_a_match() -> None:
    stranger = person_from_fields({"given_name": "Ana", "family_name": "Silva", "phone": "617-555-0123"})
    assert MATCHER.score(person(), stranger).decision == "distinct"


def test_missing_fields_contribute_nothing() -> None:
    sparse = person_from_fields({"given_name": "Robert", "family_name": "OBrien", "birth_date": "1980-04-12"})
    score = MATCHER.score(person(), sparse)
    for name in ("sex", "phone", "email", "address_line", "postal_code", "mrn", "ssn"):
        comparison = score.comparison(name)
        assert (comparison.outcome, comparison.level, comparison.weight) == ("missing", "missing", 0.0)
    names_and_birth = sum(score.comparison(n).weight for n in ("given_name", "family_name", "birth_date"))
    assert score.weight == pytest.approx(names_and_birth)
    assert score.decision == "match"  # exact names and birth date are enough without anything else


def test_explanation_lists_every_field_and_adds_up() -> None:
    score = MATCHER.score(person(), person(given_name="Bob", postal_code="02139"))
    assert [c.field for c in score.explanation] == list(MATCH_FIELDS)
    assert score.weight == pytest.approx(sum(c.weight for c in score.explanation))
    expected = 1 / (1 + 2 ** -(score.weight + DEFAULT_MODEL.prior_weight))
    assert score.probability == pytest.approx(expected)
    assert score.prior_weight == pytest.approx(math.log2(1e-4 / (1 - 1e-4)))
    outcomes = {c.field: c.outcome for c in score.explanation}
    assert outcomes["given_name"] == "partial" and outcomes["phone"] == "agree"
    assert outcomes["postal_code"] == "partial"  # same first three digits
    phone = score.comparison("phone")
    assert phone.weight == pytest.approx(math.log2(0.80 / 0.0001))  # the strongest household field, in full
    address = score.comparison("address_line")
    assert address.weight == pytest.approx(DEFAULT_MODEL.household_overlap * math.log2(0.72 / 0.0001))
    assert "move together" in address.note


def test_explanation_text_carries_no_values() -> None:
    text = MATCHER.score(person(), person(given_name="Bob")).describe()
    for value in ("robert", "bob", "brien", "0123", "1980", "main", "example"):
        assert value not in text.lower()
    assert "given_name" in text and "probability" in text


def test_fast_weight_equals_explained_weight() -> None:
    others = [
        person(),
        person(given_name="Emily", birth_date="2010-06-30"),
        person(phone="", address_line="1 Elm St", postal_code="99999"),
        person(given_name="O'Brien", family_name="Robert"),
        person_from_fields({"given_name": "Ana"}),
    ]
    for other in others:
        assert MATCHER.weight(person(), other) == pytest.approx(MATCHER.score(person(), other).weight)


def test_thresholds_decide() -> None:
    pair = (person(), person(given_name="Robbie", birth_date="", email="", sex=""))
    probability = MATCHER.score(*pair).probability
    assert 0.5 < probability < 0.9999
    assert Matcher(match_threshold=probability, review_threshold=0.1).score(*pair).decision == "match"
    assert Matcher(match_threshold=0.99999, review_threshold=0.1).score(*pair).decision == "review"
    assert Matcher(match_threshold=0.999999, review_threshold=0.99999).score(*pair).decision == "distinct"
    assert MATCHER.decide(0.97) == "match" and MATCHER.decide(0.6) == "review" and MATCHER.decide(0.59) == "distinct"
    with pytest.raises(ValueError, match="thresholds"):
        Matcher(match_threshold=0.5, review_threshold=0.9)


def test_score_records_adapter() -> None:
    score = score_records(record("a"), record("b", given_name="Bobby"), match_threshold=0.99, review_threshold=0.5)
    assert score.decision == "match"
    household = score_records(record("a"), record("b", given_name="Emily", birth_date="2012-01-05", sex="F"))
    assert household.decision == "distinct"


def test_model_rejects_a_bad_prior_and_a_smaller_prior_lowers_the_probability() -> None:
    with pytest.raises(ValueError, match="prior"):
        MatchModel(prior=0)
    pair = (person(), person(given_name="Rob", birth_date=""))
    assert Matcher(MatchModel(prior=1e-6)).score(*pair).probability < MATCHER.score(*pair).probability


_names = st.sampled_from(["Robert", "Bob", "Emily", "O'Brien", "Obrien", "Smith", "Liz", "Elizabeth", ""])
_dates = st.sampled_from(["1980-04-12", "1980-12-04", "1981-04-12", "2010-06-30", ""])
_phones = st.sampled_from(["617-555-0123", "(617) 555-0124", ""])


@settings(max_examples=150, deadline=None)
@given(g1=_names, f1=_names, d1=_dates, p1=_phones, g2=_names, f2=_names, d2=_dates, p2=_phones)
def test_scores_are_symmetric_and_fast_path_consistent(
    g1: str, f1: str, d1: str, p1: str, g2: str, f2: str, d2: str, p2: str
) -> None:
    a = person(given_name=g1, family_name=f1, birth_date=d1, phone=p1)
    b = person(given_name=g2, family_name=f2, birth_date=d2, phone=p2)
    forward, backward = MATCHER.score(a, b), MATCHER.score(b, a)
    assert forward.weight == pytest.approx(backward.weight)
    assert forward.decision == backward.decision
    assert MATCHER.weight(a, b) == pytest.approx(forward.weight)


def test_estimate_u_from_random_pairs() -> None:
    people = [
        person_from_fields({"given_name": g, "family_name": f, "birth_date": f"19{y}-0{m}-1{d}", "sex": s})
        for g, f, y, m, d, s in zip(
            ["Ann", "Bob", "Cy", "Di", "Ed", "Flo"] * 5,
            ["Ng", "Ode", "Pike", "Quinn", "Ruiz", "Sato"] * 5,
            range(50, 80),
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 1] * 3,
            [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] * 3,
            "MF" * 15,
            strict=True,
        )
    ]
    model = estimate_u(people, pairs=2000, seed=1)
    sex = model.field_model("sex")
    assert sex.level("exact").u == pytest.approx(0.5, abs=0.1)
    assert all(math.isfinite(model.weight(f.name, lv.name)) for f in model.fields for lv in f.levels)
    assert estimate_u([], model=DEFAULT_MODEL) is DEFAULT_MODEL


# --------------------------------------------------------------------------------------------------------------
# Blocking on a small generated set
# --------------------------------------------------------------------------------------------------------------


def test_blocking_keys_survive_reformatting_and_nicknames() -> None:
    shared = blocking_keys(person()) & blocking_keys(person(given_name="Bob", phone="617.555.0123"))
    assert ("p", "+16175550123") in shared
    assert any(tag == "n" and key.startswith("robert ") for tag, key in shared)  # the nickname's canonical name
    swapped = blocking_keys(person(given_name="O'Brien", family_name="Robert", phone="", email=""))
    assert blocking_keys(person()) & swapped


def test_blocking_finds_the_true_pairs_without_comparing_everything() -> None:
    from benchmarks.synthetic_people import generate

    left_rows, right_rows, truth = generate(size=400, seed=7)
    left = [person_from_fields(row) for row in left_rows]
    right = [person_from_fields(row) for row in right_rows]
    left_index = {row["id"]: i for i, row in enumerate(left_rows)}
    right_index = {row["id"]: j for j, row in enumerate(right_rows)}
    true_pairs = {(left_index[a], right_index[b]) for a, b in truth}
    candidates = set(candidate_pairs(left, right))
    assert len(candidates) < 0.01 * len(left) * len(right)  # blocking, not all 160,000 pairs
    assert len(true_pairs - candidates) <= 0.01 * len(true_pairs)
    matched = {(i, j) for i, j in candidates if MATCHER.score(left[i], right[j]).decision == "match"}
    assert matched <= true_pairs  # precision first: no wrong merge on this set
    assert len(matched) >= 0.97 * len(true_pairs)


def test_candidate_pairs_deduplicate_one_list_once_each() -> None:
    people = [person(), person(given_name="Bob"), person(given_name="Emily", birth_date="2010-06-30"), person()]
    pairs = list(candidate_pairs(people))
    assert len(pairs) == len(set(pairs))
    assert all(i < j for i, j in pairs)
    assert (0, 1) in pairs and (0, 3) in pairs


def test_oversized_blocks_are_skipped() -> None:
    switchboard = [person_from_fields({"given_name": f"N{i}", "phone": "617-555-0100"}) for i in range(30)]
    assert list(candidate_pairs(switchboard, max_block=10)) == []
