"""The command line: the GUI launcher and the headless tools. Headless commands never import Qt."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from agentdesk import __version__


@dataclass(frozen=True)
class PopRequest:
    """A screen pop asked for from the command line or an `agentdesk:` link."""

    ani: str
    dnis: str = ""
    campaign: str = ""


@dataclass(frozen=True)
class LaunchOptions:
    """How the GUI was asked to start."""

    demo: bool = False
    config: Path | None = None
    basedir: Path | None = None
    smoke: bool = False
    pop: PopRequest | None = None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentdesk", description="AgentDesk: the agent desktop for healthcare contact centers."
    )
    parser.add_argument("--version", action="version", version=f"AgentDesk {__version__}")
    parser.add_argument("--demo", action="store_true", help="run with a synthetic population; no server needed")
    parser.add_argument("--config", type=Path, metavar="PATH", help="a config file layered over the others")
    parser.add_argument("--basedir", type=Path, metavar="DIR", help="keep all data, logs and settings under DIR")
    parser.add_argument("--smoke", action="store_true", help="start, show the main window, exit 0 (for CI)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = commands.add_parser("check-config", help="validate a config file; exit 1 on errors")
    check.add_argument("file", type=Path)

    pop = commands.add_parser(
        "pop", help="pop the caller's profile in the running AgentDesk (starts it when none runs)"
    )
    pop.add_argument("--ani", required=True, help="the caller's number")
    pop.add_argument("--dnis", default="", help="the number the caller dialed")
    pop.add_argument("--campaign", default="", help="a campaign code")

    lookup = commands.add_parser(
        "lookup", help="fetch, match and merge a caller's records from every configured backend (no GUI)"
    )
    lookup.add_argument("--phone", required=True, help="the caller's number, any common format")
    lookup.add_argument("--json", action="store_true", help="print JSON instead of a table")

    link = commands.add_parser("link", help="link two CSV extracts (or deduplicate one) with the identity matcher")
    link.add_argument("left", type=Path, help="CSV with a header row (id, given_name, family_name, birth_date, ...)")
    link.add_argument("right", type=Path, nargs="?", help="a second CSV; without it, LEFT is deduplicated")
    link.add_argument("--out", type=Path, required=True, help="where to write left_id,right_id,score,decision")
    link.add_argument("--threshold", type=float, help="match threshold (default: the config's)")

    database = commands.add_parser("db", help="the central store's schema (for IT)")
    database.add_argument("action", choices=("upgrade", "check"), help="upgrade: apply migrations; check: report")

    scripts = commands.add_parser("scripts", help="campaign scripts: check files (no GUI)")
    script_commands = scripts.add_subparsers(dest="scripts_command", metavar="ACTION", required=True)
    script_check = script_commands.add_parser(
        "check", help="validate campaign files (folders or files); exit 1 listing every problem"
    )
    script_check.add_argument("paths", type=Path, nargs="+", metavar="PATH", help="a campaign file or a folder of them")

    credentials = commands.add_parser("credentials", help="store or remove a secret in the OS keychain")
    credentials.add_argument("action", choices=("set", "delete"))
    credentials.add_argument("name", help="the credential name the config file uses")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        arguments = expand_uri(arguments)
    except ValueError as exc:
        print(f"agentdesk: {exc}", file=sys.stderr)
        return 2
    args = build_parser().parse_args(arguments)
    if args.command == "check-config":
        return check_config(args.file)
    if args.command == "credentials":
        return credentials(args.action, args.name)
    if args.command == "db":
        return database(args.action, args.config, args.basedir)
    if args.command == "scripts":
        from agentdesk.commands import scripts as script_commands

        return script_commands.check(args.paths, args.config, args.basedir)
    if args.command == "lookup":
        from agentdesk.records.lookup_command import run_lookup

        return run_lookup(args.config, args.basedir, args.phone, as_json=args.json)
    if args.command == "link":
        from agentdesk.records.linking import run_link

        return run_link(args.left, args.right, args.out, args.threshold, config=args.config)
    options = LaunchOptions(demo=args.demo, config=args.config, basedir=args.basedir, smoke=args.smoke)
    if args.command == "pop":
        options = replace(options, pop=PopRequest(args.ani, args.dnis, args.campaign))
    from agentdesk.app import run_gui  # Qt is imported only on this path

    return run_gui(options)


URI_SCHEME = "agentdesk:"


def expand_uri(arguments: list[str]) -> list[str]:
    """`agentdesk:pop?ani=...&dnis=...&campaign=...` (what a phone system or a link launches) -> pop arguments."""
    uris = [a for a in arguments if a.lower().startswith(URI_SCHEME)]
    if not uris:
        return arguments
    from urllib.parse import parse_qs, urlsplit

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


def check_config(path: Path) -> int:
    from agentdesk.config import check_config_file

    problems = check_config_file(path)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {path}", file=sys.stderr)
        return 1
    print(f"{path}: OK")
    return 0


def database(action: str, config: Path | None, basedir: Path | None) -> int:
    """`agentdesk db upgrade|check`: the central PostgreSQL store's schema, from the same Alembic migrations."""
    from agentdesk.config import ConfigError, load_settings
    from agentdesk.config.credentials import CredentialMissing, get_secret
    from agentdesk.paths import AppPaths

    paths = AppPaths.for_basedir(basedir) if basedir else AppPaths.for_current_user()
    files = [p for p in (paths.machine_config, paths.user_config) if p is not None and p.is_file()]
    try:
        settings = load_settings([*files, *([config] if config else [])])
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if not settings.store.central_url:
        print("store.central_url: not set; nothing to upgrade (see resources/agentdesk.sample.toml)", file=sys.stderr)
        return 2
    from agentdesk.store.central import CentralStore, CentralStoreError

    try:
        password = get_secret(settings.store.central_credential) if settings.store.central_credential else None
        central = CentralStore(settings.store.central_url, password)
        try:
            if action == "upgrade":
                central.upgrade()
            central.check_schema()
        finally:
            central.dispose()
    except (CredentialMissing, CentralStoreError) as exc:
        print(f"central store: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # the driver's own errors can quote the URL's password: name the kind only
        print(f"central store: {type(exc).__name__}", file=sys.stderr)
        return 1
    print("central store schema is current")
    return 0


def credentials(action: str, name: str) -> int:
    from agentdesk.config.credentials import CredentialMissing, delete_secret, set_secret

    try:
        if action == "set":
            secret = (
                getpass.getpass(f"Secret for '{name}': ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
            )
            if not secret:
                print("no secret given; nothing stored", file=sys.stderr)
                return 1
            set_secret(name, secret)
            print(f"stored credential '{name}' in the OS keychain")
        else:
            delete_secret(name)
            print(f"removed credential '{name}'")
    except CredentialMissing as exc:
        print(exc, file=sys.stderr)
        return 1
    except Exception as exc:  # keyring backends raise their own types
        print(f"the OS keychain refused: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
