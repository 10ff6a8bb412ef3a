"""How the GUI was asked to start: its options, a screen pop from `agentdesk pop` or an `agentdesk:` link.

The GUI itself is app.py (the only place with Qt); this module stays importable without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class PopRequest:
    """A screen pop asked for from the command line or an `agentdesk:` link."""

    ani: str
    dnis: str = ""
    campaign: str = ""


def pop_problem(pop: PopRequest) -> str:
    """Why this pop cannot be a call ('' when it can), naming the option; never quoting the value (a number).
    A withheld caller id ('anonymous') and an extension are calls; text that is no number is not."""
    from agentdesk.telephony.caller_id import NOT_A_NUMBER, read_caller_id

    if not pop.ani.strip():
        return "--ani: empty; give the caller's number (e.g. +16175550123 or (617) 555-0123)"
    # The region only decides how a number is written, not whether the text is one.
    if read_caller_id(pop.ani, "US")[1] == NOT_A_NUMBER:
        return "--ani: not a phone number; give the caller's number (e.g. +16175550123 or (617) 555-0123)"
    if pop.dnis.strip() and read_caller_id(pop.dnis, "US")[1] == NOT_A_NUMBER:
        return "--dnis: not a phone number; give the number the caller dialed (e.g. 8005550142)"
    return ""


@dataclass(frozen=True)
class LaunchOptions:
    """How the GUI was asked to start."""

    demo: bool = False
    config: Path | None = None
    basedir: Path | None = None
    smoke: bool = False
    pop: PopRequest | None = None
    monitor: bool = False  # the supervisor's team monitor instead of the desk


URI_SCHEME = "agentdesk:"


def monitor_command(options: LaunchOptions) -> list[str]:
    """The command line that opens the team monitor as its own process, with this desk's configuration: a desk
    that opens it keeps its GUI thread for calls (the monitor reads the central store on threads of its own)."""
    import sys

    program = [sys.executable] if getattr(sys, "frozen", False) else [sys.executable, "-m", "agentdesk"]
    extra = ["--demo"] if options.demo else []
    if options.config is not None:
        extra += ["--config", str(options.config)]
    if options.basedir is not None:
        extra += ["--basedir", str(options.basedir)]
    return [*program, "--monitor", *extra]


def expand_uri(arguments: list[str]) -> list[str]:
    """`agentdesk:pop?ani=...&dnis=...&campaign=...` (what a phone system or a link launches) -> pop arguments."""
    uris = [a for a in arguments if a.lower().startswith(URI_SCHEME)]
    if not uris:
        return arguments
    rest = [a for a in arguments if a not in uris]
    parts = urlsplit(uris[0])
    action = (parts.netloc or parts.path).strip("/").lower()
    if action != "pop":
        raise ValueError(f"unsupported link action '{action[:20]}'; use agentdesk:pop?ani=NUMBER")
    query = parse_qs(parts.query)
    ani = query.get("ani", [""])[0]
    if not ani:
        raise ValueError("the link has no ani (caller number): agentdesk:pop?ani=NUMBER")
    expanded = [*rest, "pop", "--ani", ani]
    for key in ("dnis", "campaign"):
        if query.get(key):
            expanded += [f"--{key}", query[key][0]]
    return expanded
