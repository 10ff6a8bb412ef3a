"""Screen-pop latency: from the offered call to the complete merged profile, three backends on loopback.

    python benchmarks/screen_pop.py [--calls 200] [--rest-ms 150] [--sql-ms 300]

The real adapters and the real lookup (fan-out, per-backend deadline, merge) against: the real FHIR engine of the
tests (tests/fhir_engine: Medplum's FHIR router, Node.js) loaded with the demo's EHR patients and their related
resources (appointments, encounters, referrals, coverage), every number stored in the national format
"(617) 555-0123" and the backend told so (`phone_format = "national"`: one search finds the caller); the demo
marketing REST API delayed by --rest-ms; the demo CRM in SQLite whose query sleeps --sql-ms. The physical floor is
the slowest backend; reported side by side in the same run: that backend alone. Target (issue 13): p95 <=
1.05 x slowest + 10 ms. Also: time to first content, the FHIR engine's own answer time, the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.fhir_engine: the real FHIR engine

from tests.fhir_engine.harness import post_transaction, run_fhir_engine

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


async def timed(lookup: ProfileLookup, call_id: str, phone: str) -> tuple[float, float | None]:
    """One lookup: ms to the complete profile, and ms to the first content (None when no one was found)."""
    began = time.perf_counter()
    first_seen: list[float] = []

    def update(result: LookupResult) -> None:
        if result.patients and not first_seen:
            first_seen.append((time.perf_counter() - began) * 1000)

    await lookup.lookup(call_id, phone, update)
    return (time.perf_counter() - began) * 1000, (first_seen[0] if first_seen else None)


async def measure(lookups: dict[str, ProfileLookup], phones: list[str]) -> dict[str, tuple[list[float], list[float]]]:
    """Every lookup for every number, interleaved call by call (the order rotating), so that each sees the same
    machine load: the floor and the merged profile are measured side by side, not one after the other."""
    times: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in lookups}
    names = list(lookups)
    for index, phone in enumerate(phones):
        for turn in range(len(names)):
            name = names[(index + turn) % len(names)]
            complete, first = await timed(lookups[name], f"bench-{index}-{name}", phone)
            times[name][0].append(complete)
            if first is not None:
                times[name][1].append(first)
    return times


def engine_bundle(fhir_file: Path, related_file: Path) -> dict[str, Any]:
    """The demo EHR as one transaction for the FHIR engine: each patient (its number in the national format, as
    a registration clerk types it) and its related resources, referenced through urn:uuid full URLs that the
    engine rewrites to its own ids."""
    import json
    import uuid

    from agentdesk.demo.clinical import fhir_related

    patients: list[dict[str, Any]] = json.loads(fhir_file.read_text(encoding="utf-8"))
    facts: dict[str, Any] = json.loads(related_file.read_text(encoding="utf-8"))
    entries: list[dict[str, Any]] = []
    for patient in patients:
        demo_id = str(patient.pop("id"))
        patient.pop("meta", None)
        for telecom in patient.get("telecom", []):
            if telecom.get("system") == "phone":
                digits = telecom["value"][-10:] if telecom["value"].startswith("+1") else telecom["value"]
                digits = "".join(c for c in digits if c.isdigit())[-10:]
                telecom["value"] = f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
        url = f"urn:uuid:{uuid.uuid4()}"
        fact = facts.get(demo_id.upper())
        if fact:
            patient["generalPractitioner"] = [{"display": fact["gp"]}]
        entries.append({"fullUrl": url, "resource": patient, "request": {"method": "POST", "url": "Patient"}})
        if not fact:
            continue
        text = json.dumps(fhir_related(demo_id, fact)).replace(f'"Patient/{demo_id}"', f'"{url}"')
        for resources in json.loads(text).values():
            for resource in resources:
                resource.pop("id", None)
                if resource["resourceType"] == "Appointment":  # FHIR's app-2: an end with every start
                    start = datetime.fromisoformat(resource["start"])
                    resource["end"] = (start + timedelta(minutes=30)).isoformat()
                entries.append({"resource": resource, "request": {"method": "POST", "url": resource["resourceType"]}})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


async def engine_answer_ms(base_url: str, phones: list[str]) -> list[float]:
    """The engine's own answer time for the Patient search (a bare httpx client, no adapter): its share of the
    floor."""
    import httpx

    from agentdesk.base.phone import spell_phone

    times = []
    async with httpx.AsyncClient() as client:
        for phone in phones:
            began = time.perf_counter()
            response = await client.get(f"{base_url}/Patient", params={"phone": spell_phone(phone, "national")})
            response.raise_for_status()
            times.append((time.perf_counter() - began) * 1000)
    return times


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        data = write_demo_data(Path(folder), count=400, seed=11)
        crm_api = DelayedServer(args.rest_ms / 1000, data.fhir_file, data.related_file, data.people)
        crm_api.start()
        try:
            with run_fhir_engine(Path(folder)) as engine:
                await asyncio.to_thread(
                    post_transaction, engine.base_url, engine_bundle(data.fhir_file, data.related_file), timeout=120
                )
                overrides = demo_overrides(data, engine.base_url)
                ehr_entry = {**overrides["backends"][0], "phone_format": "national"}
                rest_entry = {
                    **MARKETING,
                    "url_templates": {"phone": f"{crm_api.root_url}/marketing/contacts?phone={{phone}}"},
                }
                crm = SqlBackendSettings(**overrides["backends"][1])
                query = CRM_QUERY.replace("WHERE", "WHERE (SELECT bench_sleep()) = 0 AND")

                def backends() -> dict[str, RecordBackend]:
                    return {
                        "FHIR": build_backend(FhirBackendSettings(**ehr_entry), "US"),
                        "REST": build_backend(RestBackendSettings(**rest_entry), "US"),
                        "SQL": SlowSql(args.sql_ms / 1000, "CRM", crm.url, query, crm.columns, crm.priority, 2.0),
                    }

                phones = [p.phone_e164 for p in data.people if p.in_ehr and p.in_crm][: args.calls]
                # Built on a worker thread, as the desk builds them at start (imports and TLS setup off the loop);
                # each source alone has its own adapter (its own connections), as the merged lookup has.
                merged, *alone = await asyncio.gather(*(asyncio.to_thread(backends) for _ in range(4)))
                lookups = {"merged": ProfileLookup(list(merged.values()), cache_seconds=0)}
                lookups.update(
                    {
                        name: ProfileLookup([copy[name]], cache_seconds=0)
                        for name, copy in zip(merged, alone, strict=True)
                    }
                )
                try:
                    await measure(lookups, phones[:5])  # warm connections and caches, as a running desk is
                    engine_ms = await engine_answer_ms(engine.base_url, phones)
                    load_before = os.getloadavg()
                    times = await measure(lookups, phones)
                    load_after = os.getloadavg()
                    found = await lookups["merged"].lookup("check", phones[0])
                finally:
                    for lookup in lookups.values():
                        await lookup.aclose()
        finally:
            crm_api.stop()
    complete, first = times.pop("merged")
    slowest = max(times, key=lambda name: percentile(times[name][0], 0.95))
    floor = times[slowest][0]
    target = 1.05 * percentile(floor, 0.95) + 10
    print(
        f"screen-pop latency, {len(complete)} calls; backends: the FHIR engine (national-format numbers, "
        f"phone_format = national, related resources), REST {args.rest_ms:.0f} ms and SQL {args.sql_ms:.0f} ms "
        "(injected); each source alone and the merged profile interleaved call by call"
    )
    print(
        f"load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after, on {os.cpu_count()} cores; "
        f"check call: {len(found.patients)} patient(s) from "
        f"{', '.join(sorted({r.source for p in found.patients for r in p.records}))}, "
        f"{sum(len(r.items) for p in found.patients for r in p.records if r.source == 'EHR')} EHR item(s)"
    )
    print(f"{'':44} {'p50':>8} {'p95':>8}")
    rows = [("FHIR engine, bare Patient search (httpx)", engine_ms)]
    rows += [(f"{name} alone{' (the floor: slowest)' if name == slowest else ''}", times[name][0]) for name in times]
    rows += [("complete merged profile, 3 sources", complete), ("first content", first)]
    for label, values in rows:
        print(f"{label:44} {statistics.median(values):8.1f} {percentile(values, 0.95):8.1f}")
    print(
        f"ratio complete/floor (p95): {percentile(complete, 0.95) / percentile(floor, 0.95):.3f}; target p95 <= "
        f"1.05 x floor p95 + 10 = {target:.0f} ms: {'met' if percentile(complete, 0.95) <= target else 'NOT met'}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
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
