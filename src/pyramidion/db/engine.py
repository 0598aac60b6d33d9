"""The database engine: made from ``sqlalchemy.*`` settings, with bounded
waits, dropped connections replaced, and conflicts marked retryable.

Every wait on the database is bounded, so that a database that hangs (a
stopped server, a lock held by a stuck transaction) is answered with a
quick 503 instead of holding a worker thread: connecting
(``connect_timeout``), waiting for a pooled connection (``pool_timeout``),
each statement (PostgreSQL's ``statement_timeout``), each wait for a lock
(``lock_timeout``; SQLite's busy timeout), and a transaction left idle by a
hung process (``idle_in_transaction_session_timeout``). The errors these
bounds raise are SQLAlchemy's ``OperationalError`` and ``TimeoutError``,
which the core's error views answer with 503 and ``Retry-After``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from pyramid_retry import mark_error_retryable
from sqlalchemy import create_engine, engine_from_config, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, InvalidatePoolError
from sqlalchemy.pool import NullPool
from sqlalchemy.util import asbool

from ..errors import ConfigurationError
from .sqlite import (
    SQLITE_BUSY,
    SQLITE_BUSY_SNAPSHOT,
    begins_immediately,
    configure_sqlite,
    ensure_sqlite_directory,
)
from .watchdog import Watchdog, watch_engine

__all__ = [
    "PING_AFTER_IDLE_SECONDS",
    "is_conflict",
    "is_sqlite",
    "make_engine",
    "make_readiness_engine",
    "redacted_url",
    "unbound_statements",
]


def make_engine(
    settings: Mapping[str, Any],
    *,
    connect_timeout: int = 5,
    pool_timeout: int = 10,
    statement_timeout: int = 30,
    lock_timeout: int = 5,
    idle_in_transaction_timeout: int = 60,
) -> Engine:
    """Create the engine from ``sqlalchemy.*`` settings.

    A connection the database dropped does not fail a request: one that sat
    in the pool longer than :data:`PING_AFTER_IDLE_SECONDS` is pinged on
    checkout and replaced if dead, and a statement that finds its
    connection dropped marks its error retryable, so pyramid_retry runs
    the request again on a fresh connection, as it does after a conflict
    with another transaction (see :func:`_mark_retryable_errors`).
    ``sqlalchemy.pool_pre_ping = true`` pings on every checkout instead,
    at the cost of a round trip per request. ``connect_timeout`` bounds how long opening a
    connection may take and ``pool_timeout`` how long a request waits for a
    pooled one, so an unreachable or saturated database is answered with a
    503 quickly instead of hanging. On PostgreSQL every connection is set
    up with ``statement_timeout``, ``lock_timeout`` and
    ``idle_in_transaction_session_timeout`` from the other arguments
    (seconds; 0 leaves that wait unbounded), see
    :func:`bound_postgresql_waits`, and a server that hangs without
    enforcing them has the statement cut off client side a second later
    (:mod:`.watchdog`). SQLite gets WAL, foreign keys, a busy
    timeout of ``lock_timeout`` and real transactions
    (:func:`.sqlite.configure_sqlite`).
    """
    url_text = settings.get("sqlalchemy.url")
    if not url_text:
        raise ConfigurationError(
            "sqlalchemy.url is not set. Add it to the [app:main] section, for "
            "example 'sqlalchemy.url = sqlite:///%(here)s/var/app.sqlite', or "
            "set PYRAMIDION_SQLALCHEMY__URL."
        )
    try:
        url = make_url(url_text)
    except Exception as exc:
        raise ConfigurationError(
            f"sqlalchemy.url is not a database URL: {exc}. Write it as "
            "'postgresql+psycopg://user@host/dbname' or 'sqlite:///path'."
        ) from None
    options = {k: v for k, v in settings.items() if k.startswith("sqlalchemy.")}
    connect_args: dict[str, Any] = {}
    in_memory = url.database in (None, "", ":memory:")
    if not (url.get_backend_name() == "sqlite" and in_memory):
        # An in-memory SQLite database uses a pool without a timeout.
        options.setdefault("sqlalchemy.pool_timeout", str(pool_timeout))
    if url.get_backend_name() == "sqlite":
        ensure_sqlite_directory(url.database)
        connect_args["timeout"] = lock_timeout
    elif url.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = connect_timeout
    try:
        engine = engine_from_config(options, prefix="sqlalchemy.", connect_args=connect_args)
    except Exception as exc:
        raise ConfigurationError(
            f"cannot create the database engine for {url.render_as_string(hide_password=True)}: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    if engine.dialect.name == "sqlite":
        configure_sqlite(engine, in_memory=in_memory, busy_timeout=lock_timeout)
    watchdog = None
    if engine.dialect.name == "postgresql":
        if statement_timeout:
            watchdog = watch_engine(engine, statement_timeout)
        bound_postgresql_waits(
            engine,
            statement_timeout=statement_timeout,
            lock_timeout=lock_timeout,
            idle_in_transaction_timeout=idle_in_transaction_timeout,
            watchdog=watchdog,
        )
    _mark_retryable_errors(engine)
    if not asbool(options.get("sqlalchemy.pool_pre_ping")):
        _ping_idle_connections(engine, watchdog)
    return engine


def make_readiness_engine(engine: Engine, timeout: int) -> Engine:
    """An engine for readiness checks on ``engine``'s database, bounded by
    ``timeout`` seconds for connecting and for each statement.

    On PostgreSQL it is an engine of its own without a pool: a probe waits
    neither for the app's pool, which a hung database fills with waiting
    requests, nor longer than ``timeout`` for its own connection, and
    keeps no connection between probes. Other databases (SQLite, where an
    in-memory database exists once per engine) use ``engine`` itself.
    """
    if engine.dialect.name != "postgresql":
        return engine
    probe = create_engine(
        engine.url, poolclass=NullPool, connect_args={"connect_timeout": timeout}
    )
    bound_postgresql_waits(
        probe,
        statement_timeout=timeout,
        lock_timeout=timeout,
        idle_in_transaction_timeout=timeout,
        watchdog=watch_engine(probe, timeout),
    )
    return probe


def bound_postgresql_waits(
    engine: Engine,
    *,
    statement_timeout: int,
    lock_timeout: int,
    idle_in_transaction_timeout: int,
    watchdog: Watchdog | None = None,
) -> None:
    """Set PostgreSQL's timeouts, in seconds, on every new connection of
    ``engine``; 0 leaves a wait unbounded. ``watchdog`` bounds the
    statements that set them, which the server's own bounds cannot yet.

    They are session settings made once when the connection opens (the
    connect event, as SQLAlchemy's PostgreSQL documentation sets a search
    path), so they cost nothing per request and leave a URL's own
    ``options`` alone. A statement cancelled by one fails with SQLSTATE
    57014 or 55P03, which the driver raises as an ``OperationalError``.
    """
    values = {
        "statement_timeout": statement_timeout,
        "lock_timeout": lock_timeout,
        "idle_in_transaction_session_timeout": idle_in_transaction_timeout,
    }

    @event.listens_for(engine, "connect", insert=True)
    def _set_timeouts(dbapi_connection: Any, _record: Any) -> None:
        autocommit = dbapi_connection.autocommit
        # Outside a transaction, so the settings outlive the first rollback.
        dbapi_connection.autocommit = True
        cursor = dbapi_connection.cursor()
        if watchdog is not None:
            watchdog.arm(dbapi_connection)
        try:
            for name, seconds in values.items():
                cursor.execute(f"SET {name} = {int(seconds) * 1000}")
        finally:
            if watchdog is not None:
                watchdog.disarm(dbapi_connection)
            cursor.close()
        dbapi_connection.autocommit = autocommit


def unbound_statements(connection: Connection) -> None:
    """Lift the statement timeout for the rest of ``connection``'s
    transaction: an operator's command (a migration, an export) may run
    longer than a request should. Lock waits stay bounded, so a migration
    that cannot take its lock fails instead of queueing every request
    behind it."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL statement_timeout = 0")


#: A pooled connection unused for longer than this is pinged before use.
PING_AFTER_IDLE_SECONDS = 10.0

#: Where a pooled connection's record keeps when it was last checked in.
_CHECKED_IN = "pyramidion.checked_in"


def _mark_retryable_errors(engine: Engine) -> None:
    """Mark the errors that running the request again can cure retryable,
    for pyramid_retry.

    - A conflict with another transaction (:func:`is_conflict`).
    - On SQLite, a write refused with ``SQLITE_BUSY`` in a transaction
      begun deferred: SQLite refuses a transaction that has read at once
      when another one holds the write lock. The retry begins with
      ``BEGIN IMMEDIATE`` (:func:`~pyramidion.db.session.request_dbsession`),
      so it waits for the lock; a ``SQLITE_BUSY`` there has waited the
      busy timeout and is answered with a 503.
    - A statement that finds its connection dropped. A connection can die
      between its last use and the next, when the database restarts under
      load; SQLAlchemy then invalidates the pool, and the request runs
      again on a new connection. Nothing was committed, since the
      transaction died with the connection. A dropped ``COMMIT`` is not
      retried: whether it took effect is unknown. Neither is a failure to
      connect (the database is down), which is answered with a 503 at once.
    """

    @event.listens_for(engine, "handle_error")
    def _mark_retryable(context: Any) -> None:
        error = context.sqlalchemy_exception
        if error is None:
            return
        connection = context.connection
        if (
            is_conflict(error)
            or (context.is_disconnect and context.statement is not None and connection is not None)
            or (
                connection is not None
                and getattr(error.orig, "sqlite_errorcode", None) == SQLITE_BUSY
                and not begins_immediately(connection)
            )
        ):
            mark_error_retryable(error)


def _ping_idle_connections(engine: Engine, watchdog: Watchdog | None) -> None:
    """Keep connections the database dropped from failing requests.

    Pinging every connection on checkout (``pool_pre_ping``) costs a round
    trip per request; a dropped connection is almost always one that sat
    idle (the database restarted, a firewall or ``idle_session_timeout``
    closed it), so only those are pinged, and a dead one is replaced along
    with every connection pooled before it.
    """
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _record_checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_CHECKED_IN] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in = record.info.get(_CHECKED_IN)
        if checked_in is None or time.monotonic() - checked_in < PING_AFTER_IDLE_SECONDS:
            return
        if watchdog is not None:
            watchdog.arm(dbapi_connection)
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            dbapi = dialect.loaded_dbapi
            if isinstance(exc, dbapi.Error) and dialect.is_disconnect(exc, dbapi_connection, None):
                # The pool reconnects, after discarding every connection
                # made before this one: a restarted server dropped them all.
                raise InvalidatePoolError(
                    f"the database dropped a pooled connection: {exc}"
                ) from exc
            raise
        finally:
            if watchdog is not None:
                watchdog.disarm(dbapi_connection)


def is_conflict(error: BaseException) -> bool:
    """Whether ``error`` is the database refusing a transaction that ran
    into another one, which can succeed when it is run again.

    PostgreSQL reports these with an SQLSTATE of class 40 (a serialization
    failure, a deadlock), as zope.sqlalchemy and psycopg2 take them.
    SQLite refuses a write after a read once another transaction has
    committed since (it is serializable), with ``SQLITE_BUSY_SNAPSHOT``, at
    once and without waiting; a plain ``SQLITE_BUSY`` has already waited
    ``busy_timeout`` and is not one. Nothing of a refused transaction was
    committed.
    """
    if not isinstance(error, DBAPIError):
        return False
    original = error.orig
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if isinstance(sqlstate, str):
        return sqlstate.startswith("40")
    return getattr(original, "sqlite_errorcode", None) == SQLITE_BUSY_SNAPSHOT


def redacted_url(engine_or_url: Engine | str) -> str:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.render_as_string(hide_password=True)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
