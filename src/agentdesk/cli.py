"""The command line: argument parsing and dispatch to commands/ (headless, never Qt) or to the GUI (app.py).

The global options (--config, --basedir, --demo, --smoke) are accepted before or after the command:
`agentdesk --config F lookup --phone N` and `agentdesk lookup --config F --phone N` mean the same.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from agentdesk import __version__
from agentdesk.commands.gui import LaunchOptions, PopRequest, expand_uri, pop_problem


def _global_options(parser: argparse.ArgumentParser, default: object) -> None:
    """The options every command takes. On the commands their default is SUPPRESS, so an option given before
    the command is not overwritten by the command's own (absent) one."""
    parser.add_argument(
        "--config", type=Path, metavar="PATH", default=default, help="a config file layered over the others"
    )
    parser.add_argument(
        "--basedir", type=Path, metavar="DIR", default=default, help="keep all data, logs and settings under DIR"
    )
    off = False if default is None else default
    parser.add_argument(
        "--demo", action="store_true", default=off, help="run with a synthetic population; no server needed"
    )
    parser.add_argument(
        "--smoke", action="store_true", default=off, help="start, show the main window, exit 0 (for CI)"
    )


COMMANDS = frozenset(
    {
        "check-config",
        "pop",
        "lookup",
        "link",
        "db",
        "scripts",
        "doctor",
        "machine-config",
        "export",
        "audit",
        "metrics",
        "simulate",
        "pin",
        "credentials",
    }
)


def _desktop_parser() -> argparse.ArgumentParser:
    """The top level's own options only: what a plain desktop start (no command) is parsed with."""
    parser = argparse.ArgumentParser(prog="agentdesk", add_help=False)
    parser.add_argument("--version", action="version", version=f"AgentDesk {__version__}")
    _global_options(parser, None)
    parser.add_argument("--monitor", action="store_true")
    parser.set_defaults(command=None)
    return parser


def parse_arguments(arguments: list[str]) -> argparse.Namespace:
    """A desktop start names no command: the top level's options alone parse it, without building every
    command's parser first (~10 ms of the start). Anything else (a command, help, a mistake) gets the full parser,
    and so the same answer and messages as always."""
    if not any(a in COMMANDS or a in ("-h", "--help") for a in arguments):
        args, extra = _desktop_parser().parse_known_args(arguments)
        if not extra:
            return args
    return build_parser().parse_args(arguments)


def build_parser() -> argparse.ArgumentParser:
    from agentdesk.records.link_columns import columns_help  # only for `link --help`

    parser = argparse.ArgumentParser(
        prog="agentdesk", description="AgentDesk: the agent desktop for healthcare contact centers."
    )
    parser.add_argument("--version", action="version", version=f"AgentDesk {__version__}")
    _global_options(parser, None)
    parser.add_argument("--monitor", action="store_true", help="open the team monitor (supervisors)")
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help: str, epilog: str | None = None) -> argparse.ArgumentParser:
        # An epilog is shown as written (a table); the options' help is still wrapped to the terminal.
        return commands.add_parser(
            name, help=help, parents=[common], epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter
        )

    check = command("check-config", "validate a config file; exit 1 on errors")
    check.add_argument("file", type=Path)

    pop = command("pop", "pop the caller's profile in the running AgentDesk (starts it when none runs)")
    pop.add_argument("--ani", required=True, help="the caller's number")
    pop.add_argument("--dnis", default="", help="the number the caller dialed")
    pop.add_argument("--campaign", default="", help="a campaign code")

    lookup = command(
        "lookup",
        "fetch, match and merge a caller's records from every configured backend (no GUI); with --demo, from the "
        "demo's synthetic systems. Exit 1 when no backend is configured or every one failed.",
    )
    lookup.add_argument("--phone", required=True, help="the caller's number, any common format")
    lookup.add_argument("--json", action="store_true", help="print JSON instead of a table")

    link = command("link", "link two CSV extracts (or deduplicate one) with the identity matcher", columns_help())
    link.add_argument("left", type=Path, help="CSV with a header row (the columns below)")
    link.add_argument("right", type=Path, nargs="?", help="a second CSV; without it, LEFT is deduplicated")
    link.add_argument("--out", type=Path, required=True, help="where to write left_id,right_id,score,decision,held")
    link.add_argument("--threshold", type=float, help="match threshold (default: the config's)")
    link.add_argument("--model", type=Path, help="use this fitted model (JSON from --fit) instead of fitting one")
    link.add_argument("--fit", type=Path, metavar="MODEL.json", help="save the model fitted to these records")
    link.add_argument("--report", action="store_true", help="print blocking, model and time per stage")
    link.add_argument("--truth", type=Path, metavar="PAIRS.csv", help="true pairs (left_id,right_id) for --report")

    database = command("db", "the central store's schema (for IT)")
    database.add_argument("action", choices=("upgrade", "check"), help="upgrade: apply migrations; check: report")

    scripts = command("scripts", "campaign scripts: check files (no GUI)")
    script_commands = scripts.add_subparsers(dest="scripts_command", metavar="ACTION", required=True)
    script_check = script_commands.add_parser(
        "check", help="validate campaign files (folders or files); exit 1 listing every problem", parents=[common]
    )
    script_check.add_argument(
        "paths", type=Path, nargs="*", metavar="PATH", help="campaign files or folders (default: campaigns.folder)"
    )
    script_funnel = script_commands.add_parser(
        "funnel", help="per step: reached, answered, left the script; outcomes by path (this desk's store)"
    )
    script_funnel.add_argument("--from", dest="start", required=True, metavar="DATE", help="first day, YYYY-MM-DD")
    script_funnel.add_argument("--to", dest="end", required=True, metavar="DATE", help="last day, YYYY-MM-DD")
    script_funnel.add_argument("--json", action="store_true", help="print JSON instead of a table")

    command("doctor", "check this workstation (config, keychain, backends, stores, call sources, ports, disk)")
    machine = command("machine-config", "write the machine-wide config (what the installer's properties run; as admin)")
    machine.add_argument("--config-file", default="", metavar="PATH", help="a config file to install, e.g. on a share")
    machine.add_argument("--central-url", default="", metavar="URL", help="store.central_url")
    machine.add_argument("--webhook-port", default="", metavar="PORT", help="webhook.port")
    machine.add_argument("--target", type=Path, help="default: the OS's machine-wide config file")
    machine.add_argument("--remove", action="store_true", help="remove the machine-wide config folder")
    export = command("export", "dispositions with their referrals, bookings and callbacks, as CSV or JSON (no GUI)")
    export.add_argument("--from", dest="start", required=True, metavar="DATE", help="first day, e.g. 2026-12-01")
    export.add_argument("--to", dest="end", required=True, metavar="DATE", help="last day (included)")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--out", type=Path, metavar="FILE", help="write here instead of standard output")
    export.add_argument("--with-notes", action="store_true", help="include the agents' notes")
    export.add_argument("--central", action="store_true", help="every desk's, from the central store")
    audit = command("audit", "the audit trail: verify its hash chains, or list who viewed a patient")
    audit_commands = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = audit_commands.add_parser(
        "verify",
        help="check every workstation's hash chain; exit 1 if a row was deleted, edited or reordered",
        parents=[common],
    )
    viewed = audit_commands.add_parser(
        "who-viewed", help="who was shown a patient's record (supervisor or admin only)", parents=[common]
    )
    viewed.add_argument("--patient", required=True, metavar="REF", help="a record reference, e.g. EHR:12345")
    viewed.add_argument("--from", dest="start", default="", metavar="DATE", help="from this day/time (UTC)")
    viewed.add_argument("--to", dest="end", default="", metavar="DATE", help="until this day/time (UTC)")
    for sub in (verify, viewed):
        sub.add_argument("--central", action="store_true", help="read the central store instead of this desk's")

    metrics = command("metrics", "operations and growth figures per campaign and agent over a time range (no GUI)")
    metrics.add_argument(
        "--from", dest="start", required=True, metavar="ISO", help="start, e.g. 2026-03-02 or ...T08:00"
    )
    metrics.add_argument("--to", dest="end", required=True, metavar="ISO", help="end (exclusive)")
    metrics.add_argument("--json", action="store_true", help="print JSON instead of a table")

    simulate = command("simulate", "write a simulated day of N agents into the store (no phone system needed)")
    simulate.add_argument("--agents", type=int, required=True, help="how many agents, e.g. 20")
    simulate.add_argument("--hours", type=float, required=True, help="length of the day in hours, e.g. 8")
    simulate.add_argument("--seed", type=int, default=1, help="the same seed gives the same day")
    simulate.add_argument("--start", metavar="ISO", help="when the day starts (default: today 08:00 local)")

    pin = command("pin", "the AgentDesk PIN the lock asks for (security.require_pin)")
    pin_commands = pin.add_subparsers(dest="pin_command", metavar="ACTION", required=True)
    pin_commands.add_parser(
        "set", help="choose or change this agent's PIN (asked twice, without echo; argon2-hashed)", parents=[common]
    )

    credentials = command("credentials", "store or remove a secret in the OS keychain")
    credentials.add_argument("action", choices=("set", "delete"))
    credentials.add_argument("name", help="the credential name the config file uses")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if os.name == "posix":
        # Everything AgentDesk writes (store, logs, demo data, exports) is for this user only; folders made
        # earlier are narrowed where they are opened (agentdesk.base.private).
        os.umask(0o077)
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        arguments = expand_uri(arguments)
    except ValueError as exc:
        print(f"agentdesk: {exc}", file=sys.stderr)
        return 2
    args = parse_arguments(arguments)
    if args.command == "check-config":
        from agentdesk.commands.check_config import run_check_config

        return run_check_config(args.file)
    if args.command == "credentials":
        from agentdesk.commands.credentials import run_credentials

        return run_credentials(args.action, args.name)
    if args.command == "pin":
        from agentdesk.commands.pin import set_pin

        return set_pin(args.config, args.basedir)
    if args.command == "db":
        from agentdesk.commands.db import run_database

        return run_database(args.action, args.config, args.basedir)
    if args.command == "scripts":
        from agentdesk.commands import scripts as script_commands

        if args.scripts_command == "funnel":
            return script_commands.funnel(args.start, args.end, args.json, args.config, args.basedir)
        return script_commands.check(args.paths, args.config, args.basedir)
    if args.command == "doctor":
        from agentdesk.commands.doctor import run_doctor

        return run_doctor(args.config, args.basedir)
    if args.command == "machine-config":
        from agentdesk.commands.machine_config import run_machine_config

        return run_machine_config(args.config_file, args.central_url, args.webhook_port, args.target, args.remove)
    if args.command == "simulate":
        from agentdesk.commands.simulate import run_simulate

        return run_simulate(args.agents, args.hours, args.seed, args.start, args.config, args.basedir)
    if args.command == "metrics":
        from agentdesk.commands.metrics import run_metrics

        return run_metrics(args.start, args.end, args.json, args.config, args.basedir)
    if args.command == "export":
        from agentdesk.commands.export import export

        return export(
            args.start, args.end, args.format, args.out, args.with_notes, args.central, args.config, args.basedir
        )
    if args.command == "audit":
        from agentdesk.commands.audit import run_audit

        return run_audit(
            args.audit_command,
            args.config,
            args.basedir,
            central=args.central,
            patient=getattr(args, "patient", ""),
            start=getattr(args, "start", ""),
            end=getattr(args, "end", ""),
        )
    if args.command == "lookup":
        from agentdesk.commands.lookup import run_lookup

        return run_lookup(args.config, args.basedir, args.phone, as_json=args.json, demo=args.demo)
    if args.command == "link":
        from agentdesk.commands.link import run_link

        return run_link(
            args.left,
            args.right,
            args.out,
            args.threshold,
            config=args.config,
            model_path=args.model,
            fit_path=args.fit,
            report=args.report or args.truth is not None,
            truth=args.truth,
        )
    options = LaunchOptions(
        demo=args.demo, config=args.config, basedir=args.basedir, smoke=args.smoke, monitor=args.monitor
    )
    if args.command == "pop":
        pop = PopRequest(args.ani, args.dnis, args.campaign)
        if problem := pop_problem(pop):
            print(f"agentdesk pop: {problem}", file=sys.stderr)
            return 2
        options = replace(options, pop=pop)
    from agentdesk.app import run_gui  # Qt is imported only on this path

    return run_gui(options)


if __name__ == "__main__":
    sys.exit(main())
