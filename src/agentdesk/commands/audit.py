"""`agentdesk audit verify` and `agentdesk audit who-viewed`: the audit trail for privacy officers and IT.

verify: every workstation's hash chain, in the local store (default) or the central store (--central): a
deleted, edited or reordered row is named by workstation and sequence number; exit 1 when any is found.
who-viewed: who was shown a patient's record, when, for which call; supervisors and admins only (roles come
from the machine-wide config or the central store's agent_roles).
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentdesk import services


def run_audit(
    action: str,
    config: Path | None,
    basedir: Path | None,
    central: bool = False,
    patient: str = "",
    start: str = "",
    end: str = "",
) -> int:
    from agentdesk.config import ConfigError
    from agentdesk.config.operator import Role, os_login, role_of

    paths = services.app_paths(basedir)
    try:
        settings = services.read_settings(paths, config)
        since, until = _day(start, "--from"), _day(end, "--to")
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    if action == "who-viewed":
        login = os_login()
        if role_of(login, settings.security, _central_role(settings, login)) < Role.SUPERVISOR:
            print(
                f"audit who-viewed: '{login}' is not a supervisor or admin (IT sets roles in the machine-wide "
                "config's [security] table or in the central store's agent_roles)",
                file=sys.stderr,
            )
            return 1
        if not patient or ":" not in patient:
            print("--patient: give a record reference as SOURCE:ID, e.g. EHR:12345", file=sys.stderr)
            return 2
    if central and not settings.store.central_url:
        print("store.central_url: not set; there is no central audit to read", file=sys.stderr)
        return 2
    try:
        if central:
            rows, found = _from_central(settings, action, patient, since, until)
        else:
            rows, found = asyncio.run(_from_local(settings, paths, action, patient, since, until))
    except Exception as exc:  # driver errors can quote a URL: name the kind only (CentralStoreError is clean)
        from agentdesk.store.central import CentralStoreError

        print(f"audit: {exc if isinstance(exc, CentralStoreError) else type(exc).__name__}", file=sys.stderr)
        return 1
    return _report_verify(rows, central) if action == "verify" else _report_viewers(found, patient)


def _central_role(settings: Any, login: str) -> str:
    """The role IT keeps for `login` in the central store, when there is one and it answers ('' otherwise)."""
    if not settings.store.central_url:
        return ""
    try:
        central = services.open_central(settings)
        try:
            return central.role_of(login)
        finally:
            central.dispose()
    except Exception as exc:  # unreachable: the machine-wide config alone decides
        print(f"central store: roles not read ({type(exc).__name__})", file=sys.stderr)
        return ""


def _day(text: str, option: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{option}: use YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def _from_local(
    settings: Any, paths: Any, action: str, patient: str, since: datetime | None, until: datetime | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from agentdesk.store.local import LocalStore

    store = LocalStore(services.local_store_path(settings, paths), settings.store.encryption_credential)
    await store.open()
    try:
        if action == "verify":
            return await store.audit_rows(), []
        return [], await store.who_viewed(patient, since, until)
    finally:
        await store.close()


def _from_central(
    settings: Any, action: str, patient: str, since: datetime | None, until: datetime | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    central = services.open_central(settings)
    try:
        if action == "verify":
            return central.audit_rows(), []
        return [], central.who_viewed(patient, since, until)
    finally:
        central.dispose()


def _report_verify(rows: list[dict[str, Any]], central: bool) -> int:
    from agentdesk.store.audit import verify

    report = verify(rows)
    where = "central store" if central else "local store"
    for problem in report.problems:
        print(problem)
    summary = f"{where}: {report.rows} audit row(s) on {report.workstations} workstation chain(s)"
    if report.unchained:
        summary += f", {report.unchained} from before the chain (not verifiable)"
    if report.problems:
        print(f"{summary}: {len(report.problems)} problem(s): the audit trail was tampered with", file=sys.stderr)
        return 1
    print(f"{summary}: intact")
    return 0


def _report_viewers(rows: list[dict[str, Any]], patient: str) -> int:
    from agentdesk.store.audit import VIEWING

    shown = [row for row in rows if row["action"] in VIEWING]
    for row in rows:
        at = row["at"] if isinstance(row["at"], datetime) else datetime.fromisoformat(str(row["at"]))
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        print(
            f"{at.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z  {row['agent_id']:<20} {row['action']:<16} "
            f"call {row['call_id'] or '-'}  on {row['workstation'] or '-'}"
        )
    print(f"{patient}: shown {len(shown)} time(s), {len(rows)} audit row(s)", file=sys.stderr)
    return 0
