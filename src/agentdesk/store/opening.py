"""Opening the local store's file: user-only, optionally encrypted (SQLCipher), migrated atomically, and moved
aside (never deleted) when it cannot be opened, so the desk always starts with a working store.

Why atomic: Python's sqlite3 runs DDL outside any transaction unless told otherwise, so a kill in the middle of
the first start used to leave half a schema ("table dispositions already exists" on every later start). Here
the driver's own transaction handling is off and every SQLAlchemy transaction is a real BEGIN ... COMMIT: all
migrations of one start commit together or not at all.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentdesk.base.private import narrow, private_dir, private_file

if TYPE_CHECKING:
    import sqlalchemy as sa

log = logging.getLogger("agentdesk.store")
SQLITE_HEADER = b"SQLite format 3\x00"
SIDE_FILES = ("-wal", "-shm", "-journal")


class StoreUnusable(Exception):
    """The store cannot be used and must not be moved aside (locked by another process, made by a newer
    AgentDesk, or encryption asked for without the SQLCipher driver); the message says what to do."""


@dataclass
class OpenedStore:
    engine: sa.Engine
    moved_aside: Path | None = None  # where an unreadable earlier store was kept


def open_store(path: Path, key: str | None, upgrade: Any, checkpoint_apart: bool = False) -> OpenedStore:
    """An engine on `path` with the schema at head; an unreadable file is renamed and a fresh store made.
    `checkpoint_apart`: its connections never checkpoint at commit (store/checkpoints.py does it beside them)."""
    private_dir(path.parent)
    if key and _is_plain_sqlite(path):
        _encrypt_in_place(path, key)
    try:
        return OpenedStore(_open_and_upgrade(path, key, upgrade, checkpoint_apart))
    except StoreUnusable:
        raise
    except Exception as exc:
        if not _unreadable(exc):
            raise
        aside = move_aside(path)
        log.error("the local store could not be opened (%s): kept as %s; starting a fresh one", _kind(exc), aside.name)
        return OpenedStore(_open_and_upgrade(path, key, upgrade, checkpoint_apart), aside)


def _open_and_upgrade(path: Path, key: str | None, upgrade: Any, checkpoint_apart: bool) -> sa.Engine:
    engine = make_engine(path, key, checkpoint_apart)
    try:
        upgrade(engine)
        for suffix in ("", *SIDE_FILES):
            narrow(Path(f"{path}{suffix}"))
    except Exception:
        engine.dispose()
        raise
    return engine


def make_engine(path: Path, key: str | None, checkpoint_apart: bool = False) -> sa.Engine:
    import sqlalchemy as sa

    if not path.exists():
        private_file(path)  # user-only from the start: SQLite gives its -wal and -shm files the same mode
    if key:
        try:
            import sqlcipher3  # noqa: F401  (the driver SQLAlchemy's pysqlcipher dialect loads)
        except ImportError:
            raise StoreUnusable(
                "store.encryption_credential is set but the SQLCipher driver is missing: pip install sqlcipher3-binary"
            ) from None
        url = sa.engine.URL.create("sqlite+pysqlcipher", password=key, database=str(path))
    else:
        url = sa.engine.URL.create("sqlite", database=str(path))
    engine = sa.create_engine(url)
    sa.event.listen(engine, "connect", _connected_apart if checkpoint_apart else _connected)
    sa.event.listen(engine, "begin", _begin)
    return engine


def _connected(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # the driver issues no BEGIN/COMMIT of its own: `_begin` does
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _connected_apart(dbapi_connection: Any, record: Any) -> None:
    _connected(dbapi_connection, record)
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints run beside the writer: checkpoints.py


def _begin(connection: sa.Connection) -> None:
    # DDL included: a migration commits whole or not at all. IMMEDIATE: the write lock is taken at the start, so
    # a reader cannot turn writer mid-way and fail (another process, e.g. `agentdesk lookup`, may share the file)
    # and two writers never chain an audit row to the same predecessor. Readers are not blocked (WAL).
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _is_plain_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def _encrypt_in_place(path: Path, key: str) -> None:
    """Encryption turned on for an existing plain store: copy it into an encrypted file (SQLCipher's
    sqlcipher_export), then replace the plain one, so nothing saved is lost and no plain copy stays behind."""
    try:
        import sqlcipher3
    except ImportError:
        raise StoreUnusable(
            "store.encryption_credential is set but the SQLCipher driver is missing: pip install sqlcipher3-binary"
        ) from None
    encrypted = path.with_name(f"{path.name}.encrypting")
    with contextlib.suppress(FileNotFoundError):
        encrypted.unlink()
    private_file(encrypted)
    connection = sqlcipher3.connect(str(path), isolation_level=None)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("ATTACH DATABASE ? AS encrypted KEY ?", (str(encrypted), key))
        connection.execute("SELECT sqlcipher_export('encrypted')")
        connection.execute("DETACH DATABASE encrypted")
    finally:
        connection.close()
    encrypted.replace(path)
    for suffix in SIDE_FILES:
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()
    log.info("the local store is now encrypted")


def _unreadable(error: BaseException) -> bool:
    """A file that is not a store, a damaged one, or a half-made schema from an older, non-atomic start.
    'database is locked' (another AgentDesk has it open) is not: that store is fine."""
    import sqlalchemy as sa

    text = str(getattr(error, "orig", None) or error).lower()
    if any(word in text for word in ("locked", "unable to open", "readonly", "full", "disk i/o")):
        return False
    if "can't locate revision" in text:
        raise StoreUnusable(
            "the local store was made by a newer AgentDesk; update AgentDesk (the store was left untouched)"
        ) from None
    return isinstance(error, sa.exc.DatabaseError) or "already exists" in text


def move_aside(path: Path) -> Path:
    """Rename the store (and its -wal/-shm files) to '<name>.unreadable-<UTC time>'; nothing is deleted."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.unreadable-{stamp}")
    counter = 1
    while aside.exists():
        counter += 1
        aside = path.with_name(f"{path.name}.unreadable-{stamp}-{counter}")
    path.replace(aside)
    for suffix in SIDE_FILES:
        side = Path(f"{path}{suffix}")
        if side.exists():
            side.replace(Path(f"{aside}{suffix}"))
    return aside


def _kind(error: BaseException) -> str:
    orig = getattr(error, "orig", None)
    return type(orig or error).__name__
