"""The database engine: made from ``sqlalchemy.*`` settings, with bounded
waits, dropped connections replaced, and conflicts marked retryable."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from pyramid_retry import mark_error_retryable
from sqlalchemy import engine_from_config, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, InvalidatePoolError
from sqlalchemy.util import asbool

from ..errors import ConfigurationError
from .sqlite import SQLITE_BUSY_SNAPSHOT, configure_sqlite, ensure_sqlite_directory

__all__ = [
    "PING_AFTER_IDLE_SECONDS",
    "is_conflict",
    "is_sqlite",
    "make_engine",
    "redacted_url",
]


def make_engine(
    settings: Mapping[str, Any], *, connect_timeout: int = 5, pool_timeout: int = 10
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
    503 quickly instead of hanging. SQLite gets WAL, foreign keys, a busy
    timeout and real transactions (:func:`.sqlite.configure_sqlite`).
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
        connect_args["timeout"] = connect_timeout
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
        configure_sqlite(engine, in_memory=in_memory)
    _mark_retryable_errors(engine)
    if not asbool(options.get("sqlalchemy.pool_pre_ping")):
        _ping_idle_connections(engine)
    return engine


#: A pooled connection unused for longer than this is pinged before use.
PING_AFTER_IDLE_SECONDS = 10.0

#: Where a pooled connection's record keeps when it was last checked in.
_CHECKED_IN = "pyramidion.checked_in"


def _mark_retryable_errors(engine: Engine) -> None:
    """Mark the errors that running the request again can cure retryable,
    for pyramid_retry.

    - A conflict with another transaction (:func:`is_conflict`).
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
        if is_conflict(error) or (
            context.is_disconnect
            and context.statement is not None
            and context.connection is not None
        ):
            mark_error_retryable(error)


def _ping_idle_connections(engine: Engine) -> None:
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
