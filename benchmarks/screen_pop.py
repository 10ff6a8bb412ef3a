"""Screen-pop latency: from the offered call to the complete merged profile, three backends on loopback.

    python benchmarks/screen_pop.py [--calls 200] [--fhir-ms 80] [--rest-ms 150] [--sql-ms 300]

The real adapters and the real lookup (fan-out, per-backend deadline, merge) against: the demo EHR (FHIR-shaped
HTTP, related resources included) delayed by --fhir-ms, the demo marketing REST API delayed by --rest-ms, and the
demo CRM in SQLite whose query sleeps --sql-ms. The physical floor is the slowest backend; reported side by side
in the same run: that backend alone. Target: p95 <= 1.10 x slowest + 20 ms. Also: time to first content.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from agentdesk.config.schema import FhirBackendSettings, RestBackendSettings, SqlBackendSettings
from agentdesk.demo.fhir_server import DemoFhirServer
from agentdesk.demo.population import write_demo_data
from agentdesk.demo.setup import CRM_QUERY, MARKETING, demo_overrides
from agentdesk.records.backends import RecordBackend
from agentdesk.records.backends.factory import build_backend
from agentdesk.records.backends.sql import SqlBackend
from agentdesk.records.lookup import ProfileLookup
from agentdesk.records.model import LookupResult


class DelayedServer(DemoFhirServer):
    """The demo HTTP systems, answering every request after a fixed delay (network + server time)."""

    def __init__(self, delay: float, *args: Any) -> None:
        self.delay = delay
        super().__init__(*args)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        base = super()._handler()
        delay = self.delay

        class Slow(base):  # type: ignore[misc, valid-type]
            def do_GET(self) -> None:
                time.sleep(delay)
                super().do_GET()

        return Slow


class SlowSql(SqlBackend):
    """The demo CRM, its query made to take `delay` seconds inside SQLite (a registered sleep function)."""

    def __init__(self, delay: float, *args: Any, **kwargs: Any) -> None:
        self.delay = delay
        super().__init__(*args, **kwargs)

    def _connect(self) -> Any:
        import sqlalchemy as sa

        engine = super()._connect()
        if not getattr(engine, "_bench_sleep", False):
            delay = self.delay

            def register(dbapi_connection: Any, _record: Any) -> None:
                dbapi_connection.create_function("bench_sleep", 0, lambda: time.sleep(delay) or 0)

            sa.event.listen(engine, "connect", register)
            engine._bench_sleep = True  # type: ignore[attr-defined]
        return engine


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def measure(backends: list[RecordBackend], phones: list[str]) -> tuple[list[float], list[float]]:
    lookup = ProfileLookup(backends, cache_seconds=0)
    complete, first = [], []
    try:
        for index, phone in enumerate(phones):
            began = time.perf_counter()
            first_seen: list[float] = []

            def update(result: LookupResult, began: float = began, seen: list[float] = first_seen) -> None:
                if result.patients and not seen:
                    seen.append((time.perf_counter() - began) * 1000)

            await lookup.lookup(f"bench-{index}", phone, update)
            complete.append((time.perf_counter() - began) * 1000)
            if first_seen:
                first.append(first_seen[0])
    finally:
        await lookup.aclose()
    return complete, first


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        data = write_demo_data(Path(folder), count=400, seed=11)
        ehr = DelayedServer(args.fhir_ms / 1000, data.fhir_file, data.related_file, data.people)
        crm_api = DelayedServer(args.rest_ms / 1000, data.fhir_file, data.related_file, data.people)
        ehr.start()
        crm_api.start()
        try:
            overrides = demo_overrides(data, ehr.base_url)
            fhir = build_backend(FhirBackendSettings(**overrides["backends"][0]), "US")
            rest_entry = {
                **MARKETING,
                "url_templates": {"phone": f"{crm_api.root_url}/marketing/contacts?phone={{phone}}"},
            }
            rest = build_backend(RestBackendSettings(**rest_entry), "US")
            crm = SqlBackendSettings(**overrides["backends"][1])
            query = CRM_QUERY.replace("WHERE", "WHERE (SELECT bench_sleep()) = 0 AND")
            sql = SlowSql(args.sql_ms / 1000, "CRM", crm.url, query, crm.columns, crm.priority, 2.0)
            slowest_alone = SlowSql(args.sql_ms / 1000, "CRM", crm.url, query, crm.columns, crm.priority, 2.0)
            phones = [p.phone_e164 for p in data.people if p.in_ehr and p.in_crm][: args.calls]
            await measure([fhir, rest, sql], phones[:5])  # warm connections and caches, as a running desk is
            floor, _ = await measure([slowest_alone], phones)
            fhir = build_backend(FhirBackendSettings(**overrides["backends"][0]), "US")
            rest = build_backend(RestBackendSettings(**rest_entry), "US")
            sql = SlowSql(args.sql_ms / 1000, "CRM", crm.url, query, crm.columns, crm.priority, 2.0)
            complete, first = await measure([fhir, rest, sql], phones)
        finally:
            ehr.stop()
            crm_api.stop()
    slowest = max(args.fhir_ms, args.rest_ms, args.sql_ms)
    target = 1.10 * slowest + 20
    print(
        f"screen-pop latency, {len(complete)} calls, backends FHIR {args.fhir_ms} ms / REST {args.rest_ms} ms / "
        f"SQL {args.sql_ms} ms (injected)"
    )
    print(f"{'':38} {'p50':>8} {'p95':>8}")
    print(f"{'slowest backend alone (floor)':38} {statistics.median(floor):8.1f} {percentile(floor, 0.95):8.1f}")
    print(
        f"{'complete merged profile, 3 backends':38} {statistics.median(complete):8.1f} "
        f"{percentile(complete, 0.95):8.1f}"
    )
    print(f"{'first content (fastest backend)':38} {statistics.median(first):8.1f} {percentile(first, 0.95):8.1f}")
    print(
        f"ratio complete/floor (p95): {percentile(complete, 0.95) / percentile(floor, 0.95):.3f}; target p95 <= "
        f"{target:.0f} ms: {'met' if percentile(complete, 0.95) <= target else 'NOT met'}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--fhir-ms", type=float, default=80)
    parser.add_argument("--rest-ms", type=float, default=150)
    parser.add_argument("--sql-ms", type=float, default=300)
    args = parser.parse_args()
    # On the desktop's own loop (qasync over Qt), where the lookup really runs.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
