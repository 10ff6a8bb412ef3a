"""The identity matcher on data it was not written for: blocking passes that survive typos, the model fitted by
EM, term-frequency weights, the hold rules (twins, generations, identifiers), partial given names, and a fitted
model round-tripping through JSON. All records are synthetic."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from agentdesk.records.identity import (
    DEFAULT_MODEL,
    MISSING,
    Levels,
    Matcher,
    MatchModel,
    ModelFileError,
    NameFrequencies,
    block,
    choose_passes,
    compare_given,
    estimate_m,
    link_people,
    load_model,
    model_from_document,
    one_typo_chance,
    one_typo_forms,
    person_from_fields,
    save_model,
)
from agentdesk.records.identity.blocking import PASSES, BlockingPass, person_keys
from agentdesk.records.identity.model_file import model_to_document
from agentdesk.records.identity.normalise import Person
from tests.records.test_identity import ROBERT, person

# --------------------------------------------------------------------------------------------------------------
# Blocking passes
# --------------------------------------------------------------------------------------------------------------


def test_one_typo_forms_meet_for_every_single_edit() -> None:
    original = "5304218"
    for typo in ("5304213", "530421", "53042188", "5302418"):  # changed, dropped, added, neighbours swapped
        assert set(one_typo_forms(original)) & set(one_typo_forms(typo)), typo
    assert not set(one_typo_forms(original)) & set(one_typo_forms("9981736"))


def test_each_pass_finds_the_pair_its_field_survives_in() -> None:
    """Every field but one mistyped: the pass on the surviving field still puts the two records in one block."""
    base = {"given_name": "Harriet", "family_name": "Quixley", "birth_date": "1961-07-23", "ssn": "4820917"}
    garbled = {"given_name": "Hxrrziet", "family_name": "Qvuxbly", "birth_date": "1916-03-27", "ssn": "9981736"}
    for survivor, typo in (("birth_date", "1961-07-32"), ("ssn", "4820971"), ("family_name", "Quixly")):
        left = [person_from_fields(base)]
        right = [person_from_fields({**garbled, survivor: typo, "given_name": base["given_name"]})]
        found = block(left, right)
        assert found.pairs == [(0, 0)], survivor


def test_a_birth_date_with_one_part_wrong_meets_its_record() -> None:
    """A family name changed (marriage), SSN and place different, the given name kept: the birth-date pass
    alone finds the pair for a changed digit anywhere in the year's last two, the month or the day, any two
    neighbours swapped (within a part or across: 1961-12-03, 1961-10-23), a wholly wrong day or month, or day
    and month swapped. The same date meets whatever the names."""
    base = {"given_name": "Harriet", "family_name": "Quixley", "birth_date": "1961-07-23", "ssn": "4820917"}
    digits = "19610723"
    typos = {digits[:at] + str((int(digits[at]) + 3) % 10) + digits[at + 1 :] for at in range(2, 8)}
    typos |= {digits[:at] + digits[at + 1] + digits[at] + digits[at + 2 :] for at in range(2, 7)}
    typos |= {"19612307", "19610705", "19611123"}
    married = {"given_name": "Harriet Ann", "family_name": "Vbnmzz", "ssn": "9981736"}
    for typo in sorted(typos - {digits}):
        right = [person_from_fields({**married, "birth_date": f"{typo[:4]}-{typo[4:6]}-{typo[6:]}"})]
        found = block([person_from_fields(base)], right)
        assert found.pairs == [(0, 0)] and found.by_pass["b"] == [0], typo
    stranger = [person_from_fields({"given_name": "Zqxw", "family_name": "Vbnmzz", "birth_date": "1961-07-23"})]
    assert block([person_from_fields(base)], stranger).by_pass["b"] == [0]


def test_passes_are_chosen_by_the_fields_the_records_have() -> None:
    no_contact = [person(phone="", email=""), person(given_name="Anna", phone="", email="")]
    tags = {p.tag for p in choose_passes(no_contact)}
    assert "p" not in tags and "e" not in tags
    assert {"b", "n", "a"} <= tags
    assert "p" in {p.tag for p in choose_passes([person(), person(given_name="Anna")])}


def test_blocking_reports_which_pass_found_each_pair_and_caps_blocks() -> None:
    people = [person(), person(given_name="Bob", email=""), person(given_name="Zed", birth_date="1999-01-01")]
    found = block(people)
    assert (0, 1) in found.pairs
    index = found.pairs.index((0, 1))
    assert index in found.by_pass["p"] and index in found.by_pass["b"]
    switchboard = [person_from_fields({"given_name": f"N{i}", "phone": "617-555-0100"}) for i in range(30)]
    capped = block(switchboard, max_block=10)
    assert capped.pairs == [] and capped.dropped_blocks >= 1


# --------------------------------------------------------------------------------------------------------------
# EM on a known mixture
# --------------------------------------------------------------------------------------------------------------

_TRUE_M = {
    "given_name": {"exact": 0.8, "close": 0.15, "different": 0.05},
    "family_name": {"exact": 0.85, "close": 0.1, "different": 0.05},
    "birth_date": {"exact": 0.9, "near": 0.06, "different": 0.04},
}
_TRUE_U = {
    "given_name": {"exact": 0.01, "close": 0.02, "different": 0.97},
    "family_name": {"exact": 0.005, "close": 0.01, "different": 0.985},
    "birth_date": {"exact": 0.002, "near": 0.01, "different": 0.988},
}


def _draw(rng: random.Random, table: dict[str, float]) -> str:
    return rng.choices(list(table), weights=list(table.values()))[0]


def _known_model() -> MatchModel:
    """The default model with the three fields' u set to the truth (u is fixed while EM fits m)."""
    fields = []
    for f in DEFAULT_MODEL.fields:
        if f.name in _TRUE_U:
            levels = tuple(replace(lv, u=_TRUE_U[f.name].get(lv.name, 1e-6)) for lv in f.levels)
            f = replace(f, levels=levels)
        fields.append(f)
    return replace(DEFAULT_MODEL, fields=tuple(fields))


def test_em_recovers_m_and_the_share_of_matches_of_a_known_mixture() -> None:
    rng = random.Random(5)
    patterns: Counter[Levels] = Counter()
    blank = Levels(*([MISSING, MISSING, False] + [MISSING] * 8))
    for _ in range(20_000):
        table = _TRUE_M if rng.random() < 0.2 else _TRUE_U
        drawn = {name: _draw(rng, levels) for name, levels in table.items()}
        patterns[
            blank._replace(given=drawn["given_name"], family=drawn["family_name"], birth_date=drawn["birth_date"])
        ] += 1
    fitted, share, _iterations, converged = estimate_m(_known_model(), patterns, max_iterations=200, tolerance=1e-6)
    assert converged
    assert share == pytest.approx(0.2, abs=0.01)
    for name, levels in _TRUE_M.items():
        for level, m in levels.items():
            assert fitted.field_model(name).level(level).m == pytest.approx(m, abs=0.02), (name, level)


def test_a_blocked_field_keeps_its_m() -> None:
    patterns: Counter[Levels] = Counter({Levels(*(["exact", "exact", False] + ["exact"] * 8)): 500})
    before = _known_model()
    fitted, *_ = estimate_m(before, patterns, blocked=frozenset({"birth_date"}))
    assert fitted.field_model("birth_date") == before.field_model("birth_date")
    assert fitted.field_model("given_name") != before.field_model("given_name")


# --------------------------------------------------------------------------------------------------------------
# Term frequencies and a fitted model
# --------------------------------------------------------------------------------------------------------------


def _population(size: int = 600, seed: int = 3) -> list[dict[str, str]]:
    rng = random.Random(seed)
    given = ["olivia", "liam", "emma", "noah", "ava", "mason", "olive", "ethan", "mia", "lucas"]
    rows = []
    for n in range(size):
        family = "smith" if n % 5 == 0 else f"{rng.choice('bcdfghklmnprstvw')}{rng.choice('aeiou')}{n:04d}"
        family = family.translate(str.maketrans("0123456789", "abcdefghij"))
        rows.append(
            {
                "given_name": rng.choice(given),
                "family_name": family,
                "birth_date": f"{rng.randint(1940, 2010)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "phone": f"617-555-01{n % 100:02d}" if n < 100 else "",
                "address_line": f"{n + 1} Elm Street",
                "postal_code": f"02{n % 90:03d}",
            }
        )
    return rows


def test_a_common_name_is_worth_less_than_a_rare_one() -> None:
    names = NameFrequencies.count(["ann"] * 50 + ["zofia"] * 5, ["smith"] * 80 + ["szczepanski"] * 5)
    assert names.family_adjustment("smith") < 0 < names.family_adjustment("szczepanski")
    assert names.given_adjustment("ann") < names.given_adjustment("zofia")
    assert names.family_adjustment("seen-once") == 0.0  # not in the table: no adjustment
    model = replace(DEFAULT_MODEL, names=names)
    matcher = Matcher(model)
    smith = matcher.score(
        person(family_name="Smith", phone="", address_line=""), person(family_name="Smith", phone="", address_line="")
    )
    rare = matcher.score(
        person(family_name="Szczepanski", phone="", address_line=""),
        person(family_name="Szczepanski", phone="", address_line=""),
    )
    assert smith.comparison("family_name").weight < rare.comparison("family_name").weight
    assert "common name" in smith.comparison("family_name").note


def test_link_people_fits_a_model_and_finds_copies(tmp_path: Path) -> None:
    rows = _population()
    rng = random.Random(9)
    copies = []
    for row in rows[::3]:
        copy = dict(row)
        if rng.random() < 0.5:
            copy["birth_date"] = copy["birth_date"][:-1] + str((int(copy["birth_date"][-1]) + 1) % 10)
        copies.append(copy)
    left = [person_from_fields(r) for r in rows]
    right = [person_from_fields(r) for r in copies]
    result = link_people(left, right)
    assert result.model.fitted is not None and result.model.names is not None
    matches = {(p.left, p.right) for p in result.pairs if p.decision == "match"}
    truth = {(3 * k, k) for k in range(len(copies))}
    assert matches <= truth
    assert len(matches) >= 0.95 * len(truth)
    # The fitted model round-trips through JSON with the same weights and name table.
    path = tmp_path / "model.json"
    save_model(result.model, path)
    loaded = load_model(path)
    for f in result.model.fields:
        for level in f.levels:
            assert loaded.weight(f.name, level.name) == pytest.approx(result.model.weight(f.name, level.name))
            assert loaded.weight(f.name, level.name, True) == pytest.approx(
                result.model.weight(f.name, level.name, True)
            )
    assert loaded.prior == pytest.approx(result.model.prior)
    assert loaded.names is not None and loaded.names.family == result.model.names.family
    assert loaded.fitted == result.model.fitted
    again = link_people(left, right, model=loaded, fit=False)
    assert [(p.left, p.right, p.decision) for p in again.pairs] == [(p.left, p.right, p.decision) for p in result.pairs]


def test_too_few_pairs_keep_the_default_model() -> None:
    result = link_people([person()], [person(given_name="Bob")])
    assert result.model.fitted is None
    assert result.model.fields == DEFAULT_MODEL.fields


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d.pop("format"), "format"),
        (lambda d: d.update(version=9), "version"),
        (lambda d: d.update(prior=1.5), "prior"),
        (lambda d: d["fields"]["ssn"].pop("exact"), "fields.ssn.exact"),
        (lambda d: d["fields"]["ssn"]["exact"].update(m="high"), "fields.ssn.exact.m"),
        (lambda d: d["fields"]["given_name"].update(typo={"m": 0.1, "u": 0.1}), "fields.given_name.typo"),
        (lambda d: d["fields"].update(shoe_size={}), "fields.shoe_size"),
    ],
)
def test_a_broken_model_file_is_refused_naming_the_entry(tmp_path: Path, change, where: str) -> None:  # type: ignore[no-untyped-def]
    document = model_to_document(DEFAULT_MODEL)
    change(document)
    path = tmp_path / "model.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ModelFileError, match=where.replace(".", r"\.")):
        load_model(path)
    assert model_from_document(model_to_document(DEFAULT_MODEL)).fields == DEFAULT_MODEL.fields


def test_an_unreadable_model_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match=r"missing\.json"):
        load_model(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelFileError, match="not JSON"):
        load_model(tmp_path / "bad.json")


# --------------------------------------------------------------------------------------------------------------
# Hold rules: twins, generations, identifiers; partial given names
# --------------------------------------------------------------------------------------------------------------

TWINS = [("Olivia", "Olive"), ("Liam", "Lian"), ("Anna", "Hannah"), ("Maria", "Mario"), ("Jon", "Jan"), ("Eli", "Ela")]


@pytest.mark.parametrize(("first", "second"), TWINS)
def test_twins_at_one_address_and_phone_are_never_merged(first: str, second: str) -> None:
    """Same birth date, phone, address, family name and e-mail, no sex column: only the given name differs."""
    household = {**ROBERT, "sex": "", "email": "family@example.org"}
    a = person_from_fields({**household, "given_name": first})
    b = person_from_fields({**household, "given_name": second})
    for matcher in (
        Matcher(),
        Matcher(replace(DEFAULT_MODEL, names=NameFrequencies.count([first.lower(), second.lower()] * 5, []))),
    ):
        score = matcher.score(a, b)
        assert score.decision != "match", (first, second)
        note = score.comparison("given_name").note
        if score.held:
            assert "twins rule" in note and "twins rule" in score.describe()


def test_a_typo_nobody_else_spells_that_way_is_still_one_person() -> None:
    """With a population's name frequencies, 'Olivai' (held by no one) is a typo of Olivia, not a twin."""
    names = NameFrequencies.count(["olivia"] * 10 + ["olive"] * 10, [])
    matcher = Matcher(replace(DEFAULT_MODEL, names=names))
    assert matcher.score(person(given_name="Olivia"), person(given_name="Olivai")).decision == "match"
    assert matcher.score(person(given_name="Olivia"), person(given_name="Olive")).decision != "match"


def test_twins_of_different_sex_and_an_agreeing_ssn() -> None:
    a, b = person(given_name="Sam", sex="male"), person(given_name="Sam", sex="female")
    score = Matcher().score(a, b)
    assert score.decision != "match" and any("different sex" in hold.reason for hold in score.held)
    # An SSN agreeing exactly tells twins apart: the twins rule yields to it.
    same = Matcher().score(
        person(given_name="Olivia", ssn="912-34-5678"), person(given_name="Olive", ssn="912-34-5678")
    )
    assert not any(hold.field == "given_name" for hold in same.held)


@pytest.mark.parametrize(("older", "younger"), [("Jr", "Sr"), ("II", "III"), ("Sr.", "Jr.")])
def test_junior_and_senior_at_one_address_are_never_merged(older: str, younger: str) -> None:
    a = person(family_name=f"O'Brien {older}", birth_date="")
    b = person(family_name=f"O'Brien {younger}", birth_date="")
    score = Matcher().score(a, b)
    assert score.decision != "match"
    assert "generation rule" in score.comparison("family_name").note


def test_disagreeing_identifiers_hold_a_pair_for_review() -> None:
    ssn = Matcher().score(person(ssn="912-34-5678"), person(ssn="987-65-4329"))
    assert ssn.decision == "review" and "identifier rule" in ssn.comparison("ssn").note
    one_typo = Matcher().score(person(ssn="912-34-5678"), person(ssn="912-34-5687"))
    assert one_typo.decision == "match"
    same_system = Matcher().score(person(mrn="A1001", mrn_system="urn:mrn"), person(mrn="A2002", mrn_system="urn:mrn"))
    assert same_system.decision == "review" and "MRNs differ" in same_system.comparison("mrn").note
    other_systems = Matcher().score(person(mrn="A1001", mrn_system="urn:a"), person(mrn="A2002", mrn_system="urn:b"))
    assert other_systems.comparison("mrn").level == MISSING and other_systems.decision == "match"


def test_households_sharing_a_phone_are_not_merged() -> None:
    """Parent and child: same phone, address and family name, different given name and birth date."""
    child = person(given_name="Emily", birth_date="2012-09-30", sex="female", email="")
    assert Matcher().score(person(), child).decision == "distinct"


@pytest.mark.parametrize(("short", "full"), [("Jac", "Jacqueline"), ("Chr", "Christopher"), ("Max", "Maximilian")])
def test_a_shortened_given_name_is_a_partial_agreement(short: str, full: str) -> None:
    a, b = person(given_name=short), person(given_name=full)
    assert compare_given(a, b) in ("truncated", "nickname")
    score = Matcher().score(
        person(given_name=short, email="", address_line=""), person(given_name=full, email="", address_line="")
    )
    assert score.comparison("given_name").outcome == "partial"
    assert score.decision == "match"  # birth date, phone and family name agree: 'Jac' does not split the person
    assert compare_given(person(given_name=full[0]), b) == "initial"


def test_two_names_many_records_hold_are_not_a_typo_of_each_other() -> None:
    """Charlotte and Charles look alike (Jaro-Winkler 0.90), but each is a name many records hold: two names, not
    a typo. A spelling no one uses is a typo of the name one edit from it (Charlotye is Charlotte mistyped, not
    Charles); a name cut short is still a partial agreement (Dan, Dana)."""
    names = NameFrequencies.count(["charlotte"] * 6 + ["charles"] * 6 + ["dan"] * 5 + ["dana"] * 5, [])
    matcher = Matcher(replace(DEFAULT_MODEL, names=names))

    def given_level(first: str, second: str, judge: Matcher = matcher) -> str:
        return judge.levels(person(given_name=first), person(given_name=second)).given

    assert given_level("Charlotte", "Charles") == "different"
    assert given_level("Charlotye", "Charles") == "different"
    assert given_level("Charlotye", "Charlotte") == "close"
    assert given_level("Dana", "Dan") == "truncated"
    assert given_level("Charlotte", "Charles", Matcher()) == "close"  # no population: which names are names is unknown


def _careless_copies(size: int = 5000, seed: int = 5) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """A population and a copy of every third record, as careless as FEBRL's: another birth date or address now
    and then, a given name mistyped, a number mistyped often and now and then another number altogether."""
    rng = random.Random(seed)

    def word(length: int) -> str:
        return "".join(rng.choice("bcdfghklmnprstvw") + rng.choice("aeiou") for _ in range(length // 2))

    # Names and places as varied as FEBRL's: 200 given and 300 family names, small postal areas.
    given, family = [word(6) for _ in range(200)], [word(8) for _ in range(300)]
    rows = _population(size)
    for n, row in enumerate(rows):
        row["given_name"], row["family_name"] = rng.choice(given), rng.choice(family)
        row["ssn"] = f"{2_000_000 + 1117 * n}"  # spread out: no two people's numbers are one typo apart
        row["postal_code"] = f"{10_000 + n // 2}"
    copies = [_careless_copy(row, rng, given_typos=True, new_numbers=True) for row in rows[::3]]
    return rows, copies


def _careless_copy(row: dict[str, str], rng: random.Random, given_typos: bool, new_numbers: bool) -> dict[str, str]:
    """A later copy of a record as careless as FEBRL's: another birth date or address now and then, a letter typed
    twice in the given name (`given_typos`), a mistyped number often, else now and then another (`new_numbers`)."""
    copy = dict(row)
    if rng.random() < 0.1:
        copy["birth_date"] = f"{rng.randint(1940, 2010)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if rng.random() < 0.4:
        copy["address_line"] = f"{rng.randint(1, 999)} Oak Avenue"
    if given_typos and rng.random() < 0.15:
        copy["given_name"] = copy["given_name"][:2] + copy["given_name"][1:]  # a letter typed twice
    if rng.random() < 0.3:
        digits = list(copy["ssn"])
        digits[3] = str((int(digits[3]) + 1) % 10)
        copy["ssn"] = "".join(digits)
    elif new_numbers and rng.random() < 0.1:
        copy["ssn"] = f"{rng.randint(1_000_000, 9_999_999)}"
    return copy


def test_a_link_does_not_merge_two_people_whose_names_are_two_common_names() -> None:
    """Charlotte and Charles Orchard at one postal code, everything else different, among careless copies: the
    records' own name table is used from the first comparison (and in the fit), so the pair is not scored as one
    name mistyped."""
    rows, copies = _careless_copies()
    for k in range(12):
        rows[3 * k]["given_name"] = copies[k]["given_name"] = "charlotte" if k % 2 else "charles"
    charlotte = {
        "given_name": "Charlotte",
        "family_name": "Orchard",
        "birth_date": "1985-03-30",
        "address_line": "3 Dickinson Street",
        "postal_code": "04551",
        "ssn": "3193520",
    }
    charles = {
        "given_name": "Charles",
        "family_name": "Orchard",
        "birth_date": "1958-10-07",
        "address_line": "350 Perry Drive",
        "postal_code": "04551",
        "ssn": "5130911",
    }
    left = [person_from_fields(r) for r in [*rows, charlotte]]
    right = [person_from_fields(r) for r in [*copies, charles]]
    result = link_people(left, right)
    decisions = {(p.left, p.right): p.decision for p in result.pairs}
    assert decisions.get((len(left) - 1, len(right) - 1)) != "match"


def test_ssns_one_typo_apart_weigh_no_more_than_chance_allows() -> None:
    """Strangers' 7-digit numbers are one typo apart by chance about 69 times in 10^7 (9 x 7 digits changed, 6
    neighbours swapped): a fitted model never weighs a one-typo agreement as if it were rarer than that, so two
    people with one rare given name and numbers one digit apart, everything else different, are not merged."""
    assert one_typo_chance(["5628066", "5928066"]) == pytest.approx(69 / 10**7)
    assert one_typo_chance([]) == 0.0
    rng = random.Random(5)
    rows = _population(5000)
    for n, row in enumerate(rows):
        row["ssn"] = f"{2_000_000 + 1117 * n}"  # spread out: no two people's numbers are one typo apart
    copies = [_careless_copy(row, rng, given_typos=False, new_numbers=False) for row in rows[::3]]
    emily = {
        "given_name": "Emiily",
        "birth_date": "1967-02-03",
        "address_line": "33 Mackenzie Street",
        "postal_code": "02121",
        "ssn": "5628066",
    }
    other = {
        "given_name": "Emiily",
        "birth_date": "1995-04-02",
        "address_line": "173 Star Close",
        "postal_code": "04505",
        "ssn": "5928066",
    }
    left = [person_from_fields(r) for r in [*rows, emily]]
    right = [person_from_fields(r) for r in [*copies, other]]
    result = link_people(left, right)
    assert result.model.field_model("ssn").level("one_digit").u >= 69 / 10**7 * 0.99
    decisions = {(p.left, p.right): p.decision for p in result.pairs}
    assert decisions.get((len(left) - 1, len(right) - 1)) != "match"


def _pairs_by_keys(
    left: list[Person], right: list[Person] | None, max_block: int, passes: tuple[BlockingPass, ...] = PASSES
) -> tuple[set[tuple[int, int]], dict[str, set[tuple[int, int]]], int]:
    """The candidate pairs worked out the slow, obvious way: every pair of records sharing a key whose block
    (the records on the right holding it) is within the cap; and how many keys' blocks are over it."""
    others = left if right is None else right
    left_keys = [person_keys(p, passes) for p in left]
    right_keys = left_keys if right is None else [person_keys(p, passes) for p in others]
    holders: Counter[tuple[str, str]] = Counter(key for keys in right_keys for key in keys)
    pairs: set[tuple[int, int]] = set()
    by_pass: dict[str, set[tuple[int, int]]] = {}
    for i, keys in enumerate(left_keys):
        for j, other_keys in enumerate(right_keys):
            if right is None and j <= i:
                continue
            for tag, key in keys & other_keys:
                if holders[(tag, key)] <= max_block:
                    pairs.add((i, j))
                    by_pass.setdefault(tag, set()).add((i, j))
    return pairs, by_pass, sum(count > max_block for count in holders.values())


def _initials_twice(people: Sequence[Person]) -> tuple[list[str], list[int]]:
    """A pass of one's own that lists each record's key twice (its family initial), as `block` must allow."""
    rows = [row for row, p in enumerate(people) if p.family]
    return [people[row].family[:1] for row in rows] * 2, rows * 2


@pytest.mark.parametrize("max_block", [1, 2, 8])
@pytest.mark.parametrize("two_lists", [False, True])
def test_blocking_finds_exactly_the_pairs_sharing_a_key(two_lists: bool, max_block: int) -> None:
    """Blocks are built column by column and reduced to distinct sets of records; the pairs (and which pass
    found each) must be exactly those of comparing every record's keys with every other's, caps included."""
    from benchmarks.synthetic_people import generate

    left_rows, right_rows, _truth = generate(size=150, seed=11)
    left = [person_from_fields(row) for row in left_rows]
    # a switchboard number and one date held by twelve (over the cap), an e-mail held by eight (at the cap
    # of 8), and a date made of repeated digits (19880101)
    left += [
        person_from_fields(
            {
                "given_name": f"Ann{i}",
                "family_name": "Zed",
                "phone": "617-555-0100",
                "birth_date": "1988-01-01",
                "email": "zed.family@example.org" if i < 8 else "",
            }
        )
        for i in range(12)
    ]
    right = [*map(person_from_fields, right_rows), *left[-12:]] if two_lists else None
    own = (BlockingPass("i", "family initial, listed twice", ("family",), _initials_twice),)
    for passes in (PASSES, own):
        found = block(left, right, passes=passes, max_block=max_block)
        expected, expected_by_pass, expected_dropped = _pairs_by_keys(left, right, max_block, passes)
        assert set(found.pairs) == expected and found.pairs == sorted(found.pairs)
        assert found.dropped_blocks == expected_dropped >= 1
        for tag, indexes in found.by_pass.items():
            assert {found.pairs[k] for k in indexes} == expected_by_pass.get(tag, set()), tag
    with pytest.raises(ValueError, match="max_block"):
        block(left, right, max_block=0)


def test_a_record_holds_each_key_of_a_pass_once() -> None:
    """`block` tells a shared key by its being listed more than once, which holds only if no record lists a
    key twice: dates of repeated digits, SSNs whose one-digit deletions coincide, a given name that is its own
    nickname form, postal codes with both names' initials alike, included."""
    from benchmarks.synthetic_people import generate

    rows, _others, _truth = generate(size=200, seed=5)
    people = [person_from_fields(row) for row in rows]
    people += [
        person_from_fields(
            {"given_name": given, "family_name": family, "birth_date": date, "ssn": ssn, "postal_code": "02134"}
        )
        for given, family, date, ssn in [
            ("Ann", "Zed", "1988-01-01", "112-23-3444"),
            ("Zoe", "Zed", "2000-11-22", "900-00-1111"),
            ("Robert", "Roberts", "1999-09-09", "111-11-1112"),
            ("Bob Robert", "Bob", "1911-11-11", "1212121212"),
            ("Mary Ann", "Mary-Ann", "2001-10-01", ""),
        ]
    ]
    for blocking_pass in PASSES:
        keys, rows_of = blocking_pass.keys(people)
        assert len(set(zip(keys, rows_of, strict=True))) == len(keys), blocking_pass.tag
        assert set(keys) == {key for p in people for tag, key in person_keys(p) if tag == blocking_pass.tag}
