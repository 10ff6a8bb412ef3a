"""The central store: the deployment's PostgreSQL, shared by every desk. Rows carry the UUID the desk made, and
are inserted with ON CONFLICT DO NOTHING, so a retried push never duplicates anything.

Its schema is the local store's, from the same Alembic migrations, applied by IT with `agentdesk db upgrade`
(desks only check that it is current: an agent's login should not be able to alter tables).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from agentdesk.config.transport import merge_connect_args, sql_connect_args, tls_failure
from agentdesk.store import schema
from agentdesk.store.local import MIGRATIONS, upgrade_schema
from agentdesk.store.outbox import OutboxBatch, OutboxTable, outbox_table

log = logging.getLogger("agentdesk.store")
CENTRAL_DEADLINE = 10.0  # connect and statement timeout: a push of 500 rows takes well under a second


def failure(what: str, error: BaseException) -> CentralStoreError:
    """A CentralStoreError naming the kind of failure (a TLS failure as a TLS failure), never the driver's text."""
    return CentralStoreError(f"{what} ({tls_failure(error) or type(error).__name__})")


class CentralStoreError(Exception):
    """The central store cannot be used now; the message is for the status bar and IT (no data, no password)."""


class CentralStore:
    """Synchronous: every method runs on a worker thread (see OutboxSync)."""

    def __init__(self, url: str, password: str | None = None, deadline_seconds: float = CENTRAL_DEADLINE) -> None:
        address = sa.make_url(url)
        if password:
            address = address.set(password=password)
        link = sql_connect_args(
            address.get_backend_name(), address.get_driver_name(), address.host, dict(address.query), deadline_seconds
        )
        # Shown in the status bar and logged: IT chose to turn verification off, and everyone should see it.
        self.unverified = link.unverified
        if link.unverified:
            log.warning("central store: %s", link.unverified)
        connect_args = dict(link.connect_args)
        if address.get_backend_name() == "postgresql":
            # A desk whose network dies mid-push leaves its transaction open on the server, holding the locks of
            # the keys it inserted: the retry (same keys) would wait on them until the server noticed, hours later.
            idle = f"-c idle_in_transaction_session_timeout={int(deadline_seconds * 2000)}"
            connect_args = merge_connect_args(connect_args, {"options": idle})
        try:
            self._engine = sa.create_engine(address, pool_pre_ping=True, pool_size=2, connect_args=connect_args)
        except ModuleNotFoundError as exc:  # the driver is an extra: the demo and local-only desks do without it
            raise CentralStoreError(
                f"the database driver '{exc.name}' is not installed: pip install 'agentdesk[central]'"
            ) from None
        self._address, self._connect_args = address, connect_args

    @property
    def engine(self) -> sa.Engine:
        """For readers of the whole store (the monitor, `agentdesk metrics`), on their own threads."""
        return self._engine

    def upgrade(self) -> None:
        """Apply every migration (IT runs this once per release: `agentdesk db upgrade`); without the desks'
        statement timeout, since a migration of a big table may rightly take minutes."""
        arguments = {k: v for k, v in self._connect_args.items() if k != "options"}
        engine = sa.create_engine(self._address, poolclass=sa.pool.NullPool, connect_args=arguments)
        try:
            upgrade_schema(engine)
        finally:
            engine.dispose()

    def check_schema(self) -> None:
        from alembic.config import Config
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        scripts = ScriptDirectory.from_config(config)
        head = scripts.get_current_head()
        try:
            with self._engine.connect() as connection:
                current = MigrationContext.configure(connection).get_current_revision()
        except sa.exc.SQLAlchemyError as exc:
            raise failure("unreachable", exc) from None
        known = {script.revision for script in scripts.walk_revisions()}
        if current is not None and current not in known:
            raise CentralStoreError(
                f"schema at {current} is newer than this AgentDesk (which knows up to {head}): update AgentDesk"
            )
        if current != head:
            raise CentralStoreError(
                f"schema at {current or 'nothing'}, this AgentDesk needs {head}: run agentdesk db upgrade"
            )

    def push(self, target: OutboxTable | str, rows: OutboxBatch | list[dict[str, Any]]) -> None:
        """Insert rows made on a desk, in one transaction; rows already there (a retry) are left alone, except
        that a versioned row replaces an older version of itself.

        The rows are copied (COPY) into a session-local staging table and moved with one INSERT ... SELECT ...
        ON CONFLICT: a statement per batch instead of one per row. Times without a zone are UTC (what SQLite
        hands back): the transaction reads them as UTC whatever the server's or the role's TimeZone."""
        if not rows:
            return
        spec = outbox_table(target) if isinstance(target, str) else target
        table = schema.metadata.tables[spec.name]
        sent = [c.name for c in table.columns if c.name not in spec.unsent and c.name != "received_at"]
        if isinstance(rows, OutboxBatch) and list(rows.columns) == sent:
            columns, values = sent, rows.rows
        else:
            found = rows.dicts() if isinstance(rows, OutboxBatch) else rows
            columns = [name for name in sent if name in found[0]]
            values = [tuple(row.get(name) for name in columns) for row in found]
        try:
            with self._engine.begin() as connection:
                driver = connection.connection.driver_connection
                if self._address.get_driver_name() == "psycopg" and driver is not None:
                    _copy_and_merge(driver, spec, columns, values)
                else:
                    connection.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")
                    merge = _merge_statement(spec, columns)
                    connection.execute(merge, [dict(zip(columns, row, strict=True)) for row in values])
                _apply_references(connection, spec, columns, values)
        except sa.exc.SQLAlchemyError as exc:
            raise failure("push failed", exc) from None
        except Exception as exc:  # the driver's own errors (COPY runs on the psycopg connection itself)
            if type(exc).__module__.split(".")[0] != "psycopg":
                raise
            raise failure("push failed", exc) from None

    def decisions_since(self, since: datetime | None, limit: int = 5000) -> list[dict[str, Any]]:
        """Identity decisions the central store received after `since` (its own clock), oldest first."""
        table = schema.identity_decisions
        query = sa.select(table).order_by(table.c.received_at).limit(limit)
        if since is not None:
            query = query.where(table.c.received_at > since)
        try:
            with self._engine.connect() as connection:
                return [dict(row) for row in connection.execute(query).mappings().all()]
        except sa.exc.SQLAlchemyError as exc:
            raise failure("pull failed", exc) from None

    def wrapups_between(self, start: datetime, end: datetime, with_notes: bool = False) -> list[dict[str, Any]]:
        """Every desk's dispositions wrapped up in [start, end), with their current details (for export)."""
        from agentdesk.store.wrapups import wrapups_between

        try:
            with self._engine.connect() as connection:
                return wrapups_between(connection, start, end, with_notes)
        except sa.exc.SQLAlchemyError as exc:
            raise CentralStoreError(f"read failed ({type(exc).__name__})") from None

    def role_of(self, login: str) -> str:
        """The role IT gave `login` in the central store ('' when none)."""
        table = schema.agent_roles
        query = sa.select(table.c.role).where(sa.func.lower(table.c.login) == login.lower())
        try:
            with self._engine.connect() as connection:
                return str(connection.execute(query).scalar() or "")
        except sa.exc.SQLAlchemyError as exc:
            raise failure("role read failed", exc) from None

    def audit_rows(self) -> list[dict[str, Any]]:
        """Every audit row sent by every desk, by workstation and sequence (for `agentdesk audit verify`)."""
        from agentdesk.store import audit

        try:
            with self._engine.connect() as connection:
                return audit.chain_rows(connection)
        except sa.exc.SQLAlchemyError as exc:
            raise failure("audit read failed", exc) from None

    def who_viewed(
        self, patient_ref: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[dict[str, Any]]:
        from agentdesk.store import audit

        try:
            with self._engine.connect() as connection:
                return audit.who_viewed(connection, patient_ref, start, end)
        except sa.exc.SQLAlchemyError as exc:
            raise failure("audit read failed", exc) from None

    def dispose(self) -> None:
        self._engine.dispose()


REFERENCED = {"booking": "bookings", "referral": "referrals"}  # fhir_references.kind -> the table it names


def _apply_references(
    connection: sa.Connection, spec: OutboxTable, columns: list[str], rows: list[tuple[Any, ...]]
) -> None:
    """A booking's or referral's `external_id` follows the FHIR references received for it, in the push's
    transaction, whichever came first: a reference pushed before its row (a booking sent again after a kill, an
    outbox read before the EHR answered) waits in fhir_references and is applied when the row arrives. With
    several references for one row (several write-back backends) the earliest written wins, so the result is the
    same in any order of delivery; a replay finds nothing to change."""
    if spec.name == "fhir_references":
        kind, outcome = columns.index("kind"), columns.index("outcome_id")
        by_table: dict[str, list[str]] = {}
        for row in rows:
            by_table.setdefault(REFERENCED[str(row[kind])], []).append(str(row[outcome]))
    elif spec.name in REFERENCED.values():
        key = columns.index(spec.key)
        by_table = {spec.name: [str(row[key]) for row in rows]}
    else:
        return
    references = schema.fhir_references
    for name, ids in by_table.items():
        table = schema.metadata.tables[name]
        earliest = (
            sa.select(references.c.resource_ref)
            .where(references.c.outcome_id == table.c.id)
            .order_by(references.c.written_at, references.c.id)
            .limit(1)
            .scalar_subquery()
        )
        for chunk in (ids[i : i + 1000] for i in range(0, len(ids), 1000)):
            # `!=` is NULL (not true) for a row with no reference yet: such rows keep what their desk sent.
            changed = table.c.id.in_(chunk) & (table.c.external_id != earliest)
            connection.execute(table.update().where(changed).values(external_id=earliest))


def _merge_statement(spec: OutboxTable, columns: list[str]) -> Any:
    """INSERT ... ON CONFLICT for drivers without COPY: a retry leaves a row alone, a newer version replaces it."""
    from sqlalchemy.dialects.postgresql import insert

    table = schema.metadata.tables[spec.name]
    statement = insert(table)
    if spec.versioned:
        return statement.on_conflict_do_update(
            index_elements=[spec.key],
            set_={name: statement.excluded[name] for name in columns if name != spec.key},
            where=table.c.version < statement.excluded.version,
        )
    return statement.on_conflict_do_nothing(index_elements=[spec.key])


def _copy_and_merge(driver: Any, spec: OutboxTable, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """COPY the batch into a staging table (this session's, emptied at commit), then one INSERT ... SELECT."""
    from psycopg import sql

    stage = sql.Identifier(f"outbox_stage_{spec.name}")
    target = sql.Identifier(spec.name)
    names = sql.SQL(", ").join(sql.Identifier(name) for name in columns)
    with driver.cursor() as cursor:
        # One round trip (no parameters: the simple protocol takes both statements). The COPY reads SQLite's zoneless
        # times, in this transaction's zone.
        cursor.execute(
            sql.SQL(
                "SET LOCAL TIME ZONE 'UTC'; "
                "CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            ).format(stage, target)
        )
        with cursor.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(stage, names)) as copy:
            for row in rows:
                copy.write_row(row)
        action: sql.Composable = sql.SQL("DO NOTHING")
        if spec.versioned:
            updates = sql.SQL(", ").join(
                sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(n), sql.Identifier(n))
                for n in columns
                if n != spec.key
            )
            action = sql.SQL("DO UPDATE SET {} WHERE {}.version < EXCLUDED.version").format(updates, target)
        cursor.execute(
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT ({}) {}").format(
                target, names, names, stage, sql.Identifier(spec.key), action
            )
        )
