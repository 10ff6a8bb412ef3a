"""FHIR write-back against the real FHIR engine (Medplum fhir-router, tests/fhir_engine): a saved booking becomes an
Appointment and a referral a ServiceRequest, exactly once (conditional creates keyed by the outcome's UUID), through
a durable queue that survives lost answers, outages and restarts; a refusal is reported with its field and not
retried."""

from __future__ import annotations

import asyncio
import http.server
import random
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentdesk.records.backends.fhir_write import FhirWriter, WriteRefused, WriteUnavailable
from agentdesk.store.dispositions import Disposition
from agentdesk.store.local import LocalStore
from agentdesk.store.outcomes import WrapUpForm, read_outcomes
from agentdesk.store.sync import Backoff
from agentdesk.store.writeback import WriteBack, WriteResult
from tests.fault_proxy import FaultProxy
from tests.fhir_engine.harness import (
    FhirEngine,
    created_ids,
    post_transaction,
    run_fhir_engine,
    synthetic_patient_bundle,
)

START = (datetime.now(UTC) + timedelta(days=5)).strftime("%Y-%m-%d 10:30")
BOOKING = {"provider": "Dr. Ada Quill", "location": "Heart Center", "visit_type": "Consult", "start": START}
REFERRAL = {"target": "Cardiology", "reason": "Chest pain on exertion", "urgency": "urgent"}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FhirEngine, str]]:
    with run_fhir_engine(tmp_path_factory.mktemp("fhir-engine")) as running:
        ids = created_ids(post_transaction(running.base_url, synthetic_patient_bundle(with_related=False)))
        patient = next(rid for kind, rid in ids if kind == "Patient")
        yield running, patient


class Clock:
    """Wall time, moved on by the test (a retry's time comes without waiting for it)."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead

    def skip(self, delta: timedelta) -> None:
        self.ahead += delta

    def skip_to(self, moment: datetime) -> None:
        self.ahead += max(timedelta(0), moment - self())


class LosesFirstAnswers(httpx.AsyncBaseTransport):
    """The request reaches the server, its answer never reaches us (a connection cut after the server committed)."""

    def __init__(self, losses: int) -> None:
        self._real = httpx.AsyncHTTPTransport()
        self.losses = losses

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._real.handle_async_request(request)
        if self.losses > 0:
            self.losses -= 1
            await response.aread()
            raise httpx.ReadError("connection reset by peer")
        return response

    async def aclose(self) -> None:
        await self._real.aclose()


async def save(store: LocalStore, patient_key: str, details: dict[str, dict[str, str]], call: str = "c-1") -> str:
    form = WrapUpForm("appointment_booked", "", details)
    outcomes = read_outcomes(form, set(), agent_id="dana", time_zone="UTC", now=datetime.now(UTC))
    disposition = Disposition(call, "dana", "appointment_booked", "booking", patient_key=patient_key)
    return (await store.save_disposition(disposition, outcomes)).id


def search(engine: FhirEngine, kind: str, outcome_id: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{engine.base_url}/{kind}", params={"identifier": f"urn:ietf:rfc:3986|urn:uuid:{outcome_id}"})
    assert answer.status_code == 200, answer.text
    return [entry["resource"] for entry in answer.json().get("entry", [])]


async def rows(store: LocalStore, table: str) -> list[dict[str, Any]]:
    import sqlalchemy as sa

    from agentdesk.store import schema

    return await store.read(lambda c: [dict(r) for r in c.execute(sa.select(schema.metadata.tables[table])).mappings()])


def write_back(
    store: LocalStore, url: str, clock: Clock, results: list[WriteResult], transport: Any = None
) -> WriteBack:
    writer = FhirWriter("ehr", url, 5.0, transport=transport)
    return WriteBack(
        store, {"ehr": writer}, results.append, backoff=Backoff(1.0, 60.0), rng=random.Random(3), clock=clock
    )


def run(scenario: Callable[[], Any]) -> Any:
    return asyncio.run(scenario())


async def open_store(tmp_path: Path) -> LocalStore:
    """A desk's store whose bookings and referrals go to the backend 'ehr'."""
    store = LocalStore(tmp_path / "s.sqlite3")
    await store.open()
    store.write_back = ("ehr",)
    return store


def test_a_booking_and_a_referral_become_an_appointment_and_a_service_request(
    engine: tuple[FhirEngine, str], tmp_path: Path
) -> None:
    fhir, patient = engine
    results: list[WriteResult] = []

    async def scenario() -> None:
        store = await open_store(tmp_path)
        await save(store, f"ehr:{patient};crm:77", {"booking": BOOKING, "referral": REFERRAL})
        sender = write_back(store, fhir.base_url, Clock(), results)
        assert {r.state for r in await sender.run_once()} == {"written"}
        assert await sender.run_once() == []  # nothing left to write
        (booking,) = await rows(store, "bookings")
        (referral,) = await rows(store, "referrals")
        (appointment,) = search(fhir, "Appointment", booking["id"])
        assert booking["external_id"] == f"Appointment/{appointment['id']}"
        assert appointment["status"] == "booked"
        assert appointment["start"].startswith(START.replace(" ", "T"))
        actors = [p["actor"] for p in appointment["participant"]]
        assert {"reference": f"Patient/{patient}"} in actors
        assert {"display": "Dr. Ada Quill"} in actors and {"display": "Heart Center"} in actors
        (request,) = search(fhir, "ServiceRequest", referral["id"])
        assert referral["external_id"] == f"ServiceRequest/{request['id']}"
        assert (request["status"], request["intent"], request["priority"]) == ("active", "order", "urgent")
        assert request["subject"] == {"reference": f"Patient/{patient}"}
        assert request["reasonCode"] == [{"text": "Chest pain on exertion"}]
        # The timeline of the caller's earlier calls names what the EHR made of them.
        (earlier,) = await store.interactions_for([f"ehr:{patient}"])
        assert f"Appointment/{appointment['id']} in ehr" in earlier["written"]
        await sender.stop()
        await store.close()

    run(scenario)
    assert sorted(r.text.split(":")[0] for r in results) == ["Appointment in ehr", "Referral in ehr"]


def test_a_retry_after_a_lost_answer_creates_no_second_appointment(
    engine: tuple[FhirEngine, str], tmp_path: Path
) -> None:
    fhir, patient = engine
    results: list[WriteResult] = []
    clock = Clock()

    async def scenario() -> None:
        store = await open_store(tmp_path)
        await save(store, f"ehr:{patient}", {"booking": BOOKING})
        sender = write_back(store, fhir.base_url, clock, results, LosesFirstAnswers(1))
        (first,) = await sender.run_once()
        assert first.state == "pending" and "ReadError" in first.error
        (booking,) = await rows(store, "bookings")
        assert len(search(fhir, "Appointment", booking["id"])) == 1  # the server did make it
        clock.skip(timedelta(minutes=5))
        (second,) = await sender.run_once()
        assert second.state == "written"
        (appointment,) = search(fhir, "Appointment", booking["id"])  # still one
        (booking,) = await rows(store, "bookings")
        assert booking["external_id"] == f"Appointment/{appointment['id']}"
        await sender.stop()
        await store.close()

    run(scenario)


def test_a_refusal_names_the_field_and_is_not_retried(engine: tuple[FhirEngine, str], tmp_path: Path) -> None:
    fhir, _ = engine
    results: list[WriteResult] = []
    clock = Clock()

    async def scenario() -> None:
        store = await open_store(tmp_path)
        # A caller the EHR does not know: an appointment can name no patient, a referral must.
        await save(store, "crm:77", {"booking": BOOKING, "referral": REFERRAL})
        sender = write_back(store, fhir.base_url, clock, results)
        by_kind = {r.kind: r for r in await sender.run_once()}
        assert by_kind["booking"].state == "written"
        assert by_kind["referral"].state == "refused"
        assert "HTTP 400" in by_kind["referral"].error and "ServiceRequest.subject" in by_kind["referral"].error
        assert "not written to ehr" in by_kind["referral"].text
        for _ in range(3):
            clock.skip(timedelta(hours=1))
            assert await sender.run_once() == []  # never tried again
        writes = {w["kind"]: w for w in await rows(store, "fhir_writes")}
        assert (writes["referral"]["state"], writes["referral"]["attempts"]) == ("refused", 1)
        await sender.stop()
        await store.close()

    run(scenario)


def test_an_outage_is_retried_with_backoff_and_survives_a_restart(
    engine: tuple[FhirEngine, str], tmp_path: Path
) -> None:
    fhir, patient = engine
    proxy = FaultProxy(fhir.port)
    proxy.set_mode("down")
    url = f"http://127.0.0.1:{proxy.port}/fhir/R4"
    results: list[WriteResult] = []
    clock = Clock()

    async def outage() -> list[float]:
        store = await open_store(tmp_path)
        await save(store, f"ehr:{patient}", {"booking": BOOKING})
        sender = write_back(store, url, clock, results)
        waits = []
        for _ in range(3):
            assert [r.state for r in await sender.run_once()] == ["pending"]
            assert await sender.run_once() == []  # not before its time
            (write,) = await rows(store, "fhir_writes")
            due = write["next_attempt_at"].replace(tzinfo=UTC)
            waits.append((due - write["updated_at"].replace(tzinfo=UTC)).total_seconds())
            clock.skip_to(due)
        await sender.stop()
        await store.close()  # the desk goes away with the write still queued
        return waits

    waits = run(outage)
    assert waits == sorted(waits) and waits[-1] > waits[0]  # backing off: 1 s, then 2, then 4 (with jitter)
    proxy.set_mode("up")

    async def after_restart() -> None:
        store = LocalStore(tmp_path / "s.sqlite3")
        await store.open()
        sender = write_back(store, url, clock, results)
        (done,) = await sender.run_once()
        assert done.state == "written"
        (booking,) = await rows(store, "bookings")
        assert len(search(fhir, "Appointment", booking["id"])) == 1
        assert booking["external_id"] == done.reference
        await sender.stop()
        await store.close()

    try:
        run(after_restart)
    finally:
        proxy.stop()


def test_saving_the_wrap_up_again_does_not_write_an_unchanged_booking_twice(
    engine: tuple[FhirEngine, str], tmp_path: Path
) -> None:
    fhir, patient = engine
    results: list[WriteResult] = []

    async def scenario() -> None:
        store = await open_store(tmp_path)
        await save(store, f"ehr:{patient}", {"booking": BOOKING})
        sender = write_back(store, fhir.base_url, Clock(), results)
        (first,) = await sender.run_once()
        await save(store, f"ehr:{patient}", {"booking": BOOKING})  # notes fixed, booking the same: version 2
        assert await sender.run_once() == []
        assert {b["external_id"] for b in await rows(store, "bookings")} == {first.reference}
        moved = {**BOOKING, "start": START.replace("10:30", "11:30")}
        await save(store, f"ehr:{patient}", {"booking": moved})  # a changed booking is a new appointment
        (second,) = await sender.run_once()
        assert second.state == "written" and second.reference != first.reference
        await sender.stop()
        await store.close()

    run(scenario)


class _Answer(http.server.BaseHTTPRequestHandler):
    status = 503

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        body = b'{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"transient",'
        body += b'"diagnostics":"Ada Quill"}]}'
        self.send_response(self.status)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize(("status", "error"), [(503, WriteUnavailable), (429, WriteUnavailable), (422, WriteRefused)])
def test_server_errors_are_retried_and_client_errors_are_not(status: int, error: type[Exception]) -> None:
    handler = type("Answer", (_Answer,), {"status": status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    async def scenario() -> None:
        writer = FhirWriter("ehr", f"http://127.0.0.1:{server.server_address[1]}/fhir")
        resource = {"resourceType": "Appointment", "identifier": [{"system": "urn:ietf:rfc:3986", "value": "x"}]}
        try:
            with pytest.raises(error) as raised:
                await writer.create(resource)
            assert f"HTTP {status}" in str(raised.value)
            assert "Ada" not in str(raised.value)  # the server's text may echo patient data: never repeated
        finally:
            await writer.aclose()

    try:
        asyncio.run(scenario())
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.gui
def test_the_desk_writes_a_saved_booking_back_and_shows_its_id(
    qtbot: Any, run_async: Any, engine: tuple[FhirEngine, str], tmp_path: Path
) -> None:
    from tests.support import make_app, wait_until

    fhir, _ = engine
    config = f'[[backends]]\nname = "ehr"\nkind = "fhir"\nbase_url = "{fhir.base_url}"\nwrite_back = true\n'
    app = make_app(tmp_path, config)
    qtbot.addWidget(app.window)
    wrapup = app.window.wrapup

    async def scenario() -> None:
        app.window.show()
        await app.start()
        assert app.write_back is not None and app.store.write_back == ("ehr",)
        call_id = app.simulator.simulate_call()
        await wait_until(lambda: app.desk.current is not None and app.desk.current.call.call_id == call_id)
        app.simulator.hang_up(call_id)
        await wait_until(lambda: app.window.call_bar.state_label.text().startswith("Ended"), what="the panels")
        wrapup.disposition.setCurrentIndex(wrapup.disposition.findData("appointment_booked"))
        booking = wrapup.forms["booking"]
        booking.setChecked(True)
        for name, value in BOOKING.items():
            booking.fields[name].setText(value)  # type: ignore[attr-defined]
        app.window.save_action.trigger()
        await wait_until(lambda: wrapup.feedback.text().startswith("Saved"), what="saved")
        await wait_until(lambda: "Appointment in ehr: Appointment/" in wrapup.written.text(), what="written back")
        app.window.grab().save(str(tmp_path / "write-back.png"))
        await app.stop()

    run_async(scenario())
    reference = wrapup.written.text().split(": ", 1)[1]
    answer = httpx.get(f"{fhir.base_url}/{reference}")
    assert answer.status_code == 200 and answer.json()["status"] == "booked"


# -- the central copy learns what the EHR made (fhir_references through the outbox, real PostgreSQL) ---------------
def central_rows(url: str) -> dict[str, list[dict[str, Any]]]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return {
                name: [dict(r) for r in connection.execute(sa.text(f"SELECT * FROM {name} ORDER BY id")).mappings()]
                for name in ("dispositions", "bookings", "referrals", "fhir_references")
            }
    finally:
        engine.dispose()


def outbox(store: LocalStore, url: str, *names: str) -> Any:
    from agentdesk.store.central import CentralStore
    from agentdesk.store.outbox import OUTBOX_TABLES, outbox_table
    from agentdesk.store.sync import OutboxSync

    tables = tuple(outbox_table(name) for name in names) if names else OUTBOX_TABLES
    return OutboxSync(store, CentralStore(url), lambda _new: None, tables=tables)


def test_the_central_booking_and_referral_learn_their_fhir_ids_once(
    engine: tuple[FhirEngine, str], central_url: str, tmp_path: Path
) -> None:
    from agentdesk.store import schema

    fhir, patient = engine
    results: list[WriteResult] = []

    async def scenario() -> None:
        store = await open_store(tmp_path)
        disposition = await save(store, f"ehr:{patient}", {"booking": BOOKING, "referral": REFERRAL}, "c-central")
        sync = outbox(store, central_url)
        await sync.sync_once()  # the booking and referral go out before the EHR has answered
        # Saved again before the EHR answered (notes fixed): version 2 copies, sent too, share the same writes.
        await save(store, f"ehr:{patient}", {"booking": BOOKING, "referral": REFERRAL}, "c-central")
        await sync.sync_once()
        central = central_rows(central_url)
        mine = [b for b in central["bookings"] + central["referrals"] if b["disposition_id"] == disposition]
        assert len(mine) == 4 and {row["external_id"] for row in mine} == {""}
        sender = write_back(store, fhir.base_url, Clock(), results)
        assert sorted(r.state for r in await sender.run_once()) == ["written", "written"]
        report = await sync.sync_once()
        assert report.pushed == 4  # a reference per booking and referral row, nothing else
        local = {r["id"]: r["external_id"] for r in await rows(store, "bookings") + await rows(store, "referrals")}
        central = central_rows(central_url)
        found = {r["id"]: r["external_id"] for r in central["bookings"] + central["referrals"] if r["id"] in local}
        assert found == local and all(ref.startswith(("Appointment/", "ServiceRequest/")) for ref in found.values())
        first = next(r["id"] for r in await rows(store, "bookings") if r["version"] == 1)  # the one written
        (appointment,) = search(fhir, "Appointment", first)
        assert f"Appointment/{appointment['id']}" in found.values()
        # Replayed: the desk did not hear the answers and sends everything again; nothing changes centrally.
        await store.transact(
            lambda c: [
                c.execute(schema.metadata.tables[name].update().values(synced_at=None))
                for name in ("dispositions", "bookings", "referrals", "fhir_references")
            ]
        )
        assert (await sync.sync_once()).pushed == 1 + 4 + 4  # the disposition (one row, version 2) and the rest
        await store.transact(lambda c: c.execute(schema.fhir_references.update().values(synced_at=None)))
        await sync.sync_once()
        assert central_rows(central_url) == central
        assert len(central["fhir_references"]) == 4
        await sender.stop()
        await sync.stop()
        await store.close()

    run(scenario)


def test_a_fhir_id_that_arrives_before_its_booking_is_applied_when_the_booking_does(
    engine: tuple[FhirEngine, str], central_url: str, tmp_path: Path
) -> None:
    from agentdesk.store.central import CentralStore

    fhir, patient = engine
    results: list[WriteResult] = []

    async def scenario() -> None:
        store = await open_store(tmp_path)
        disposition = await save(store, f"ehr:{patient}", {"booking": BOOKING, "referral": REFERRAL}, "c-early")
        # What an outbox round read before the EHR answered (and pushed only later, e.g. after a lost connection).
        stale = {name: await store.unsynced(name) for name in ("dispositions", "bookings", "referrals")}
        assert {r["external_id"] for r in stale["bookings"] + stale["referrals"]} == {""}
        sender = write_back(store, fhir.base_url, Clock(), results)
        await sender.run_once()
        early = outbox(store, central_url, "fhir_references")
        assert (await early.sync_once()).pushed == 2  # first, alone
        await early.stop()
        central = CentralStore(central_url)
        for name, batch in stale.items():
            central.push(name, batch)
        central.dispose()
        local = {r["id"]: r["external_id"] for r in await rows(store, "bookings") + await rows(store, "referrals")}
        found = central_rows(central_url)
        mine = {r["id"]: r["external_id"] for r in found["bookings"] + found["referrals"] if r["id"] in local}
        assert mine == local and all(mine.values())
        # The rest of the outbox (the same rows, now with their ids) changes nothing and duplicates nothing.
        sync = outbox(store, central_url)
        await sync.sync_once()
        assert central_rows(central_url) == found
        assert [d["id"] for d in found["dispositions"]].count(disposition) == 1
        await sender.stop()
        await sync.stop()
        await store.close()

    run(scenario)
