"""`agentdesk pin set`: choose (or change) this agent's AgentDesk PIN, the one the lock asks for when the
deployment requires it (security.require_pin). Stored as an argon2id hash in a user-only file in the user data
folder; a running desk takes the new PIN at its next unlock.

The PIN is read twice without echo (getpass); a PIN already set must be given first. Without a terminal (a
script), the PINs are read one per line from standard input in the same order. Exit 0 when stored, 1 when refused
(mismatch, too short, wrong current PIN), 2 for a configuration error."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from pathlib import Path

from agentdesk import services
from agentdesk.config import ConfigError


def _reader() -> Callable[[str], str]:
    if sys.stdin.isatty():
        return getpass.getpass
    return lambda _prompt: sys.stdin.readline().rstrip("\r\n")


def set_pin(config: Path | None = None, basedir: Path | None = None, ask: Callable[[str], str] | None = None) -> int:
    from agentdesk.config.operator import PinBook, PinInvalid

    paths = services.app_paths(basedir)
    try:
        settings = services.read_settings(paths, config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    ask = ask or _reader()
    book = PinBook(paths.data_dir, settings.security.pin_min_length)
    current = ask("Current AgentDesk PIN: ") if book.load() else None
    pin = ask(f"New AgentDesk PIN (at least {book.min_length} characters): ")
    if ask("The new PIN again: ") != pin:
        print("the two PINs differ; nothing changed", file=sys.stderr)
        return 1
    try:
        book.set(pin, current)
    except PinInvalid as exc:
        print(f"{exc}; nothing changed", file=sys.stderr)
        return 1
    print("AgentDesk PIN " + ("changed" if current is not None else "set") + f" for {services.agent_id(settings)}")
    return 0
