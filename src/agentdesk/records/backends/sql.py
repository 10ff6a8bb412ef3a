"""Any SQL database through SQLAlchemy: a configured, parameterised query with a column mapping.

SQLAlchemy's engines are synchronous here (drivers for every database a health system runs exist for it), so
each query runs on a worker thread; the GUI thread never waits on a database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from agentdesk.base.fields import PROFILE_FIELDS
from agentdesk.base.text import clean_text
from agentdesk.base.time import parse_timestamp
from agentdesk.config.transport import PostgresTls, sql_connect_args, tls_failure
from agentdesk.records.backends import BackendError, QueryRejected
from agentdesk.records.fields import clean_fields
from agentdesk.records.model import SourceRecord

log = logging.getLogger("agentdesk.records")
MAX_ROWS = 50
ID_COLUMNS = ("record_id", "id")
UPDATED_COLUMNS = ("updated", "updated_at", "last_updated")


class SqlBackend:
    """A SQL database as a record source."""

    def __init__(
        self,
        name: str,
        url: str,
        phone_query: str,
        columns: Mapping[str, str] | None = None,
        priority: int = 100,
        timeout_seconds: float = 2.0,
        password: str | None = None,
        region: str = "US",
        mrn_query: str = "",
        name_query: str = "",
    ) -> None:
        self.name = name
        self.priority = priority
        self.timeout_seconds = timeout_seconds
        self._url = url
        self._password = password
        self._queries = {"phone": phone_query, "mrn": mrn_query, "name": name_query}
        # The agent's searches this database can answer (see ProfileLookup.search).
        self.search_keys = frozenset(key for key, query in self._queries.items() if query and key != "phone")
        self._columns = dict(columns or {})
        self._region = region
        self._engine: Any = None
        self._link = self._link_for(url, timeout_seconds)
        self.unverified = self._link.unverified  # an explicit sslmode below verify-full: shown with the sources
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix=f"sql-{name}")

    async def find_by_phone(self, e164: str) -> list[SourceRecord]:
        digits = e164.lstrip("+")
        params = {
            "phone": e164,
            "phone_digits": digits,
            "phone_national": digits[1:] if e164.startswith("+1") else digits,
        }
        return await self._select("phone", params)

    async def find_by_identifier(self, mrn: str) -> list[SourceRecord]:
        return await self._select("mrn", {"mrn": mrn})

    async def find_by_name(self, given: str, family: str, birth_date: str) -> list[SourceRecord]:
        return await self._select("name", {"given_name": given, "family_name": family, "birth_date": birth_date})

    async def _select(self, key: str, params: dict[str, str]) -> list[SourceRecord]:
        if not self._queries[key]:
            raise BackendError(f"no {key} query configured")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._run_query, self._queries[key], params)

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._pool, self._dispose)
        self._pool.shutdown(wait=False)

    def _dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def _connect(self) -> Any:
        import sqlalchemy as sa

        if self._engine is None:
            url = sa.make_url(self._url)
            if self._password:
                url = url.set(password=self._password)
            if self.unverified:
                log.warning("%s: %s", self.name, self.unverified)
            self._engine = sa.create_engine(url, pool_pre_ping=True, connect_args=self._link.connect_args)
        return self._engine

    @staticmethod
    def _link_for(url: str, deadline: float) -> PostgresTls:
        from sqlalchemy.engine import make_url

        address = make_url(url)
        return sql_connect_args(
            address.get_backend_name(), address.get_driver_name(), address.host, dict(address.query), deadline
        )

    def _run_query(self, query: str, params: dict[str, str]) -> list[SourceRecord]:
        import sqlalchemy as sa

        try:
            with self._connect().connect() as connection:
                result = connection.execute(sa.text(query), params)
                rows = result.mappings().fetchmany(MAX_ROWS)
        except UnicodeError as exc:  # the driver cannot encode the value (a lone surrogate): the value's fault
            raise QueryRejected(f"cannot search for this value ({type(exc).__name__})") from None
        except sa.exc.SQLAlchemyError as exc:
            # DataError: the database refused the value (e.g. a NUL in PostgreSQL text); a StatementError without
            # a DBAPI error: binding the parameter failed. Neither says anything about the backend's health.
            bound = isinstance(exc, sa.exc.StatementError) and not isinstance(exc, sa.exc.DBAPIError)
            if bound or isinstance(exc, sa.exc.DataError):
                raise QueryRejected(f"cannot search for this value ({type(exc).__name__})") from None
            # The driver's message can quote parameters; keep only the kind of failure.
            raise BackendError(f"query failed ({tls_failure(exc) or type(exc).__name__})") from None
        return [record for row in rows if (record := self._record_from(row)) is not None]

    def _record_from(self, row: Mapping[str, Any]) -> SourceRecord | None:
        def column(field: str) -> Any:
            return row.get(self._columns.get(field, field))

        record_id = next((clean_text(column(c)) for c in ID_COLUMNS if column(c) is not None), "")
        if not record_id:
            return None
        raw = {field: column(field) for field in PROFILE_FIELDS if column(field) is not None}
        updated = next((parse_timestamp(column(c)) for c in UPDATED_COLUMNS if column(c) is not None), None)
        return SourceRecord(self.name, record_id, clean_fields(raw, self._region), updated, self.priority)
