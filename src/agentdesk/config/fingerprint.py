"""The config that validated at the last start, remembered so the next start can show its window first.

Validating the settings means importing pydantic and building the schema: the largest part of a cold start. When
the config bytes of every layer, the app version and the schema version are those that validated at the last
start, nothing can have changed the outcome, so the desktop shows its main window first and validates right after
the first paint (app.py). A new or changed config (or a new version) is validated before any window, as always: a
broken config still stops the app with every problem listed.

The remembered file (`config-validated.json`, beside the local store) holds the fingerprint and the few values the
window needs before the settings exist (StartValues). It is only trusted when this user owns it and nobody else
may read or write it or its folder (0600 in 0700, like the store); anything else (another owner, wider modes, a
symlink, an edit, garbage) just means a full validation first. It never holds a secret or patient data.

No pydantic here: this module is imported before the first paint.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentdesk import __version__
from agentdesk.base.private import POSIX, mine_alone, write_private

if TYPE_CHECKING:
    from agentdesk.config.schema import Settings

# Bump with any change to the settings schema or its validation that could turn a valid config invalid (or change
# a StartValues default). A released build also changes __version__; this is for changes between releases.
SCHEMA_VERSION = 1
FILE_NAME = "config-validated.json"
MAX_BYTES = 64 * 1024


@dataclass(frozen=True)
class StartValues:
    """What the desktop needs before its settings are built: the logging, the single-instance hand-over, the
    window's title and its agent-state choices."""

    agent_name: str  # agent.display_name or agent.id; "" means the OS login
    not_ready_reasons: tuple[str, ...]
    log_level: str
    log_json: bool
    log_keep_files: int
    webhook_enabled: bool
    webhook_token_credential: str

    @classmethod
    def of(cls, settings: Settings) -> StartValues:
        return cls(
            agent_name=settings.agent.display_name or settings.agent.id,
            not_ready_reasons=tuple(settings.agent.not_ready_reasons),
            log_level=settings.logging.level,
            log_json=settings.logging.json_format,
            log_keep_files=settings.logging.keep_files,
            webhook_enabled=settings.webhook.enabled,
            webhook_token_credential=settings.webhook.token_credential,
        )


def config_fingerprint(files: Sequence[Path], *, demo: bool, machine: Path | None) -> str | None:
    """A hash of every layer's path and bytes, which file is the machine-wide one, the demo flag, the app version
    and the schema version; None when a layer cannot be read (the full validation reports it)."""
    digest = hashlib.sha256()
    for part in (__version__, str(SCHEMA_VERSION), "demo" if demo else "", str(machine or "")):
        digest.update(part.encode("utf-8") + b"\0")
    for path in files:
        try:
            data = path.read_bytes()
        except OSError:
            return None
        digest.update(str(path).encode("utf-8", "surrogateescape") + b"\0")
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def _check(fingerprint: str, values: dict[str, Any]) -> str:
    """Binds the values to the fingerprint: an edited or half-written file fails it (not a secret: the file's
    permissions are what keeps other users out)."""
    text = fingerprint + json.dumps(values, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_validated(folder: Path, fingerprint: str) -> StartValues | None:
    """The StartValues remembered with `fingerprint`, or None (no file, another fingerprint, not this user's
    alone, unreadable, or edited): then the config is validated before any window."""
    path = folder / FILE_NAME
    try:
        if POSIX and not mine_alone(folder.stat()):
            return None
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    try:
        if POSIX and not mine_alone(os.fstat(fd)):
            return None
        raw = os.read(fd, MAX_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        data = json.loads(raw.decode("utf-8")) if len(raw) <= MAX_BYTES else None
        if not isinstance(data, dict) or data.get("fingerprint") != fingerprint:
            return None
        values = data["values"]
        if data.get("check") != _check(fingerprint, values):
            return None
        start = _start_values(values)
    except (ValueError, KeyError, TypeError):
        return None
    return start


def _start_values(values: dict[str, Any]) -> StartValues | None:
    reasons = values["not_ready_reasons"]
    start = StartValues(
        agent_name=values["agent_name"],
        not_ready_reasons=tuple(reasons) if isinstance(reasons, list) else (),
        log_level=values["log_level"],
        log_json=values["log_json"],
        log_keep_files=values["log_keep_files"],
        webhook_enabled=values["webhook_enabled"],
        webhook_token_credential=values["webhook_token_credential"],
    )
    kinds = {"agent_name": str, "log_level": str, "log_json": bool, "log_keep_files": int}
    kinds |= {"webhook_enabled": bool, "webhook_token_credential": str}
    typed = all(type(getattr(start, name)) is kind for name, kind in kinds.items())
    if not typed or not start.not_ready_reasons or not all(isinstance(r, str) for r in start.not_ready_reasons):
        return None
    return start


def remember_validated(folder: Path, fingerprint: str, values: StartValues) -> None:
    """Note that the config with `fingerprint` validated (user-only, replaced atomically). A failure to write only
    costs the next start its head start, so it is not an error."""
    payload = asdict(values)
    text = json.dumps({"fingerprint": fingerprint, "values": payload, "check": _check(fingerprint, payload)})
    with contextlib.suppress(OSError):
        write_private(folder / FILE_NAME, text.encode("utf-8"))


def forget_validated(folder: Path) -> None:
    with contextlib.suppress(OSError):
        (folder / FILE_NAME).unlink()
