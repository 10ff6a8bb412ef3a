"""Phone normalisation, field validation and the merge of source records into people."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from agentdesk.base.phone import normalise_phone, search_variants
from agentdesk.records.fields import clean_fields
from agentdesk.records.merge import MatcherRule, merge_records
from agentdesk.records.model import SourceRecord


def test_phone_normalisation() -> None:
    for raw in ("(617) 555-0123", "617.555.0123", "+1 617 555 0123", "16175550123", "tel:+1-617-555-0123"):
        assert normalise_phone(raw, "US") == "+16175550123", raw
    assert normalise_phone("020 7946 0018", "GB") == "+442079460018"
    for junk in ("", "abc", "12", "9" * 60):
        assert normalise_phone(junk) is None


def test_search_variants_cover_common_spellings() -> None:
    variants = search_variants("+16175550123")
    for spelling in ("+16175550123", "(617) 555-0123", "6175550123", "617-555-0123", "16175550123"):
        assert spelling in variants
    assert len(variants) == len(set(variants))


def test_clean_fields_drops_what_does_not_validate() -> None:
    cleaned = clean_fields(
        {
            "given_name": "  Ana\x00 María ",
            "birth_date": "1984-13-45",
            "sex": "F",
            "email": "not-an-email",
            "phone": "617 555 0123",
            "mrn": {"nested": "object"},
            "unknown_field": "x",
            "family_name": "x" * 500,
        }
    )
    assert cleaned["given_name"] == "Ana María"
    assert "birth_date" not in cleaned and "email" not in cleaned and "mrn" not in cleaned
    assert cleaned["sex"] == "female" and cleaned["phone"] == "+16175550123"
    assert len(cleaned["family_name"]) == 200 and "unknown_field" not in cleaned


def record(source: str, rid: str, priority: int, updated: int, **fields: str) -> SourceRecord:
    return SourceRecord(source, rid, fields, datetime(2026, updated, 1, tzinfo=UTC), priority)


def test_merge_survivorship_and_visible_conflicts() -> None:
    ehr = record(
        "EHR",
        "1",
        10,
        1,
        given_name="Ana",
        family_name="Lopez",
        birth_date="1984-02-03",
        address_line="1 Main St",
        email="ana@example.org",
    )
    crm = record(
        "CRM",
        "9",
        20,
        9,
        given_name="ANA",
        family_name="López",
        birth_date="1984-02-03",
        address_line="9 Elm St",
        preferred_contact="text",
    )
    (person,) = merge_records([crm, ehr])
    assert person.fields["address_line"].chosen.value == "1 Main St"  # EHR priority beats CRM recency
    assert [c.value for c in person.fields["address_line"].conflicts] == ["9 Elm St"]
    assert person.fields["preferred_contact"].chosen.source == "CRM"  # only the CRM has it
    assert person.fields["given_name"].conflicts == ()  # 'ANA' is the same name, not a conflict
    assert person.key == "CRM:9;EHR:1"


def test_same_priority_newer_wins() -> None:
    old = record("A", "1", 10, 1, given_name="Ana", family_name="Lopez", birth_date="1984-02-03", email="old@x.org")
    new = record("B", "2", 10, 6, given_name="Ana", family_name="Lopez", birth_date="1984-02-03", email="new@x.org")
    (person,) = merge_records([old, new])
    assert person.value("email") == "new@x.org"


def test_household_on_one_line_is_never_merged() -> None:
    parent = record("EHR", "1", 10, 1, given_name="Maria", family_name="Silva", birth_date="1980-05-01")
    child = record("EHR", "2", 10, 1, given_name="Lucas", family_name="Silva", birth_date="2015-09-09")
    crm_parent = record("CRM", "7", 20, 1, given_name="Maria", family_name="Silva", birth_date="1980-05-01")
    people = merge_records([parent, child, crm_parent])
    assert len(people) == 2
    assert {p.display_name for p in people} == {"Maria Silva", "Lucas Silva"}
    assert people[0].display_name == "Maria Silva"  # known to two sources: listed first


def test_swapped_names_still_match() -> None:
    a = record("EHR", "1", 10, 1, given_name="Chen", family_name="Wei", birth_date="1970-01-01")
    b = record("CRM", "2", 20, 1, given_name="Wei", family_name="Chen", birth_date="1970-01-01")
    assert len(merge_records([a, b])) == 1


def test_parse_search_reads_mrn_and_name_with_birth_date() -> None:
    import pytest

    from agentdesk.records.lookup import SearchQuery, parse_search

    assert parse_search("MRN1234567") == SearchQuery(mrn="MRN1234567")
    assert parse_search("Ana Lopez 1984-02-03") == SearchQuery(given="Ana", family="Lopez", birth_date="1984-02-03")
    assert parse_search(" Lopez,  Ana  2/3/1984 ") == SearchQuery(given="Ana", family="Lopez", birth_date="1984-02-03")
    assert parse_search("de la Cruz, Maria 1990-12-31").family == "de la Cruz"
    for text, field in (
        ("", "search"),
        ("Ana Lopez", "birth date"),
        ("Ana 1984-02-30", "birth date"),
        ("1984-02-03", "name"),
    ):
        with pytest.raises(ValueError, match=field):
            parse_search(text)


def test_matcher_review_pairs_stay_apart_and_name_each_other() -> None:

    ehr = record(
        "EHR",
        "1",
        10,
        1,
        given_name="Ana",
        family_name="Lopez",
        birth_date="1984-02-03",
        phone="+16175550123",
        postal_code="02139",
    )
    crm = record(
        "CRM", "2", 20, 1, given_name="Ana", family_name="Lopez", birth_date="1984-07-19", phone="+16175550123"
    )  # same name and line, another birth date: the matcher is unsure
    people = merge_records([ehr, crm])
    assert len(people) == 2  # never merged silently
    first, second = people
    assert first.possible_matches == (second.key,) and second.possible_matches == (first.key,)


def test_a_split_silences_the_review_flag() -> None:
    from agentdesk.records.decisions import Decision, DecisionBook, IdentityDecision

    ehr = record(
        "EHR", "1", 10, 1, given_name="Ana", family_name="Lopez", birth_date="1984-02-03", phone="+16175550123"
    )
    crm = record(
        "CRM", "2", 20, 1, given_name="Ana", family_name="Lopez", birth_date="1984-07-19", phone="+16175550123"
    )
    book = DecisionBook([IdentityDecision("CRM:2", "EHR:1", Decision.DIFFERENT)])
    people = merge_records([ehr, crm], decisions=book)
    assert [p.possible_matches for p in people] == [(), ()]


def test_the_merge_tests_run_the_desks_rule(tmp_path: Path) -> None:
    """merge_records and ProfileLookup group people by the rule services.build gives the desk: the identity matcher
    at the default thresholds (no hand-written rule of their own)."""
    from agentdesk import services
    from agentdesk.config import load_settings
    from agentdesk.paths import AppPaths
    from agentdesk.records.lookup import ProfileLookup

    desk_rule = services.build_matcher(load_settings([]))
    default = MatcherRule()
    assert (default.match_threshold, default.review_threshold, default.region) == (
        desk_rule.match_threshold,
        desk_rule.review_threshold,
        desk_rule.region,
    )
    built = services.build(load_settings([]), AppPaths.for_basedir(tmp_path))
    assert isinstance(built.lookup.merge, partial) and built.lookup.merge.keywords["same"] is built.matcher
    lookup = ProfileLookup([])
    assert isinstance(lookup.merge, partial) and isinstance(lookup.merge.keywords["same"], MatcherRule)
