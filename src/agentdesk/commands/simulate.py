"""`agentdesk simulate --agents N --hours H [--seed S] [--start ISO]`: a realistic day of N agents written through
the desks' own code paths into the local store, then pushed to the central store when one is configured, so a
supervisor sees the monitor working without a phone system."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from agentdesk import services

if TYPE_CHECKING:
    from agentdesk.commands.simulated_day import DayReport
    from agentdesk.config.schema import Settings
    from agentdesk.paths import AppPaths
    from agentdesk.store.local import LocalStore

MAX_AGENTS = 2000
DEMO_NAMES = (
    "Avery Chen",
    "Jordan Patel",
    "Riley Okafor",
    "Morgan Silva",
    "Casey Novak",
    "Drew Haddad",
    "Quinn Larsen",
    "Rowan Adeyemi",
    "Sasha Ivanova",
    "Taylor Brooks",
    "Jamie Romero",
    "Devon Walsh",
    "Harper Lindqvist",
    "Emery Nakamura",
    "Skyler Duarte",
    "Reese Kowalski",
)  # fictional


def shift_start(now: datetime) -> datetime:
    """Today's 08:00 local time (the default start of the simulated shift)."""
    local = now.astimezone()
    return local.replace(hour=8, minute=0, second=0, microsecond=0)


def run_simulate(
    agents: int, hours: float, seed: int, start: str | None, config: Path | None, basedir: Path | None
) -> int:
    from agentdesk.base.time import utc_now
    from agentdesk.commands.metrics import parse_moment
    from agentdesk.config import ConfigError

    if not 1 <= agents <= MAX_AGENTS:
        print(f"agentdesk simulate: --agents: between 1 and {MAX_AGENTS}", file=sys.stderr)
        return 2
    if not 0 < hours <= 24:
        print("agentdesk simulate: --hours: more than 0 and at most 24", file=sys.stderr)
        return 2
    try:
        begin = parse_moment(start, "--start") if start else shift_start(utc_now())
        paths = services.app_paths(basedir)
        paths.create()
        settings = services.read_settings(paths, config)
    except (ValueError, ConfigError) as exc:
        print(f"agentdesk simulate: {exc}", file=sys.stderr)
        return 2
    report, pushed, problem = asyncio.run(_simulate(settings, paths, agents, hours, seed, begin))
    print(
        f"simulated {agents} agent(s), {hours:g} h from {begin:%Y-%m-%d %H:%M}: {report.calls} calls, "
        f"{report.abandoned} abandoned, {report.transferred} transferred, {report.bookings} bookings, "
        f"{report.referrals} referrals, {report.events} call events"
    )
    if pushed is not None:
        print(f"central store: {pushed} row(s) pushed")
    if problem:
        print(f"central store: {problem}; the rows wait in the local outbox", file=sys.stderr)
        return 1
    return 0


async def _simulate(
    settings: Settings,
    paths: AppPaths,
    agents: int,
    hours: float,
    seed: int,
    begin: datetime,
    until_now: bool = False,
) -> tuple[DayReport, int | None, str]:
    from agentdesk.commands.simulated_day import SimulatedDay

    core = services.build(settings, paths, cache_seconds=0)
    await core.open_store()
    try:
        resolver = await asyncio.to_thread(services.build_campaign_resolver, settings)
        day = SimulatedDay(core.store, resolver, core.lookup, agents, begin, hours, seed, until_now=until_now)
        report = await day.run()
        await core.store.flush()
        if not settings.store.central_url:
            return report, None, ""
        return (report, *await _push(settings, core.store))
    finally:
        await core.close()


async def _push(settings: Settings, store: LocalStore) -> tuple[int | None, str]:
    from agentdesk.config.credentials import CredentialMissing
    from agentdesk.store.central import CentralStoreError
    from agentdesk.store.sync import OutboxSync

    try:
        central = services.open_central(settings)
    except (CredentialMissing, CentralStoreError) as exc:
        return None, str(exc)
    sync = OutboxSync(store, central, on_decisions=lambda _: None, batch_size=2000)
    try:
        report = await sync.sync_once()
        return report.pushed, ""
    except CentralStoreError as exc:
        return None, str(exc)
    finally:
        await asyncio.to_thread(central.dispose)


def demo_monitor_settings(settings: Settings, paths: AppPaths, agents: int = 14, seed: int = 20261206) -> Settings:
    """`--demo --monitor`: a simulated team's day so far (from local midnight, at most 8 hours, ending now) in a
    demo store of its own, made once per day; the returned settings read it."""
    from datetime import timedelta

    from agentdesk.base.time import utc_now
    from agentdesk.config.schema import RosterEntry
    from agentdesk.metrics.snapshot import local_midnight

    store_path = paths.demo_dir / "monitor.sqlite3"
    store = settings.store.model_copy(update={"local_path": str(store_path), "central_url": ""})
    roster = [
        RosterEntry(login=f"agent{n + 1:03d}", name=name, team="cardio" if n % 2 else "access")
        for n, name in enumerate(DEMO_NAMES[:agents])
    ]
    monitor = settings.monitor.model_copy(update={"roster": roster})
    demo = settings.model_copy(update={"store": store, "monitor": monitor})
    now = utc_now()
    stamp = paths.demo_dir / "monitor.day"
    today = f"{local_midnight(now):%Y-%m-%d}"
    if store_path.exists() and stamp.exists() and stamp.read_text(encoding="utf-8") == today:
        return demo
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store_path}{suffix}").unlink(missing_ok=True)
    start = max(local_midnight(now), now - timedelta(hours=8))
    hours = max((now - start).total_seconds() / 3600, 0.25)
    asyncio.run(_simulate(demo, paths, agents, hours, seed, start, until_now=True))
    stamp.write_text(today, encoding="utf-8")
    return demo
