"""The desk and script runs, without Qt: a new call starts a run, a transfer keeps it, a campaign switch is
audited and stores the old run, and a call never wrapped up still has its run stored when it is forgotten."""

from __future__ import annotations

import asyncio
from pathlib import Path

from agentdesk.campaigns.loader import SHIPPED_FOLDER, load_catalog
from agentdesk.campaigns.resolver import CampaignResolver
from agentdesk.config.schema import DEFAULT_DISPOSITIONS
from agentdesk.desk import Desk
from agentdesk.records.lookup import ProfileLookup
from agentdesk.store.local import LocalStore
from agentdesk.telephony.agent_state import AgentStateMachine
from agentdesk.telephony.calls import CallTracker
from agentdesk.telephony.events import CallEvent, CallEventKind
from tests.campaign_fixtures import DISPOSITIONS

ANI = "+16175550123"


def make_desk(store: LocalStore) -> Desk:
    catalog = load_catalog([SHIPPED_FOLDER], DISPOSITIONS)
    resolver = CampaignResolver.from_catalog(catalog, [], list(DEFAULT_DISPOSITIONS))
    tracker = CallTracker("US")
    return Desk(
        "dana", tracker, ProfileLookup([]), resolver, store, AgentStateMachine(["Break"]), agent_name="Dana Cole"
    )


def event(kind: CallEventKind, call_id: str, dnis: str = "") -> CallEvent:
    return CallEvent(kind, call_id, ani=ANI, dnis=dnis, source="test")


def test_runs_across_new_calls_transfers_switches_and_forgotten_calls(tmp_path: Path) -> None:
    async def scenario() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
        store = LocalStore(tmp_path / "desk.sqlite3")
        await store.open()
        desk = make_desk(store)
        desk.ingest(event(CallEventKind.OFFERED, "c1", "+18005550142"))
        desk.ingest(event(CallEventKind.ANSWERED, "c1"))
        first = desk.contexts["c1"]
        assert first.campaign is not None and first.campaign.code == "HEART-TV" and first.script is not None
        assert first.script.text().endswith("My name is Dana, and I can help you book a screening today.")
        run = first.script
        run.advance()
        await desk.drain()
        # A transfer arrives as a new call id for the same caller: the same conversation, the same run.
        desk.ingest(event(CallEventKind.TRANSFERRED, "c1"))
        desk.ingest(event(CallEventKind.OFFERED, "c2", "+18005550100"))
        second = desk.contexts["c2"]
        assert second.script is run and first.script is None
        assert second.campaign is not None and second.campaign.code == "HEART-TV"
        assert second.campaign_reason.startswith("kept from the transferred call")
        # The agent moves the call to the referral line: audited, the old run stored, a new run starts.
        desk.switch_campaign(second, "REFERRAL-LINE")
        assert second.script is not None and second.script is not run
        assert second.script.script.campaign.code == "REFERRAL-LINE"
        assert {d.code for d in second.dispositions} >= {"referral_made"}
        desk.ingest(event(CallEventKind.ANSWERED, "c2"))
        desk.ingest(event(CallEventKind.ENDED, "c2"))
        # Another caller later: a fresh run of their call's campaign.
        desk.ingest(CallEvent(CallEventKind.OFFERED, "c3", ani="+16175550999", dnis="+18005550143", source="test"))
        assert desk.contexts["c3"].script is not None and desk.contexts["c3"].script.path == ["greet"]
        await desk.drain()
        desk.expire_calls(desk.monotonic() + 2 * 3600)
        assert desk.contexts["c2"] in desk.needs_wrapup  # never wrapped up: still listed, however old
        await desk.discard_wrapup(desk.contexts["c2"], "caller hung up at once")  # its run is kept as it stands
        await desk.drain()
        async with asyncio.timeout(5):
            runs = await store._run(_rows, store, "script_runs")
            audits = await store.audit_events()
        await store.close()
        return runs, audits

    runs, audits = asyncio.run(scenario())
    by_campaign = {str(r["campaign_code"]): r for r in runs}
    assert set(by_campaign) == {"HEART-TV", "REFERRAL-LINE"}
    assert by_campaign["HEART-TV"]["path"] == "greet who new_caller" and not by_campaign["HEART-TV"]["finished"]
    assert by_campaign["REFERRAL-LINE"]["path"] == "greet" and by_campaign["REFERRAL-LINE"]["call_id"] == "c2"
    switches = [a for a in audits if a["action"] == "campaign_switch"]
    assert [(a["patient_key"], a["call_id"]) for a in switches] == [("campaign:HEART-TV>REFERRAL-LINE", "c2")]


def _rows(store: LocalStore, table: str) -> list[dict[str, object]]:
    import sqlalchemy as sa

    from agentdesk.store import schema

    with store.engine.connect() as connection:
        return [dict(r) for r in connection.execute(sa.select(schema.metadata.tables[table])).mappings()]
