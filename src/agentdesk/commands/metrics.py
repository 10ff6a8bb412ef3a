"""`agentdesk metrics --from ISO --to ISO [--json]`: operations and growth figures per campaign and agent, read
from the central store when one is configured, else from this desk's local store."""

from __future__ import annotations

import json
import sys
from datetime import datetime, time
from pathlib import Path

from agentdesk import services
from agentdesk.metrics.definitions import MetricOptions, TimeRange


def parse_moment(value: str, name: str) -> datetime:
    """An ISO 8601 date or date-time; without an offset it is the local time zone. Raises ValueError naming
    the option."""
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{name}: '{text[:40]}' is not an ISO 8601 date or date-time (e.g. 2026-03-02T08:00)"
        ) from None
    if len(text) == 10:  # a date alone: its local midnight
        moment = datetime.combine(moment.date(), time())
    return moment if moment.tzinfo else moment.astimezone()


def run_metrics(start: str, end: str, as_json: bool, config: Path | None, basedir: Path | None) -> int:
    from agentdesk.config import ConfigError
    from agentdesk.config.credentials import CredentialMissing
    from agentdesk.metrics.report import build_report, table_lines
    from agentdesk.store.central import CentralStoreError
    from agentdesk.store.opening import StoreUnusable

    try:
        window = TimeRange(parse_moment(start, "--from"), parse_moment(end, "--to"))
        settings = services.read_settings(services.app_paths(basedir), config)
    except (ValueError, ConfigError) as exc:
        print(f"agentdesk metrics: {exc}", file=sys.stderr)
        return 2
    monitor = settings.monitor
    options = MetricOptions(monitor.short_abandon_seconds, monitor.service_level_seconds)
    try:
        engine, where = services.metrics_engine(settings, services.app_paths(basedir))
    except (CredentialMissing, CentralStoreError) as exc:
        print(f"central store: {exc}", file=sys.stderr)
        return 1
    except StoreUnusable as exc:
        print(f"local store: {exc}", file=sys.stderr)
        return 1
    try:
        with engine.begin() as connection:  # keeps the call summaries it brought up to date
            report = build_report(connection, window, options, services.campaign_service_lines(settings))
    except Exception as exc:  # the driver's errors can quote the URL: name the kind only
        print(f"{where}: the figures could not be read ({type(exc).__name__})", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    if as_json:
        print(json.dumps(report.as_json(), indent=2, ensure_ascii=False))
    else:
        print(f"{where}, {window.start:%Y-%m-%d %H:%M} to {window.end:%Y-%m-%d %H:%M} UTC")
        print("\n".join(table_lines(report)))
    return 0
