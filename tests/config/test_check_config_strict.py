"""check-config as IT meets it: strict types (a quoted "yes" is not true), every problem in one run with its
file and line (cross-key ones too), a mistyped kind named with the kinds that exist while the entry's other
mistakes still show, and a dialed number that is no phone number refused."""

from __future__ import annotations

from pathlib import Path

from agentdesk.campaigns.model import CampaignMatch
from agentdesk.config import check_config_file

BAD = """\
[ui]
wrapup_required = "yes"

[telephony]
ring_timeout_seconds = "90"

[matching]
match_threshold = 0.8
review_threshold = 0.9

[[backends]]
name = "EHR"
kind = "fihr"
base_url = "ftp://nope"

[[backends]]
name = "EHR"
kind = "sql"
url = "sqlite:///x.db"
phone_query = "SELECT * FROM t WHERE phone = :phone_national"

[[campaigns]]
code = "HEART"
name = "Heart"
dnis = ["not a phone"]
dispositions = ["nope"]
"""


def test_every_problem_at_once_each_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "agentdesk.toml"
    path.write_text(BAD, encoding="utf-8")
    said = {p.key_path: (p.line, p.message, p.hint) for p in check_config_file(path)}
    assert said["ui.wrapup_required"][:2] == (2, "expected true or false, not the text 'yes' (write it without quotes)")
    assert said["telephony.ring_timeout_seconds"][:2] == (
        5,
        "expected a number, not the text '90' (write it without quotes)",
    )
    assert said["matching.review_threshold"][:2] == (9, "must be below match_threshold (0.8)")
    line, message, hint = said["backends[0].kind"]
    assert (line, message, hint) == (13, "unknown kind 'fihr', expected one of fhir, sql, rest", "did you mean 'fhir'?")
    assert said["backends[0].base_url"][0] == 14  # checked as the fhir entry it was meant to be
    assert said["backends[1].name"][0] == 17 and "share name = 'EHR'" in said["backends[1].name"][1]
    assert said["campaigns[0].dnis"][:2] == (25, "'not a phone' is not a phone number (digits and + ( ) - . only)")
    assert (
        said["campaigns[0].dispositions"][0] == 26
        and "unknown disposition(s) nope" in said["campaigns[0].dispositions"][1]
    )
    assert all(line is not None for line, _, _ in said.values())
    assert "<defaults>" not in "\n".join(str(p) for p in check_config_file(path))


def test_a_missing_kind_is_named(tmp_path: Path) -> None:
    path = tmp_path / "agentdesk.toml"
    path.write_text('[[backends]]\nname = "EHR"\nbase_url = "https://ehr.example.org/fhir"\n', encoding="utf-8")
    (problem,) = check_config_file(path)
    assert (problem.key_path, problem.line) == ("backends[0].kind", 1)
    assert problem.message == "required key 'kind' is missing; one of fhir, sql, rest"


def test_campaign_files_refuse_a_dialed_number_that_is_no_phone_number() -> None:
    assert CampaignMatch(dnis=["(800) 555-0142", "+18005550142", "5000"]).dnis[2] == "5000"
    for bad in ("not a phone", "12", "+1 800 555 0142 0000 99"):
        try:
            CampaignMatch(dnis=[bad])
        except ValueError as exc:
            assert "dialed number" in str(exc) or "not a phone number" in str(exc)
        else:
            raise AssertionError(f"{bad!r} was accepted")
