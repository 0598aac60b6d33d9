"""SQLite as the embedded database: WAL, foreign keys, a busy timeout, and
real transactions.

pysqlite (Python's ``sqlite3``) begins a transaction only before a
statement that writes, and commits one before DDL. So a request that
reads, then writes, would read outside any transaction (no snapshot: two
reads could see different data) and could overwrite a change committed
in between (a lost update); and a migration would not be rolled back as a
whole. SQLAlchemy's documented recipe for pysqlite ("Serializable isolation
/ Savepoints / Transactional DDL") takes transaction control away from the
driver and sends ``BEGIN`` itself; here it is sent before the
transaction's first statement (:func:`configure_sqlite`).

A transaction then reads one snapshot, and SQLite refuses a write on a
snapshot another transaction has committed over with
``SQLITE_BUSY_SNAPSHOT`` (:data:`SQLITE_BUSY_SNAPSHOT`), which the engine
marks retryable, so pyramid_retry runs the request again on fresh data.

A transaction that has read and then writes while another one holds the
write lock is refused at once with a plain ``SQLITE_BUSY``: SQLite does not
wait there, since waiting could deadlock. That is a conflict too, but
running the request again with another deferred ``BEGIN`` can be refused
the same way, at once, as long as the other writer is still busy. So a
request's retry begins with ``BEGIN IMMEDIATE`` (:data:`BEGIN_OPTION`):
it waits for the write lock, up to the busy timeout, before it reads, and
then cannot be refused for a stale snapshot. The first attempt stays
deferred, so that concurrent readers never queue behind one another.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

__all__ = [
    "BEGIN_OPTION",
    "SQLITE_BUSY",
    "SQLITE_BUSY_SNAPSHOT",
    "begins_immediately",
    "configure_sqlite",
    "ensure_sqlite_directory",
]

#: sqlite3's result code for a lock it could not take.
SQLITE_BUSY = 5
#: sqlite3's extended result code for a write on a stale read snapshot.
SQLITE_BUSY_SNAPSHOT = 517
#: The execution option that makes a connection's transactions begin with
#: ``BEGIN IMMEDIATE``, taking the write lock before the first statement.
BEGIN_OPTION = "pyramidion_sqlite_begin_immediate"


def ensure_sqlite_directory(database: str | None) -> None:
    """Create the directory a database file is to be made in."""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def configure_sqlite(engine: Engine, *, in_memory: bool, busy_timeout: int = 5) -> None:
    """Set up every connection of ``engine`` and begin real transactions.

    A statement waits at most ``busy_timeout`` seconds for another
    connection's lock before it fails with ``database is locked``.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite: the handlers below
        # send BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout) * 1000}")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # The transaction begins with the first statement, as psycopg begins
    # one on PostgreSQL: a handler of SQLAlchemy's ``do_execute`` dialect
    # events (and their two siblings) sends ``BEGIN`` to the driver's
    # connection when it is not in a transaction yet. A refusal (a ``BEGIN
    # IMMEDIATE`` that waited the busy timeout for the write lock) is
    # raised from the statement's execution, so SQLAlchemy raises it as its
    # own error, for the error views and pyramid_retry to see.
    #
    # SQLAlchemy's pysqlite recipe begins in a ``begin`` connection event
    # instead; any connection event sends every execution, commit and
    # rollback through SQLAlchemy's event machinery, which cost a page 3%
    # of its instructions. Dialect events do not.
    def _begin_before(cursor: Any, _statement: Any, _parameters: Any, context: Any) -> None:
        dbapi_connection = cursor.connection
        if not dbapi_connection.in_transaction:
            immediate = context.execution_options.get(BEGIN_OPTION)
            dbapi_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")

    def _begin_before_no_params(cursor: Any, statement: Any, context: Any) -> None:
        _begin_before(cursor, statement, None, context)

    event.listen(engine, "do_execute", _begin_before)
    event.listen(engine, "do_executemany", _begin_before)
    event.listen(engine, "do_execute_no_params", _begin_before_no_params)


def begins_immediately(connection: Connection) -> bool:
    """Whether ``connection``'s transactions take the write lock when they begin."""
    return bool(connection.get_execution_options().get(BEGIN_OPTION))
