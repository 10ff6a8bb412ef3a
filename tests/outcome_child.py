"""A small desk process for the kill tests: saves wrap-ups (a booking and a referral each, some saved twice) and
syncs them to the central store, printing `ACK call_id version` only after each save returned (durable).

Run as a zygote (`python -m tests.outcome_child DB URL`): it imports everything once, then for each `go N` line
on stdin forks a worker and prints `PID pid`, so the test can SIGKILL hundreds of workers in a minute without
paying Python's start-up each time. Workers never share an open database: each opens the store after the fork.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agentdesk.desk import Desk
from agentdesk.store.central import CentralStore, CentralStoreError
from agentdesk.store.dispositions import Disposition
from agentdesk.store.local import LocalStore
from agentdesk.store.outcomes import WrapUpForm, read_outcomes
from agentdesk.store.sync import OutboxSync

START = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%d 10:30")
FORM = WrapUpForm(
    "appointment_booked",
    "",
    {
        "booking": {"provider": "Dr. Ada Quill", "location": "Heart Center", "visit_type": "Consult", "start": START},
        "referral": {"target": "Cardiology", "reason": "Chest pain on exertion", "urgency": "urgent"},
    },
)


def say(line: str) -> None:
    os.write(1, f"{line}\n".encode())  # one write: lines from successive workers never interleave


async def work(database: Path, central_url: str, worker: int) -> None:
    store = LocalStore(database)
    await store.open()
    store.write_back = ("ehr",)  # every booking and referral queued for a FHIR backend, in the save's transaction
    sync = OutboxSync(store, CentralStore(central_url), lambda _: None, batch_size=50) if central_url else None

    async def syncing() -> None:
        assert sync is not None
        while True:
            try:
                await sync.sync_once()
            except CentralStoreError:
                await asyncio.sleep(0.01)

    task = asyncio.get_running_loop().create_task(syncing()) if sync else None
    for i in range(1_000_000):
        call_id = f"k{worker}-{i}"
        for _ in range(2 if i % 3 == 0 else 1):  # every third wrap-up is saved again: a second version
            outcomes = read_outcomes(FORM, {"booking"}, agent_id="dana", time_zone="UTC", now=datetime.now(UTC))
            disposition = Disposition(
                call_id=call_id, agent_id="dana", disposition_code="appointment_booked", outcome="booking"
            )
            store.log_call_event(call_id, "ended", "ended", "kill-test", datetime.now(UTC))
            saved = await store.save_disposition(disposition, outcomes)
            say(f"ACK {call_id} {saved.version}")
    if task is not None:
        task.cancel()


async def prepare(database: Path) -> None:
    """Create (migrate) the store and load every lazy import once, before any fork: a worker then reaches its
    first save in milliseconds. (Kills during the very first start are the first-start test's business.)"""
    store = LocalStore(database)
    await store.open()
    await store.close()


def zygote(database: Path, central_url: str) -> None:
    asyncio.run(prepare(database))
    CentralStore(central_url or "postgresql+psycopg://agentdesk@127.0.0.1:9/x").dispose()  # the driver, loaded
    say("READY")
    child = 0
    for line in sys.stdin:
        if child:
            os.waitpid(child, 0)
            child = 0
        command, _, argument = line.strip().partition(" ")
        if command != "go":
            break
        child = os.fork()
        if child == 0:
            try:
                asyncio.run(work(database, central_url, int(argument)))
            finally:
                os._exit(0)
        say(f"PID {child}")
    if child:
        os.waitpid(child, 0)


def build_desk(store: LocalStore) -> Desk:
    from agentdesk.campaigns.resolver import CampaignResolver
    from agentdesk.config.schema import Settings
    from agentdesk.records.lookup import ProfileLookup
    from agentdesk.telephony.agent_state import AgentStateMachine
    from agentdesk.telephony.calls import CallTracker

    settings = Settings()
    return Desk(
        "dana",
        CallTracker(),
        ProfileLookup([]),
        CampaignResolver((), settings.dispositions),
        store,
        AgentStateMachine(settings.agent.not_ready_reasons),
        time_zone="UTC",
    )


async def draft_then_hang(database: Path) -> None:
    """A call, half a wrap-up typed (a draft on disk), then the process waits to be killed."""
    from agentdesk.telephony.events import CallEvent, CallEventKind

    store = LocalStore(database)
    await store.open()
    desk = build_desk(store)
    for kind in (CallEventKind.OFFERED, CallEventKind.ANSWERED, CallEventKind.ENDED):
        desk.ingest(CallEvent(kind, "draft-call-1", ani="+16175550142", dnis="+18005550143", source="test"))
    assert desk.current is not None
    desk.save_draft(desk.current, FORM)
    await desk.drain()
    say("DRAFTED")
    await asyncio.sleep(3600)


if __name__ == "__main__":
    if sys.argv[1] == "draft":
        asyncio.run(draft_then_hang(Path(sys.argv[2])))
    else:
        zygote(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "")
