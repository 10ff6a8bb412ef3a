"""Backend adapters: each turns one kind of system (FHIR, SQL, REST) into SourceRecords."""

from __future__ import annotations

from typing import Protocol

from agentdesk.records.model import SourceRecord


class BackendError(Exception):
    """A backend could not answer; the message is shown to the agent and IT, so it never holds patient data."""


class QueryRejected(BackendError):
    """The backend (or its driver) cannot take this query value (e.g. text it cannot encode): the value is at
    fault, not the backend, so it never counts toward the backend's circuit breaker."""


class RecordBackend(Protocol):
    name: str
    priority: int
    timeout_seconds: float

    async def find_by_phone(self, e164: str) -> list[SourceRecord]:
        """Every person this system holds for the number (an empty list when none)."""
        ...

    async def aclose(self) -> None: ...
