"""Database engine set-up: SQLite pragmas and explicit transactions, and write-lock helpers."""

from __future__ import annotations

import functools
import sqlite3
import threading

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

BEGIN_MODE_OPTION = "sqlite_begin_mode"
WRITING = "writing"  # session.info key: this transaction began with the write lock
_WRITE_LOCKS: dict[str, threading.Lock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


class WriteLockedConnection(sqlite3.Connection):
    """A sqlite3 connection that holds this process's write lock for its database from BEGIN IMMEDIATE to
    COMMIT or ROLLBACK.

    SQLite's own busy handler waits by sleeping in growing steps, so threads of one process that queue
    for the write lock wake late; a Python lock hands over at once. Other processes still meet SQLite's
    lock and its busy timeout.
    """

    write_lock: threading.Lock | None = None
    lock_timeout_s = 5.0
    holding = False

    def take_write_lock(self) -> None:
        """Wait for this process's other writers (SQLite's busy timeout at most), or fail as SQLite would."""
        if not self.write_lock.acquire(timeout=self.lock_timeout_s):
            # The same error SQLite gives when its own busy timeout runs out: answered as 503.
            busy = sqlite3.OperationalError("database is locked (waited for this process's writers)")
            raise exc.OperationalError("BEGIN IMMEDIATE", None, busy)
        self.holding = True

    def release_write_lock(self) -> None:
        """Let the next writer of this process in."""
        if self.holding:
            self.holding = False
            self.write_lock.release()

    def commit(self) -> None:
        """Commit, then release the write lock."""
        try:
            super().commit()
        finally:
            self.release_write_lock()

    def rollback(self) -> None:
        """Roll back, then release the write lock."""
        try:
            super().rollback()
        finally:
            self.release_write_lock()

    def close(self) -> None:
        """Close, releasing the write lock if a transaction was left open."""
        try:
            super().close()
        finally:
            self.release_write_lock()


def write_lock_for(path: str) -> threading.Lock:
    """The process-wide write lock of one database file."""
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(path, threading.Lock())


def configure_engine(engine: Engine, busy_timeout_ms: int = 5000) -> None:
    """Set up an engine: on SQLite, foreign keys, WAL, a busy timeout and transactions we begin ourselves.

    Python's sqlite3 module begins a transaction only at the first write, so a classifying read would
    run outside it; with its own transaction handling turned off we emit BEGIN (or BEGIN IMMEDIATE,
    which takes the write lock up front) when SQLAlchemy begins (SQLAlchemy's pysqlite recipe).
    """
    if engine.dialect.name != "sqlite":
        return

    lock = write_lock_for(str(engine.url.database))

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: sqlite3.Connection, _record) -> None:
        if isinstance(dbapi_connection, WriteLockedConnection):
            dbapi_connection.write_lock = lock
            dbapi_connection.lock_timeout_s = busy_timeout_ms / 1000
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "memory":
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection) -> None:
        mode = connection.get_execution_options().get(BEGIN_MODE_OPTION, "DEFERRED")
        raw = connection.connection.dbapi_connection
        if mode == "IMMEDIATE" and isinstance(raw, WriteLockedConnection):
            raw.take_write_lock()
        try:
            connection.exec_driver_sql(f"BEGIN {mode}")
        except Exception:
            if isinstance(raw, WriteLockedConnection):
                raw.release_write_lock()
            raise


def _held(session: Session) -> Session:
    """The session itself, also behind a scoped session (which proxies most methods but not
    in_transaction())."""
    return session() if hasattr(session, "registry") else session


def begin_write(session: Session) -> None:
    """Start the session's transaction holding the database write lock (SQLite: BEGIN IMMEDIATE).

    Called when a writing operation starts, after its input was read and validated: never earlier, so
    that a slow client cannot hold the lock. Inside a write transaction already begun it does nothing (the
    operations of one request share their owner's transaction). A read-only transaction open on the
    session is ended first (its reads would be stale under the lock anyway); pending changes there are a
    programming error. On PostgreSQL this is a plain begin; row locks (SELECT ... FOR UPDATE) serialize
    the writers there.
    """
    session = _held(session)
    if not session.in_transaction():
        session.connection(execution_options={BEGIN_MODE_OPTION: "IMMEDIATE"})
    elif not session.info.get(WRITING):
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("begin_write() with unflushed changes: start the write transaction first")
        # The request's reads so far (its token, the objects it named) stay loaded: what an operation
        # decides on, it re-reads under the lock (capacity rows with populate_existing, a referral with
        # refresh). On PostgreSQL nothing more is needed: row locks serialize the writers and each statement
        # reads what is committed. On SQLite the read transaction becomes a write one on the same
        # connection: a new connection from the pool cost a sixth of a capacity update.
        if session.get_bind().dialect.name == "sqlite":
            _upgrade_to_write(session.connection())
    session.info[WRITING] = True


def _upgrade_to_write(connection) -> None:
    """End a read-only SQLite transaction and begin BEGIN IMMEDIATE on the same connection, under the
    process's write lock."""
    raw = connection.connection.dbapi_connection
    connection.exec_driver_sql("COMMIT")  # nothing was written: this only ends the read snapshot
    if isinstance(raw, WriteLockedConnection):
        raw.take_write_lock()
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    except Exception:
        if isinstance(raw, WriteLockedConnection):
            raw.release_write_lock()
        raise


def writes(operation):
    """Declare a domain operation that writes: its first act is `begin_write` on the session it is given
    (its first argument), so that check and change happen under one write lock."""

    @functools.wraps(operation)
    def run(session: Session, *args, **kwargs):
        begin_write(session)
        return operation(session, *args, **kwargs)

    return run


@event.listens_for(Session, "after_transaction_end")
def _writing_ends(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(WRITING, None)


def analyze(engine) -> None:
    """Refresh the query planner's statistics (ANALYZE, on SQLite and PostgreSQL) after a bulk load.

    Without them PostgreSQL plans a freshly loaded directory as if every table were empty: a bounding-box
    search then took 4 ms instead of 0.3 ms until autovacuum got round to it."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("ANALYZE")


READS_ONLY = "reads_only"


def read_without_transaction(session: Session) -> bool:
    """Run this session's statements outside a transaction on PostgreSQL, and refuse any write through it,
    until `end_reading`. Returns False (and changes nothing) when the session is already in a transaction.

    Under PostgreSQL's READ COMMITTED each statement already sees what was committed before it began, in
    a transaction or not, so a view that only reads loses nothing and saves the BEGIN and ROLLBACK round
    trips (with them, a search spent more of the server's time on its transaction than on its queries).
    On SQLite the transaction is what keeps a request's reads consistent, so it stays.
    """
    session = _held(session)
    if session.in_transaction():
        return False
    session.info[READS_ONLY] = True
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return True


def end_reading(session: Session) -> None:
    """Back to ordinary transactions after `read_without_transaction` (the connection goes back to the
    pool, which restores its isolation level)."""
    if session.info.pop(READS_ONLY, False):
        session.rollback()


@event.listens_for(Session, "before_flush")
def _refuse_flush_when_reading_only(session: Session, _context, _instances) -> None:
    # Without a transaction each statement of a flush would commit on its own: a half-applied write.
    if session.info.get(READS_ONLY):
        raise RuntimeError("a view declared read-only tried to write")
