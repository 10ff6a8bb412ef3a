"""The caller lookup: every backend at once, each with its own deadline, results delivered as they arrive.

Around each backend: a short-lived cache (the same caller within minutes is not fetched again), a circuit breaker
(a backend that keeps failing is skipped for a while instead of making every pop wait for its deadline), and
stale data (when a backend fails but answered for this number before, its last answer is shown, marked stale).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial

from agentdesk.records.backends import BackendError, QueryRejected, RecordBackend
from agentdesk.records.dates import find_date
from agentdesk.records.merge import MatcherRule, merge_records
from agentdesk.records.model import LookupResult, PatientProfile, SourceRecord, SourceState, SourceStatus

log = logging.getLogger("agentdesk.records")

LookupListener = Callable[[LookupResult], None]
Answer = tuple[RecordBackend, SourceStatus, list[SourceRecord]]
Merge = Callable[[Iterable[SourceRecord]], list[PatientProfile]]
STALE_LIMIT_SECONDS = 24 * 3600  # older than this, a cached answer is not shown even as stale


@dataclass(frozen=True)
class SearchQuery:
    """What the agent typed to find a caller the phone number did not find."""

    mrn: str = ""
    given: str = ""
    family: str = ""
    birth_date: str = ""  # YYYY-MM-DD


def parse_search(text: str) -> SearchQuery:
    """'MRN1234567' -> by identifier; 'Ana Lopez 1984-02-03', 'Lopez, Ana 2/3/1984' -> by name and birth date.

    Raises ValueError naming what is missing, for the search box to show."""
    text = " ".join(text.split())
    if not text:
        raise ValueError("search: type an MRN, or a name and a birth date")
    found = find_date(text)
    if found is None:
        if " " not in text and any(ch.isdigit() for ch in text) and len(text) <= 64:
            return SearchQuery(mrn=text)
        raise ValueError("birth date: add it as YYYY-MM-DD or MM/DD/YYYY (a name alone matches too many people)")
    try:
        birth = found.iso()
    except ValueError:
        raise ValueError("birth date: not a real date") from None
    name = (text[: found.start] + " " + text[found.end :]).strip(" ,")
    if "," in name:
        family, _, given = name.partition(",")
    else:
        given, _, family = name.rpartition(" ")
    family, given = family.strip(), given.strip()
    if not family:
        raise ValueError("name: add at least the family name")
    return SearchQuery(given=given, family=family, birth_date=birth)


@dataclass
class _Cached:
    at: float  # monotonic
    wall: float  # time.time(), for "showing data from 10:42"
    records: list[SourceRecord]


@dataclass
class _Breaker:
    failures: int = 0
    open_until: float = 0.0


@dataclass
class _Health:
    cache: dict[str, _Cached] = field(default_factory=dict)
    breaker: _Breaker = field(default_factory=_Breaker)


class ProfileLookup:
    """Fans a phone number out to every configured backend and merges what comes back."""

    def __init__(
        self,
        backends: Sequence[RecordBackend],
        cache_seconds: float = 300.0,
        breaker_failures: int = 3,
        breaker_seconds: float = 30.0,
        merge: Merge | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backends = list(backends)
        self.cache_seconds = cache_seconds
        self.breaker_failures = breaker_failures
        self.breaker_seconds = breaker_seconds
        # Default: the desk's rule, the identity matcher (built once per lookup, on its first merge).
        self.merge = merge or partial(merge_records, same=MatcherRule())
        self._clock = clock
        self._health: dict[str, _Health] = {}

    def forget(self, e164: str | None = None) -> None:
        """Drop cached answers (all, or one caller's): e.g. after the agent confirmed or split a match."""
        for health in self._health.values():
            if e164 is None:
                health.cache.clear()
            else:
                health.cache.pop(e164, None)

    async def lookup(self, call_id: str, e164: str, on_update: LookupListener | None = None) -> LookupResult:
        """Everyone every backend holds for the caller's number."""
        asks = [self._ask(b, e164, partial(b.find_by_phone, e164)) for b in self.backends]
        return await self._fan_out(call_id, e164, asks, on_update)

    async def search(self, call_id: str, query: SearchQuery, on_update: LookupListener | None = None) -> LookupResult:
        """The agent's own search (MRN, or name and birth date) in every backend that can search that way."""
        asks: list[Awaitable[Answer]] = []
        for backend in self.backends:
            keys: frozenset[str] = getattr(backend, "search_keys", frozenset())
            if query.mrn and "mrn" in keys:
                fetch = partial(getattr(backend, "find_by_identifier"), query.mrn)  # noqa: B009 - optional method
                asks.append(self._ask(backend, None, fetch))
            elif query.family and "name" in keys:
                fetch = partial(getattr(backend, "find_by_name"), query.given, query.family, query.birth_date)  # noqa: B009
                asks.append(self._ask(backend, None, fetch))
            else:
                asks.append(self._cannot(backend, "cannot search this way"))
        return await self._fan_out(call_id, "", asks, on_update)

    async def _fan_out(
        self, call_id: str, phone: str, asks: Sequence[Awaitable[Answer]], on_update: LookupListener | None
    ) -> LookupResult:
        started = time.perf_counter()
        statuses = {b.name: SourceStatus(b.name, SourceState.PENDING) for b in self.backends}
        records: list[SourceRecord] = []

        def snapshot(done: bool) -> LookupResult:
            return LookupResult(
                call_id=call_id,
                phone=phone,
                sources=tuple(statuses.values()),
                patients=tuple(self.merge(records)),
                elapsed_ms=(time.perf_counter() - started) * 1000,
                done=done,
                records=tuple(records),
            )

        if on_update:
            on_update(snapshot(done=not self.backends))
        for next_done in asyncio.as_completed(asks):
            backend, status, found = await next_done
            statuses[backend.name] = status
            records.extend(found)
            if status.state in (SourceState.TIMEOUT, SourceState.ERROR, SourceState.STALE):
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
    async def _cannot(backend: RecordBackend, reason: str) -> Answer:
        return backend, SourceStatus(backend.name, SourceState.EMPTY, 0.0, 0, reason), []

    async def _ask(
        self, backend: RecordBackend, cache_key: str | None, fetch: Callable[[], Awaitable[list[SourceRecord]]]
    ) -> Answer:
        """One backend's answer within its deadline; cached by `cache_key` (None: not cached)."""
        health = self._health.setdefault(backend.name, _Health())
        now = self._clock()
        cached = health.cache.get(cache_key) if cache_key is not None else None
        if cached is not None and now - cached.at < self.cache_seconds:
            state = SourceState.OK if cached.records else SourceState.EMPTY
            return backend, SourceStatus(backend.name, state, 0.0, len(cached.records), "cached"), cached.records
        if health.breaker.open_until > now:
            wait = health.breaker.open_until - now
            reason = f"skipped after {health.breaker.failures} failures; next try in {wait:.0f} s"
            return self._fallback(backend, SourceState.ERROR, 0.0, reason, cached)
        begun = time.perf_counter()
        try:
            found = await asyncio.wait_for(fetch(), backend.timeout_seconds)
        except TimeoutError:
            self._failed(health)
            return self._fallback(backend, SourceState.TIMEOUT, begun, "no answer in time", cached)
        except (QueryRejected, UnicodeError) as exc:
            # Caused by the value asked for (a caller id no driver can encode), not by the backend: the breaker
            # stays closed for every other caller.
            reason = (
                str(exc) if isinstance(exc, QueryRejected) else f"cannot search for this value ({type(exc).__name__})"
            )
            return backend, self._status(backend, SourceState.ERROR, begun, reason=reason), []
        except BackendError as exc:
            self._failed(health)
            return self._fallback(backend, SourceState.ERROR, begun, str(exc), cached)
        except Exception as exc:  # an adapter bug must not take the other sources down
            log.exception("backend %s failed unexpectedly", backend.name)
            self._failed(health)
            return self._fallback(backend, SourceState.ERROR, begun, type(exc).__name__, cached)
        health.breaker = _Breaker()
        if cache_key is not None:
            # Kept even when fresh-answer caching is off (cache_seconds = 0): a later failure falls back to it.
            health.cache[cache_key] = _Cached(self._clock(), time.time(), found)
        state = SourceState.OK if found else SourceState.EMPTY
        return backend, self._status(backend, state, begun, records=len(found)), found

    def _failed(self, health: _Health) -> None:
        breaker = health.breaker
        breaker.failures += 1
        if breaker.failures >= self.breaker_failures:
            breaker.open_until = self._clock() + self.breaker_seconds

    def _fallback(
        self, backend: RecordBackend, state: SourceState, begun: float, reason: str, cached: _Cached | None
    ) -> Answer:
        """A failed source: its last answer for this number, marked stale, when there is a recent enough one."""
        elapsed = (time.perf_counter() - begun) * 1000 if begun else 0.0
        if cached is not None and cached.records and self._clock() - cached.at < STALE_LIMIT_SECONDS:
            since = time.strftime("%H:%M", time.localtime(cached.wall))
            status = SourceStatus(
                backend.name,
                SourceState.STALE,
                elapsed,
                len(cached.records),
                f"{reason}; showing its answer from {since}",
            )
            return backend, status, cached.records
        return backend, SourceStatus(backend.name, state, elapsed, 0, reason), []

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
