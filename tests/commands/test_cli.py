"""The command line as IT and CI use it: version, demo smoke start, crash handling."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from agentdesk import __version__


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentdesk", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", **(env or {})},
    )


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"AgentDesk {__version__}"


def test_demo_smoke_starts_shows_the_window_and_exits_zero(tmp_path: Path) -> None:
    marker = tmp_path / "shown"
    result = run("--demo", "--smoke", "--basedir", str(tmp_path), env={"AGENTDESK_STARTUP_MARKER": str(marker)})
    assert result.returncode == 0, result.stderr
    assert marker.exists()  # the main window was shown
    log = (tmp_path / "logs" / "agentdesk.log").read_text(encoding="utf-8")
    assert "local store ready" in log and "smoke: ready" in log
    assert (tmp_path / "data" / "agentdesk.sqlite3").exists()
    assert (tmp_path / "data" / "demo" / "crm.sqlite3").exists()


def test_smoke_crash_prints_and_exits_nonzero(tmp_path: Path) -> None:
    # A bug during startup (here: an unreadable demo population) must not hang or exit 0.
    demo = tmp_path / "data" / "demo"
    demo.mkdir(parents=True)
    (demo / "ehr-patients.json").mkdir()  # a folder where a file belongs: writing it fails
    result = run("--demo", "--smoke", "--basedir", str(tmp_path))
    assert result.returncode != 0
    assert "startup failed" in (tmp_path / "logs" / "agentdesk.log").read_text(encoding="utf-8")


COMMANDS = {
    "check-config": ["x.toml"],
    "pop": ["--ani", "6175550123"],
    "lookup": ["--phone", "6175550123"],
    "link": ["a.csv", "--out", "o.csv"],
    "db": ["check"],
    "credentials": ["delete", "x"],
    "scripts": ["check", "campaigns/"],
    "doctor": [],
    "machine-config": ["--webhook-port", "8442"],
    "metrics": ["--from", "2026-03-02", "--to", "2026-03-03"],
    "simulate": ["--agents", "2", "--hours", "1"],
    "export": ["--from", "2026-12-01", "--to", "2026-12-02"],
    "audit": ["verify"],
    "pin": ["set"],
}


def test_every_command_takes_the_global_options_before_or_after_it() -> None:
    from agentdesk.cli import build_parser

    parser = build_parser()
    assert set(COMMANDS) == set(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    options = ["--config", "c.toml", "--basedir", "b", "--demo", "--smoke"]
    for command, arguments in COMMANDS.items():
        before = parser.parse_args([*options, command, *arguments])
        after = parser.parse_args([command, *options, *arguments])
        neither = parser.parse_args([command, *arguments])
        for args in (before, after):
            assert (args.config, args.basedir, args.demo, args.smoke) == (Path("c.toml"), Path("b"), True, True)
        assert (neither.config, neither.basedir, neither.demo, neither.smoke) == (None, None, False, False), command


def test_pop_refuses_a_caller_number_that_is_no_number(tmp_path: Path) -> None:
    """Before, `pop --ani notaphone` started (or reached) the desk with a call nobody could look up."""
    result = run("pop", "--ani", "notaphone", "--basedir", str(tmp_path), timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "agentdesk pop: --ani: not a phone number; give the caller's number (e.g. +16175550123 or (617) 555-0123)"
    )
    assert "notaphone" not in result.stderr and not (tmp_path / "data").exists()  # no desk was started
    link = run("agentdesk:pop?ani=%2B16175550123&dnis=call%20me", "--basedir", str(tmp_path), timeout=30)
    assert link.returncode == 2 and link.stderr.startswith("agentdesk pop: --dnis: not a phone number")
    blank = run("pop", "--ani", " ", "--basedir", str(tmp_path), timeout=30)
    assert blank.returncode == 2 and "--ani: empty" in blank.stderr


def test_pop_takes_numbers_extensions_and_withheld_caller_ids() -> None:
    from agentdesk.commands.gui import PopRequest, pop_problem

    for ani in ("6175550123", "+1 (617) 555-0123", "1001", "anonymous", "Restricted"):
        assert pop_problem(PopRequest(ani, "8005550142")) == "", ani


def test_a_desktop_start_is_parsed_as_the_full_parser_parses_it() -> None:
    """A start that names no command skips building every command's parser; it must mean exactly the same."""
    from agentdesk import cli

    parser = cli.build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(commands.choices) == cli.COMMANDS  # a new command must be known to the shortcut
    for arguments in (
        [],
        ["--demo", "--smoke"],
        ["--config", "c.toml", "--basedir", "b"],
        ["--monitor", "--demo"],
        ["--config=x.toml", "--smoke"],
    ):
        assert cli.parse_arguments(arguments) == parser.parse_args(arguments), arguments
    # A value that happens to be a command's name, or a command, still goes through the full parser.
    assert cli.parse_arguments(["--config", "doctor"]) == parser.parse_args(["--config", "doctor"])
    assert cli.parse_arguments(["doctor", "--demo"]).command == "doctor"


def test_storing_a_credential_without_a_keychain_names_the_fix(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    result = subprocess.run(
        [sys.executable, "-m", "agentdesk", "--basedir", str(tmp_path), "credentials", "set", "ehr-token"],
        input="not-a-real-secret\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 1
    assert "credential 'ehr-token' not stored: no usable OS keychain" in result.stderr
    assert "gnome-keyring" in result.stderr and "Credential Manager" in result.stderr
    assert "3rd party backend" not in result.stderr  # the keyring library's own advice is not ours to give
    assert "not-a-real-secret" not in result.stderr + result.stdout
