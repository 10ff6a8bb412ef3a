"""`agentdesk scripts check PATH...`: validate campaign files (a folder or files) without starting the app.

Exit 0 when every file is valid, 1 with every problem listed (file:line: key: message), 2 when the config that
names the dispositions cannot be read."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

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
    folders = list(targets)
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
