"""`agentdesk machine-config`: write (or remove) the machine-wide config file; what the MSI's public properties run.

    agentdesk-cli machine-config --config-file \\\\server\\share\\agentdesk.toml --central-url URL --webhook-port N

The installer runs this as SYSTEM with its properties (empty when not given). The result is validated like any
config before it replaces the machine-wide file, so a bad value fails the installation with every problem listed
in the MSI log instead of leaving workstations that refuse to start. Without a config file, the existing
machine-wide file (if any) is the base, so an upgrade that only changes the central URL keeps everything else.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentdesk.base.files import write_whole
from agentdesk.config import ConfigError, ConfigProblem, load_settings
from agentdesk.config.loader import merge_layers, read_layer
from agentdesk.config.toml_text import dumps
from agentdesk.paths import AppPaths


def default_target() -> Path:
    machine = AppPaths.for_current_user().machine_config
    if machine is None:  # pragma: no cover - for_current_user always names one
        raise RuntimeError("no machine-wide config location on this system")
    return machine


def run_machine_config(
    config_file: str = "",
    central_url: str = "",
    webhook_port: str = "",
    target: Path | None = None,
    remove: bool = False,
) -> int:
    target = target or default_target()
    if remove:
        return _remove(target)
    try:
        text = compose(config_file.strip(), central_url.strip(), webhook_port.strip(), target)
    except ConfigError as exc:
        print(f"machine-wide config NOT written ({target}):\n{exc}", file=sys.stderr)
        return 1
    if text is None:
        print("nothing to write: no --config-file, --central-url or --webhook-port given")
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed: a desk starting meanwhile reads the old file or the new, never half.
    write_whole(target, text)
    print(f"wrote the machine-wide config {target}")
    return 0


def compose(config_file: str, central_url: str, webhook_port: str, target: Path) -> str | None:
    """The new machine-wide file's text, validated; None when nothing was asked for."""
    overrides: dict[str, Any] = {}
    problems: list[ConfigProblem] = []
    if central_url:
        overrides["store"] = {"central_url": central_url}
    if webhook_port:
        try:
            overrides["webhook"] = {"port": int(webhook_port)}
        except ValueError:
            problems.append(ConfigProblem("webhook.port", f"not a port number (got {webhook_port[:20]!r})"))
    if problems:
        raise ConfigError(problems)
    if not config_file and not overrides:
        return None
    base_path = Path(config_file) if config_file else (target if target.is_file() else None)
    base = read_layer(base_path) if base_path is not None else None
    merged = merge_layers([base.data if base else {}, overrides])
    if base is not None and not overrides:
        text = base.text  # the file IT wrote, comments and all
    else:
        source = f" from {base_path}" if base_path is not None else ""
        text = (
            f"# AgentDesk machine-wide config, written by the installer{source}\n"
            f"# on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Edit the source and reinstall, or edit this file.\n\n"
            + dumps(merged)
        )
    _validate(text, target)
    return text


def _validate(text: str, target: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="agentdesk-machine-") as folder:
        candidate = Path(folder) / target.name
        candidate.write_text(text, encoding="utf-8")
        try:
            load_settings([candidate])
        except ConfigError as exc:
            # name the file IT will look for, not the temporary copy
            raise ConfigError(
                [
                    ConfigProblem(p.key_path, p.message, file=target if p.file else None, line=p.line, hint=p.hint)
                    for p in exc.problems
                ]
            ) from None


def _remove(target: Path) -> int:
    """REMOVE_DATA=1 on uninstall: the machine-wide folder goes (users' own folders are theirs to remove)."""
    folder = target.parent
    if folder.name.lower() != "agentdesk":
        print(f"refusing to remove {folder}: not an AgentDesk folder", file=sys.stderr)
        return 1
    if folder.exists():
        shutil.rmtree(folder)
        print(f"removed {folder}")
    return 0
