"""`agentdesk export --from DATE --to DATE [--format csv|json] [--out FILE] [--with-notes] [--central]`:
dispositions wrapped up in those days with their referrals, bookings and callbacks (their latest version), from
this desk's local store or the central one. Notes only with --with-notes (they may hold what the caller said).
Every export is audited (who, which range, how many rows; never the rows) before a byte of it is written: in the
same transaction as the read from the local store, in this workstation's audit chain for --central.

Dates are whole days in the workstation's time zone, both included; a date and time (ISO 8601) is taken as is.
Exit 0 with the file written, 1 when the store cannot be read, 2 for bad arguments or configuration."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentdesk import services
from agentdesk.base.files import write_whole
from agentdesk.config import ConfigError, Settings

if TYPE_CHECKING:
    from agentdesk.store.audit import AuditEntry

DETAILS = ("bookings", "referrals", "callbacks")
# A spreadsheet runs a cell starting with these as a formula: exported text must stay text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportError(ValueError):
    pass


@dataclass(frozen=True)
class ExportRequest:
    start: datetime
    end: datetime
    fmt: str
    with_notes: bool
    central: bool

    def audit_entry(self, settings: Settings, count: int) -> AuditEntry:
        """Who exported which range, how many rows, from where: no patient data (the rows themselves are not named)."""
        from agentdesk.store.audit import EXPORT, AuditEntry

        when = f"{_utc(self.start)}..{_utc(self.end)}"
        detail = f"{'central' if self.central else 'local'} {when} rows={count} {self.fmt}"
        return AuditEntry(
            services.agent_id(settings), EXPORT, "", "", detail + (" with-notes" if self.with_notes else "")
        )


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def parse_bound(text: str, name: str, end: bool) -> datetime:
    """A day (YYYY-MM-DD: its start, or for --to the start of the next day) or an ISO date-time, as aware UTC."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text) + (timedelta(days=1) if end else timedelta())
            return datetime(day.year, day.month, day.day).astimezone()
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ExportError(f"--{name}: '{text[:30]}' is not a date like 2026-12-01 (or 2026-12-01T08:00)") from None
    return moment if moment.tzinfo else moment.astimezone()


def export(
    start_text: str,
    end_text: str,
    fmt: str = "csv",
    out: Path | None = None,
    with_notes: bool = False,
    central: bool = False,
    config: Path | None = None,
    basedir: Path | None = None,
) -> int:
    try:
        start, end = parse_bound(start_text, "from", False), parse_bound(end_text, "to", True)
        if end <= start:
            raise ExportError("--to: must not be before --from")
        settings = services.read_settings(services.app_paths(basedir), config)
    except (ExportError, ConfigError) as exc:
        print(exc, file=sys.stderr)
        return 2
    request = ExportRequest(start, end, fmt, with_notes, central)
    try:
        rows = _central_rows(settings, basedir, request) if central else _local_rows(settings, basedir, request)
    except ExportError as exc:
        print(exc, file=sys.stderr)
        return 1 if "central_url" not in str(exc) else 2
    text = to_json(rows) if fmt == "json" else to_csv(rows, with_notes)
    if out is None:
        sys.stdout.write(text)
    else:
        write_whole(out, text, private=True)  # dispositions (notes too, when asked) are patient data: user-only
        print(f"{len(rows)} disposition(s) written to {out}", file=sys.stderr)
    return 0


def _local_rows(settings: Settings, basedir: Path | None, request: ExportRequest) -> list[dict[str, Any]]:
    """The rows and their audit row in one transaction: no export leaves this desk unrecorded."""
    from agentdesk.store import audit as audit_trail
    from agentdesk.store.local import LocalStore
    from agentdesk.store.wrapups import wrapups_between

    path = services.local_store_path(settings, services.app_paths(basedir))
    if not path.is_file():
        raise ExportError(f"no local store at {path}: nothing was saved on this desk yet")

    async def read() -> list[dict[str, Any]]:
        store = LocalStore(path, settings.store.encryption_credential)
        await store.open()

        def read_and_audit(connection: Any) -> list[dict[str, Any]]:
            rows = wrapups_between(connection, request.start, request.end, request.with_notes)
            audit_trail.append(connection, store.workstation, [request.audit_entry(settings, len(rows))])
            return rows

        try:
            return await store.transact(read_and_audit)
        finally:
            await store.close()

    try:
        return asyncio.run(read())
    except Exception as exc:  # a locked or damaged file: say which kind, never its content
        raise ExportError(f"cannot read the local store ({type(exc).__name__})") from None


def _central_rows(settings: Settings, basedir: Path | None, request: ExportRequest) -> list[dict[str, Any]]:
    """Every desk's rows; the export is audited in this workstation's chain (synced like every audit row) before
    anything is written out, and refused when it cannot be."""
    from agentdesk.config.credentials import CredentialMissing
    from agentdesk.store.central import CentralStoreError
    from agentdesk.store.local import LocalStore

    if not settings.store.central_url:
        raise ExportError("store.central_url: not set; --central needs the central store")
    try:
        central = services.open_central(settings)
        try:
            rows = central.wrapups_between(request.start, request.end, request.with_notes)
        finally:
            central.dispose()
    except (CredentialMissing, CentralStoreError) as exc:
        raise ExportError(f"central store: {exc}") from None

    async def audit() -> None:
        store = LocalStore(
            services.local_store_path(settings, services.app_paths(basedir)), settings.store.encryption_credential
        )
        await store.open()
        try:
            await store.audit([request.audit_entry(settings, len(rows))])
        finally:
            await store.close()

    try:
        asyncio.run(audit())
    except Exception as exc:
        raise ExportError(
            f"not exported: the export could not be audited in the local store ({type(exc).__name__})"
        ) from None
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def to_csv(rows: list[dict[str, Any]], with_notes: bool) -> str:
    """One line per disposition; its details as JSON lists in the last columns (nothing lost, one file)."""
    columns = [
        "id",
        "call_id",
        "version",
        "agent_id",
        "campaign_code",
        "disposition_code",
        "outcome",
        "patient_key",
        "offered_at",
        "answered_at",
        "ended_at",
        "wrapup_done_at",
        *(["notes"] if with_notes else []),
        *DETAILS,
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            [_cell(json.dumps(row[c], default=_json_default)) if c in DETAILS else _cell(row.get(c)) for c in columns]
        )
    return buffer.getvalue()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def to_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, default=_json_default, indent=2) + "\n"
