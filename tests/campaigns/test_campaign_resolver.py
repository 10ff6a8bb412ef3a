"""Which campaign a call gets, and why; older [[campaigns]] tables; the README's complete example is valid."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from agentdesk.campaigns.context import script_context
from agentdesk.campaigns.loader import SHIPPED_FOLDER, CampaignCatalog, load_campaign_file, load_catalog
from agentdesk.campaigns.resolver import CampaignResolver
from agentdesk.campaigns.runner import ScriptRun
from agentdesk.config import Settings
from agentdesk.config.schema import DEFAULT_DISPOSITIONS
from tests.campaign_fixtures import DISPOSITIONS, SMALL, write_campaign

README = Path(__file__).resolve().parents[2] / "README.md"
TODAY = dt.date(2026, 12, 6)


def shipped() -> CampaignResolver:
    catalog = load_catalog([SHIPPED_FOLDER], DISPOSITIONS)
    return CampaignResolver.from_catalog(catalog, [], list(DEFAULT_DISPOSITIONS))


def test_resolution_order_and_the_reason_shown() -> None:
    resolver = shipped()
    code = resolver.resolve("+18005550142", "new-patients", "flu-2026", today=TODAY)
    assert (code.campaign and code.campaign.code, code.reason) == ("FLU-REMIND", "matched by campaign code flu-2026")
    dialed = resolver.resolve("+18005550142", "new-patients", today=TODAY)
    assert (dialed.campaign and dialed.campaign.code) == "HEART-TV"
    assert dialed.reason == "matched by dialed number (800) 555-0142"
    queue = resolver.resolve("+18005550100", "New-Patients", today=TODAY)
    assert (queue.campaign and queue.campaign.code, queue.reason) == ("NEW-PATIENT", "matched by queue New-Patients")
    nothing = resolver.resolve("+18005550100", "", today=TODAY)
    assert (nothing.campaign and nothing.campaign.code) == "GENERAL" and nothing.script is not None
    assert nothing.reason == "no campaign matched: default campaign"


def test_a_campaign_outside_its_dates_falls_back_to_the_default() -> None:
    resolver = shipped()
    summer = resolver.resolve("", "flu-outbound", today=dt.date(2026, 7, 1))  # flu season starts in September
    assert summer.campaign is not None and summer.campaign.code == "GENERAL"
    assert summer.reason == "Flu shot reminders is not active today: default campaign"


def test_the_configured_default_wins_and_a_wrong_one_is_reported() -> None:
    catalog = load_catalog([SHIPPED_FOLDER], DISPOSITIONS)
    chosen = CampaignResolver.from_catalog(catalog, [], list(DEFAULT_DISPOSITIONS), default_code="new-patient")
    assert chosen.resolve("", today=TODAY).campaign.code == "NEW-PATIENT"  # type: ignore[union-attr]
    wrong = CampaignResolver.from_catalog(catalog, [], list(DEFAULT_DISPOSITIONS), default_code="NOPE")
    assert ("NOPE", "campaigns.default names no loaded campaign") in wrong.unavailable


def test_older_campaign_tables_still_match_and_run_the_default_script_after_their_greeting() -> None:
    settings = Settings.model_validate(
        {"campaigns": [{"code": "OLD", "name": "Old line", "dnis": ["+18005550177"], "greeting": "Hi {caller}!"}]}
    )
    assert [c.code for c in settings.campaigns.inline] == ["OLD"]
    catalog = load_catalog([SHIPPED_FOLDER], DISPOSITIONS)
    resolver = CampaignResolver.from_catalog(catalog, settings.campaigns.inline, list(DEFAULT_DISPOSITIONS))
    found = resolver.resolve("+18005550177", today=TODAY)
    assert found.campaign is not None and found.campaign.code == "OLD" and found.script is not None
    run = ScriptRun(found.script, script_context({"given_name": "Ana"}, campaign=found.campaign))
    assert run.text() == "Hi Ana!"
    run.advance()
    assert run.step.id == "reason"  # the default script, without its own greeting


def test_a_file_with_a_clashing_code_is_unavailable_with_the_reason(tmp_path: Path) -> None:
    write_campaign(tmp_path, SMALL, "a.toml")
    write_campaign(tmp_path, SMALL.replace('goto = "book"', 'goto = "nowhere"'), "b-broken.toml")
    resolver = CampaignResolver.from_catalog(load_catalog([tmp_path], DISPOSITIONS), [], list(DEFAULT_DISPOSITIONS))
    assert [c.code for c in resolver.campaigns] == ["TEST-LINE"]
    ((name, why),) = resolver.unavailable
    assert name == "b-broken.toml" and "unknown step 'nowhere'" in why
    assert resolver.resolve("+18005550100", today=TODAY).campaign is None  # no default in this folder
    assert CampaignResolver.from_catalog(CampaignCatalog(), [], []).resolve("").reason == "no campaign matched"


def test_the_readme_example_is_a_valid_campaign_file(tmp_path: Path) -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### The script format") :]
    example = re.search(r"```toml\n(.*?)```", section, re.S)
    assert example is not None
    loaded = load_campaign_file(write_campaign(tmp_path, example.group(1), "readme.toml"), DISPOSITIONS)
    assert loaded.problems == ()
    assert {s.kind.value for s in loaded.campaign_file.steps} == {"say", "branch", "ask", "action", "end"}  # type: ignore[union-attr]
