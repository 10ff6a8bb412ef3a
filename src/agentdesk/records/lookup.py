"""The caller lookup: every backend at once, each with its own deadline, results delivered as they arrive."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from agentdesk.records.backends import BackendError, RecordBackend
from agentdesk.records.merge import merge_records
from agentdesk.records.model import LookupResult, SourceRecord, SourceState, SourceStatus

log = logging.getLogger("agentdesk.records")

LookupListener = Callable[[LookupResult], None]


class ProfileLookup:
    """Fans a phone number out to every configured backend and merges what comes back."""

    def __init__(self, backends: Sequence[RecordBackend]) -> None:
        self.backends = list(backends)

    async def lookup(self, call_id: str, e164: str, on_update: LookupListener | None = None) -> LookupResult:
        started = time.perf_counter()
        statuses = {b.name: SourceStatus(b.name, SourceState.PENDING) for b in self.backends}
        records: list[SourceRecord] = []

        def snapshot(done: bool) -> LookupResult:
            return LookupResult(
                call_id=call_id,
                phone=e164,
                sources=tuple(statuses.values()),
                patients=tuple(merge_records(records)),
                elapsed_ms=(time.perf_counter() - started) * 1000,
                done=done,
                records=tuple(records),
            )

        async def ask(backend: RecordBackend) -> tuple[RecordBackend, SourceStatus, list[SourceRecord]]:
            begun = time.perf_counter()
            try:
                found = await asyncio.wait_for(backend.find_by_phone(e164), backend.timeout_seconds)
            except TimeoutError:
                return backend, self._status(backend, SourceState.TIMEOUT, begun, reason="no answer in time"), []
            except BackendError as exc:
                return backend, self._status(backend, SourceState.ERROR, begun, reason=str(exc)), []
            except Exception as exc:  # an adapter bug must not take the other sources down
                log.exception("backend %s failed unexpectedly", backend.name)
                return backend, self._status(backend, SourceState.ERROR, begun, reason=type(exc).__name__), []
            state = SourceState.OK if found else SourceState.EMPTY
            return backend, self._status(backend, state, begun, records=len(found)), found

        if on_update:
            on_update(snapshot(done=not self.backends))
        for next_done in asyncio.as_completed([ask(b) for b in self.backends]):
            backend, status, found = await next_done
            statuses[backend.name] = status
            records.extend(found)
            if status.state in (SourceState.TIMEOUT, SourceState.ERROR):
                log.warning("source %s: %s: %s", backend.name, status.state.value, status.reason)
            if on_update and any(s.state is SourceState.PENDING for s in statuses.values()):
                on_update(snapshot(done=False))
        result = snapshot(done=True)
        if on_update:
            on_update(result)
        log.info(
            "lookup for call %s: %d source(s), %d people, %.0f ms",
            call_id,
            len(self.backends),
            len(result.patients),
            result.elapsed_ms,
        )
        return result

    @staticmethod
    def _status(
        backend: RecordBackend, state: SourceState, begun: float, records: int = 0, reason: str = ""
    ) -> SourceStatus:
        return SourceStatus(backend.name, state, (time.perf_counter() - begun) * 1000, records, reason)

    async def aclose(self) -> None:
        for backend in self.backends:
            try:
                await backend.aclose()
            except Exception:
                log.exception("closing backend %s failed", backend.name)
