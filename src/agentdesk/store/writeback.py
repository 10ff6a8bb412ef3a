"""FHIR write-back: every booking and referral saved in a wrap-up reaches each FHIR backend configured with
`write_back = true`, as an Appointment or a ServiceRequest, once.

The queue is the `fhir_writes` table, filled in the wrap-up's own transaction (no saved booking without its
queued write, even after a kill). `WriteBack` works through it on a thread of its own (HTTP never runs on the GUI
thread): a write the server took is marked `written` with the resource's reference, which is also stored on the
booking or referral (`external_id`) and shown; one the server refused (a 4xx) is marked `refused` with the fields it
named and not tried again; one that could not be delivered (an outage, a 5xx) waits with capped exponential backoff
and jitter, across restarts. The creates are conditional on the outcome's client UUID (records/backends/fhir_write),
so a retry after a lost answer finds the resource the first attempt made.

A wrap-up saved again does not write an unchanged booking or referral twice (store/fhir_queue.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from agentdesk.base.backoff import Backoff
from agentdesk.base.time import utc_now
from agentdesk.store.fhir_queue import due, record_failure, record_written

if TYPE_CHECKING:
    from agentdesk.records.backends.fhir_write import FhirWriter
    from agentdesk.store.local import LocalStore

log = logging.getLogger("agentdesk.store")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What the agent sees of one write: done (`reference`), refused for good, or still trying (`error`)."""

    call_id: str
    kind: str  # booking | referral
    backend: str
    state: str  # written | refused | pending
    reference: str = ""
    error: str = ""

    @property
    def text(self) -> str:
        what = "Appointment" if self.kind == "booking" else "Referral"
        if self.state == "written":
            return f"{what} in {self.backend}: {self.reference}"
        if self.state == "refused":
            return f"{what} not written to {self.backend}: refused ({self.error})"
        return f"{what} waiting for {self.backend} ({self.error}); retrying"


class _LoopThread:
    """An event loop on a thread of its own: the writers' HTTP (and OAuth2 tokens) live there, off the GUI."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fhir-write-back", daemon=True)
        self._thread.start()

    async def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self.loop))

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self.loop.close()


class WriteBack:
    """Works through the queue: after each save (`wake`), every `interval_seconds`, and when a retry is due."""

    def __init__(
        self,
        local: LocalStore,
        writers: dict[str, FhirWriter],
        on_result: Callable[[WriteResult], None] | None = None,
        *,
        appointment_minutes: dict[str, int] | None = None,
        interval_seconds: float = 15.0,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:

        self._local = local
        self._writers = writers
        self._on_result = on_result
        self._minutes = appointment_minutes or {}
        self._interval = interval_seconds
        self._backoff = backoff or Backoff(base=2.0, cap=300.0)
        self._rng = rng or random.Random()
        self._clock = clock
        self._thread = _LoopThread()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def backends(self) -> tuple[str, ...]:
        return tuple(self._writers)

    async def run_once(self) -> list[WriteResult]:
        """Send every due write once; returns what happened to each."""
        now = self._clock()
        jobs = await self._local.read(lambda c: due(c, now, self.backends))
        results = []
        for job in jobs:
            results.append(await self._send(job))
        return results

    async def _send(self, job: dict[str, Any]) -> WriteResult:
        from agentdesk.records.backends.fhir_write import WriteRefused, WriteUnavailable, appointment, service_request

        backend, kind = str(job["backend"]), str(job["kind"])
        patient = str(job["patient_ref"])
        now = self._clock()
        retry_at: datetime | None = now + timedelta(seconds=self._backoff.delay(int(job["attempts"]) + 1, self._rng))
        try:
            if kind == "booking":
                resource = appointment(job["detail"], patient, self._minutes.get(backend, 30))
            else:
                resource = service_request(job["detail"], patient)
            written = await self._thread.run(self._writers[backend].create(resource))
        except WriteRefused as exc:
            error, retry_at = str(exc), None
            log.warning("write-back to %s: %s refused (%s)", backend, kind, error)
        except WriteUnavailable as exc:
            error = str(exc)
            log.info("write-back to %s: %s not delivered (%s); retrying", backend, kind, error)
        except Exception as exc:  # a bug here must not stop the queue: this row backs off, the others go on
            error = f"failed ({type(exc).__name__})"
            log.exception("write-back to %s: %s failed", backend, kind)
        else:
            await self._local.transact(lambda c: record_written(c, job, written.reference, now))
            result = WriteResult(str(job["call_id"]), kind, backend, "written", reference=written.reference)
            if self._on_result is not None:
                self._on_result(result)
            return result
        await self._local.transact(lambda c: record_failure(c, job, error, now, retry_at))
        state = "refused" if retry_at is None else "pending"
        result = WriteResult(str(job["call_id"]), kind, backend, state, error=error)
        if self._on_result is not None:
            self._on_result(result)
        return result

    def start(self) -> None:
        self._local.on_saved.append(lambda _saved: self.wake())
        self._task = asyncio.get_running_loop().create_task(self._run(), name="fhir-write-back")

    def wake(self) -> None:
        """A wrap-up was saved: write its bookings and referrals now rather than at the next round."""
        self._wake.set()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.run_once()
            except Exception:  # keep going through a bug in one round; the queue keeps the rows
                log.exception("write-back round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            self._wake.clear()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), 5.0)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        for writer in self._writers.values():
            with contextlib.suppress(Exception):
                await self._thread.run(writer.aclose())
        self._thread.stop()
