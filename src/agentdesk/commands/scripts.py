"""`agentdesk scripts check PATH...`: validate campaign files (a folder or files) without starting the app.
Exit 0 when every file is valid, 1 with every problem listed (file:line: key: message), 2 when the config that
names the dispositions cannot be read.

`agentdesk scripts funnel --from --to [--json]`: per script version and step, runs that reached, answered and
left the script there, and outcomes by path, from this desk's local store."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentdesk import services
from agentdesk.campaigns.loader import load_catalog
from agentdesk.config import ConfigError, Settings


def load_config(config: Path | None, basedir: Path | None) -> Settings:
    """The settings a desk on this machine would use (machine file, user file, then `--config`)."""
    return services.read_settings(services.app_paths(basedir), config)


def check(targets: Sequence[Path], config: Path | None = None, basedir: Path | None = None) -> int:
    """Validate campaign files; print every problem; 0 = all valid."""
    try:
        settings = load_config(config, basedir)
    except ConfigError as exc:
        print(f"cannot read the configuration (it names the dispositions):\n{exc}", file=sys.stderr)
        return 2
    folders = list(targets) or [settings.campaigns.folder_path]
    catalog = load_catalog(folders, [d.code for d in settings.dispositions])
    for problem in catalog.problems:
        print(problem)
    campaigns = catalog.campaigns
    if catalog.problems:
        broken = len({p.file for p in catalog.problems})
        print(f"{len(catalog.problems)} problem(s) in {broken} file(s)", file=sys.stderr)
        return 1
    if not campaigns:
        print(f"no campaign files (*.toml with [campaign], [script] and [[steps]]) in {', '.join(map(str, folders))}")
        return 1
    steps = sum(len(c.steps) for c in campaigns)
    print(f"OK: {len(campaigns)} campaign(s), {steps} steps")
    for parsed in campaigns:
        print(
            f"  {parsed.campaign.code}: script {parsed.script.id} v{parsed.script.version}, {len(parsed.steps)} steps"
        )
    return 0


def funnel(start: str, end: str, as_json: bool = False, config: Path | None = None, basedir: Path | None = None) -> int:
    """`agentdesk scripts funnel --from DATE --to DATE [--json]`: the funnel of the runs this desk stored."""
    import asyncio
    import datetime as dt
    import json

    from agentdesk.campaigns.funnel import build_funnels, format_funnels
    from agentdesk.store.local import LocalStore

    try:
        first = dt.date.fromisoformat(start)
        last = dt.date.fromisoformat(end)
    except ValueError:
        print("--from/--to: a date is expected (YYYY-MM-DD)", file=sys.stderr)
        return 2
    if last < first:
        print("--to: is before --from", file=sys.stderr)
        return 2
    try:
        settings = load_config(config, basedir)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    store_path = services.local_store_path(settings, services.app_paths(basedir))
    if not store_path.is_file():
        print(f"no local store at {store_path}: no script runs yet", file=sys.stderr)
        return 1
    since = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
    until = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)  # --to is inclusive

    async def read() -> list[Any]:
        store = LocalStore(store_path)
        await store.open()
        try:
            return await store.script_run_facts(since, until)
        finally:
            await store.close()

    funnels = build_funnels(asyncio.run(read()))
    if as_json:
        print(json.dumps({"from": start, "to": end, "scripts": [f.as_dict() for f in funnels]}, indent=2))
    else:
        print(format_funnels(funnels), end="")
    return 0
