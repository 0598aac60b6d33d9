"""The database: one declarative base, one engine, one session per request.

Every add-on defines its models on :class:`Base`, whose MetaData carries a
naming convention so that constraint names are stable across SQLite and
PostgreSQL and migrations can refer to them. An add-on's tables are named
with its name as prefix (``blog_posts``); start-up checks this.

``request.dbsession`` is created the first time a request uses it and is
joined to ``request.tm`` by zope.sqlalchemy: views never commit, pyramid_tm
commits when the view returns a non-error response and aborts otherwise.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import re
import sys
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyramid_tm
import transaction
from pyramid_retry import mark_error_retryable
from sqlalchemy import MetaData, Table, engine_from_config, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, InvalidatePoolError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.util import asbool
from transaction._transaction import Status as TransactionStatus
from transaction.interfaces import AlreadyInTransaction
from transaction.weakset import WeakSet

from .errors import AddonConflict, ConfigurationError

if TYPE_CHECKING:
    from pyramid.registry import Registry
    from pyramid.request import Request

    from .resolve import Resolution

__all__ = [
    "CORE_TABLE_PREFIX",
    "NAMING_CONVENTION",
    "PING_AFTER_IDLE_SECONDS",
    "SQLITE_BUSY_SNAPSHOT",
    "TRANSACTION_MANAGER_KEY",
    "Base",
    "Database",
    "LazyTransactionManager",
    "check_table_ownership",
    "commit_veto",
    "independent_session",
    "is_conflict",
    "is_sqlite",
    "lazy_transaction_manager",
    "make_engine",
    "make_session_factory",
    "mark_changed",
    "metadata",
    "reads_only",
    "redacted_url",
    "request_dbsession",
    "table_owner",
    "tables_of",
]

#: The database drivers zope.sqlalchemy imports, when it is imported, to
#: recognise their conflict errors.
_DRIVERS_ZOPE_SQLALCHEMY_PROBES = ("psycopg", "psycopg2", "cx_Oracle", "pymysql")


def _import_zope_sqlalchemy() -> Any:
    """``zope.sqlalchemy.datamanager``, without the drivers nothing imported yet.

    zope.sqlalchemy imports every driver it knows when it is imported, so
    that it can tell their conflict errors; psycopg alone is 9 MB of every
    process, which a process serving SQLite never uses. The drivers not
    imported yet are hidden from it (a ``None`` in ``sys.modules`` makes
    ``import`` fail), and the engine marks conflicts retryable itself, for
    the database it talks to (:func:`is_conflict`). This runs when this
    module is first imported, before the application starts any thread.
    """
    hidden = [name for name in _DRIVERS_ZOPE_SQLALCHEMY_PROBES if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        return importlib.import_module("zope.sqlalchemy.datamanager")
    finally:
        for name in hidden:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]


_zope_datamanager = _import_zope_sqlalchemy()

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Base(DeclarativeBase):
    """The declarative base every add-on's models derive from."""

    metadata = metadata


#: The prefix of the core's own tables.
CORE_TABLE_PREFIX = "pyramidion_"


@dataclass
class Database:
    """The app's engine and session factory, kept on the registry."""

    engine: Engine
    session_factory: sessionmaker[Session]

    def new_session(self, transaction_manager: Any) -> Session:
        """A session joined to ``transaction_manager`` (zope.sqlalchemy).

        The session joins the transaction when it first begins one or has
        an object added, and is committed or aborted with it; see
        :func:`make_session_factory`.
        """
        session = self.session_factory()
        session.info[TRANSACTION_MANAGER_KEY] = transaction_manager
        return session


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
    503 quickly instead of hanging. SQLite gets WAL, foreign keys, a busy timeout,
    and real transactions (pysqlite's own transaction handling would not
    make DDL transactional, and migrations rely on it).
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
        _ensure_sqlite_directory(url.database)
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
        _configure_sqlite(engine, in_memory=in_memory)
    _mark_retryable_errors(engine)
    _note_writes(engine, isolation_level=options.get("sqlalchemy.isolation_level"))
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


# -- which transactions wrote ------------------------------------------------

#: Attribute of a connection that a joined session began a transaction on:
#: a weak reference to that session.
_JOINED_SESSION = "_pyramidion_joined_session"


def _note_writes(engine: Engine, *, isolation_level: str | None) -> None:
    """Mark a joined session changed when a statement it runs may write.

    zope.sqlalchemy commits a session marked changed and rolls back one
    that is not, which for a transaction that only read has the same
    effect and costs less (committing was 6.5% of the instructions of
    reading one row by primary key).
    zope.sqlalchemy's own listeners only see what the ORM flushes and the
    ORM's own ``UPDATE`` and ``DELETE`` statements: a write made with
    ``session.execute(text(...))``, ``session.execute(insert(table))`` or
    ``session.connection()`` would be rolled back without an error. So
    the statements are looked at here instead, as the driver is given
    them: every statement on a connection that a joined session began a
    transaction on (:class:`_TransactionEvents`), whoever runs it, marks
    the session changed unless :func:`reads_only` shows that it cannot
    write. A write the driver is handed directly
    (``connection.connection.cursor()``) is not seen: call
    :func:`mark_changed`.

    On PostgreSQL a serializable transaction is committed even when it
    only read: what it read is known to be consistent only once it commits.
    """
    dialect = engine.dialect
    postgresql = dialect.name == "postgresql"
    serializable_default: bool | None = None
    if postgresql and isolation_level:
        serializable_default = _is_serializable(isolation_level)

    def note(statement: str, context: Any) -> None:
        nonlocal serializable_default
        if context is None:
            return
        ref = getattr(context.root_connection, _JOINED_SESSION, None)
        if ref is None:
            return
        if reads_only(statement):
            if not postgresql:
                return
            level = context.execution_options.get("isolation_level")
            if level is None:
                if serializable_default is None:
                    serializable_default = _is_serializable(dialect.default_isolation_level)
                serializable = serializable_default
            else:
                serializable = _is_serializable(level)
            if not serializable:
                return
        session = ref()
        # Only while the session is joined and not yet marked: the
        # statements that end its transaction (a ROLLBACK TO SAVEPOINT on
        # a test's connection) come after zope.sqlalchemy let go of it,
        # and marking it then would join it to the transaction again.
        if session is not None and _joined_state(session) is _zope_datamanager.STATUS_ACTIVE:
            mark_changed(session)

    @event.listens_for(engine, "do_execute")
    def _do_execute(_cursor: Any, statement: str, _parameters: Any, context: Any) -> None:
        note(statement, context)

    @event.listens_for(engine, "do_executemany")
    def _do_executemany(_cursor: Any, statement: str, _parameters: Any, context: Any) -> None:
        note(statement, context)

    @event.listens_for(engine, "do_execute_no_params")
    def _do_execute_no_params(_cursor: Any, statement: str, context: Any) -> None:
        note(statement, context)


def _joined_state(session: Session) -> str | None:
    """zope.sqlalchemy's state of ``session``: ``None`` when it is not joined."""
    state: str | None = _zope_datamanager._SESSION_STATE.get(session)
    return state


def _is_serializable(level: Any) -> bool:
    return str(level).upper().replace("_", " ") == "SERIALIZABLE"


def mark_changed(session: Session) -> None:
    """Have the request's transaction commit ``session``, not roll it back.

    Statements run through SQLAlchemy are noticed when they write (see
    :func:`_note_writes`); call this after writing through the driver's own
    connection. A session not joined to a transaction manager is left alone.
    """
    manager = session.info.get(TRANSACTION_MANAGER_KEY)
    if manager is not None:
        _zope_datamanager.mark_changed(session, manager)


#: Names that may come right before "(" in a SELECT without calling a
#: function that writes: SQL keywords, type names with a length, and the
#: built-in functions of SQLite and PostgreSQL that only compute a value.
_READ_ONLY_CALLS = frozenset(
    """
    select from where and or not in exists values as on using join over filter
    within group by having any all some case when then else like ilike between
    is distinct union intersect except lateral array row limit offset cast
    extract partition
    varchar char character varying numeric decimal timestamp time interval
    float bit
    count sum min max avg total group_concat string_agg array_agg json_agg
    jsonb_agg json_object_agg jsonb_object_agg json_group_array
    json_group_object bool_and bool_or every coalesce nullif ifnull greatest
    least lower upper length char_length character_length octet_length trim
    ltrim rtrim btrim substr substring replace concat concat_ws position instr
    abs round floor ceil ceiling sign mod power sqrt date datetime julianday
    strftime unixepoch date_trunc date_part to_char to_date to_timestamp now
    current_date current_time current_timestamp localtime localtimestamp age
    row_number rank dense_rank percent_rank cume_dist ntile lag lead
    first_value last_value nth_value json_extract json_array_length
    jsonb_array_length json_build_object jsonb_build_object json_build_array
    jsonb_build_array to_json to_jsonb json_typeof jsonb_typeof
    json_extract_path json_extract_path_text jsonb_extract_path
    jsonb_extract_path_text array_length cardinality unnest generate_series
    to_tsvector to_tsquery plainto_tsquery websearch_to_tsquery ts_rank random
    """.split()  # noqa: SIM905 (a list of words reads better as words)
)

# Whatever comes right before an opening parenthesis: a name, maybe
# quoted or qualified, or nothing.
_CALL = re.compile(r"([\w$.\"`\[\]]*)\s*\(")
_INTO = re.compile(r"\binto\b", re.IGNORECASE)


# Statements are few (SQLAlchemy caches their compiled form); the bound
# limits what a stream of different text() statements can take.
@functools.lru_cache(maxsize=2048)
def reads_only(statement: str) -> bool:
    """Whether the SQL ``statement`` surely does not write.

    Only a ``SELECT`` (not ``SELECT ... INTO``) whose every call is of a
    name in :data:`_READ_ONLY_CALLS` does; anything else may, including a
    statement with a comment, a quoted or schema-qualified function, or a
    ``WITH`` (PostgreSQL's may hold an ``INSERT``). A ``SELECT`` of a view
    or through an operator whose definition writes cannot be told from
    one that does not: after one, call :func:`mark_changed`.
    """
    if statement.lstrip(" \t\r\n(")[:6].upper() != "SELECT":
        return False
    if "--" in statement or "/*" in statement or _INTO.search(statement):
        return False
    return all(name.lower() in _READ_ONLY_CALLS for name in _CALL.findall(statement) if name)


#: sqlite3's extended result code for a write on a stale read snapshot.
SQLITE_BUSY_SNAPSHOT = 517


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


def _ensure_sqlite_directory(database: str | None) -> None:
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: Engine, *, in_memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite; _begin_explicitly
        # starts them, so DDL is transactional too.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # BEGIN is the dialect's to send (Dialect.do_begin, a no-op for pysqlite),
    # straight to the driver. A "begin" event listener would do the same,
    # but any connection event makes SQLAlchemy merge the engine's and the
    # connection's listeners for every new connection, which costs more
    # than the statement. A deferred BEGIN takes no lock, so it does not
    # fail for want of one.
    engine.dialect.do_begin = _begin_explicitly  # type: ignore[method-assign]


def _begin_explicitly(dbapi_connection: Any) -> None:
    """``BEGIN``, in one sqlite3 call that lets go of the GIL once.

    ``execute("BEGIN")`` lets go of it twice (to step the statement, then
    to reset it); ``executescript`` prepares, steps and finalizes it in one
    go. Each time a thread lets go of the GIL while others wait for it costs
    context switches: on a served row read by four waitress threads, the
    one saved is worth a few percent of throughput (docs/performance.md).
    ``executescript`` first commits a transaction that is already open.
    None should be, since SQLAlchemy begins only on a connection it ended;
    if one is, ``execute`` refuses with sqlite3's own error rather than
    committing what that transaction holds.
    """
    connection = dbapi_connection.driver_connection
    if connection.in_transaction:
        connection.execute("BEGIN")  # "cannot start a transaction within a transaction"
    else:
        connection.executescript("BEGIN")


class LazyTransactionManager(transaction.TransactionManager):  # type: ignore[misc]
    """An explicit transaction manager that begins a transaction on first use.

    pyramid_tm begins a transaction for every request, and making,
    committing and freeing one costs more than routing a small view (the
    ``transaction`` package even looks up a logger for each). Most
    requests never touch ``request.dbsession`` or ``request.tm``: for them
    ``begin()`` only records that a transaction is due, and ``commit()``
    and ``abort()`` have nothing to finish.

    The first call that needs the transaction (``get()``, and so a session
    joining it, a hook being added, a savepoint, ``doom()``) begins it,
    with the note pyramid_tm gave it. From then on everything is the
    ``transaction`` package's own behaviour: one commit or abort, the
    same data managers, the same retryable errors.
    """

    def __init__(self) -> None:
        # Not the base class's __init__, which makes a set of
        # synchronizers for every manager: a request's manager gets one
        # only if something registers a synchronizer (see registerSynch).
        self.explicit = True
        self._txn: Any = None
        self._pending: _PendingTransaction | None = None
        self._synchs: Any = _NO_SYNCHRONIZERS

    def registerSynch(self, synch: Any) -> None:
        if self._synchs is _NO_SYNCHRONIZERS:
            self._synchs = WeakSet()
            if self._txn is not None:
                # A transaction shares its manager's set, so that it tells
                # a synchronizer registered after it began too.
                self._txn._synchronizers = self._synchs
        super().registerSynch(synch)

    def begin(self) -> Any:
        if self._txn is not None or self._pending is not None:
            raise AlreadyInTransaction()
        self._pending = _PendingTransaction(self)
        return self._pending

    def get(self) -> Any:
        pending = self._pending
        if pending is not None:
            self._pending = None
            txn = super().begin()
            if pending.user is not None:
                txn.user = pending.user
            for text in pending.notes:
                txn.note(text)
            return txn
        return super().get()

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is begun, whether or not it was used yet."""
        return self._pending is not None or self._txn is not None

    def isDoomed(self) -> bool:
        if self._pending is not None:
            return False
        return bool(super().isDoomed())

    def commit(self) -> None:
        if self._pending is not None:
            self._pending = None
            return
        super().commit()

    def abort(self) -> None:
        if self._pending is not None:
            self._pending = None
            return
        super().abort()


class _NoSynchronizers:
    """The synchronizers of a manager nothing registered one with: none.

    Answers what a :class:`transaction.TransactionManager` and its
    transactions ask of their set of synchronizers, for an empty set,
    without making one per transaction and mapping over it three times.
    """

    def __bool__(self) -> bool:
        return False

    def map(self, _f: Any) -> None:
        pass

    def clear(self) -> None:
        pass

    def remove(self, synch: Any) -> None:
        raise KeyError(synch)


_NO_SYNCHRONIZERS = _NoSynchronizers()


class _PendingTransaction:
    """What ``LazyTransactionManager.begin()`` returns until the work starts.

    It keeps the note and user pyramid_tm sets on every transaction; any
    other use begins the real transaction and is passed on to it.
    """

    def __init__(self, manager: LazyTransactionManager) -> None:
        self._manager = manager
        self.notes: list[str] = []
        self.user: str | None = None

    def note(self, text: str) -> None:
        if self._manager._pending is self:
            self.notes.append(text)
        else:
            self._manager.get().note(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._manager.get(), name)


def lazy_transaction_manager(request: Request) -> LazyTransactionManager:
    """``tm.manager_hook``: a :class:`LazyTransactionManager` per request."""
    return LazyTransactionManager()


def commit_veto(request: Request, response: Any) -> bool:
    """``tm.commit_veto``: pyramid_tm's default, asked only when there is work.

    A request whose transaction never began (see
    :class:`LazyTransactionManager`) has nothing to commit or abort, so
    the response's status and ``X-Tm`` header need not be looked at.
    Otherwise the transaction is aborted on a 4xx or 5xx response, or as
    ``X-Tm`` says, exactly as by ``pyramid_tm.default_commit_veto``.
    """
    manager = request.tm
    if isinstance(manager, LazyTransactionManager) and manager._pending is not None:
        return False
    return bool(pyramid_tm.default_commit_veto(request, response))


#: ``session.info`` key of the transaction manager a session is joined to.
TRANSACTION_MANAGER_KEY = "pyramidion.transaction_manager"


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """The session factory, with zope.sqlalchemy's events registered once.

    ``zope.sqlalchemy.register(session, ...)`` adds seven event listeners
    to each session it is given, which costs more than the query of a
    small request. The same listeners are registered here once, on the
    factory's class, and find the transaction manager in
    ``session.info`` (:meth:`Database.new_session` puts it there). A
    session without one (:func:`independent_session`, a test's own
    session) is left alone. Joined sessions get zope.sqlalchemy's own data
    manager, so commit order, two-phase commit and retryable errors are
    unchanged.

    zope.sqlalchemy also listens to flushes, bulk updates and deletes and
    every ORM statement, to mark a session changed once it writes. Those
    miss writes made with plain SQL, so the engine marks the session
    instead, from the statements themselves (:func:`_note_writes`); and a
    ``do_orm_execute`` listener makes SQLAlchemy build an execution state
    for every statement.
    """
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    events = _TransactionEvents()
    for name in ("after_begin", "after_attach", "before_commit"):
        event.listen(factory, name, getattr(events, name))
    return factory


class _TransactionEvents:
    """zope.sqlalchemy's ``ZopeTransactionEvents``, for the manager in ``session.info``.

    A session joins the request's transaction when it first gets a
    connection (``after_begin``: every statement, flush and bulk operation
    needs one) or is given an object (``after_attach``: ``session.add()``
    before any SQL, which the commit will flush).

    A session joins as not changed, so that a transaction that only read
    is rolled back rather than committed. The connection it begins a
    transaction on keeps a weak reference to it, through which the engine
    marks it changed when a statement may write (:func:`_note_writes`).
    """

    def _join(self, session: Session) -> bool:
        manager = session.info.get(TRANSACTION_MANAGER_KEY)
        if manager is None:
            return False
        _zope_datamanager.join_transaction(session, _zope_datamanager.STATUS_ACTIVE, manager)
        return True

    def after_begin(self, session: Session, _transaction: Any, connection: Any) -> None:
        if self._join(session):
            setattr(connection, _JOINED_SESSION, weakref.ref(session))

    def after_attach(self, session: Session, _instance: Any) -> None:
        self._join(session)

    def before_commit(self, session: Session) -> None:
        manager = session.info.get(TRANSACTION_MANAGER_KEY)
        if manager is None or session.in_nested_transaction():
            return
        assert manager.get().status == TransactionStatus.COMMITTING, (
            "Transaction must be committed using the transaction manager"
        )


def request_dbsession(request: Request) -> Session:
    """``request.dbsession``: the request's session, made on first use."""
    database: Database = request.registry.pyramidion_database
    return database.new_session(request.tm)


@contextlib.contextmanager
def independent_session(registry: Registry) -> Iterator[Session]:
    """A session in a transaction of its own, committed when the block ends.

    For the few records that must outlive the request's transaction, such
    as counters of failed logins, which an aborted request must not undo::

        with independent_session(request.registry) as session:
            session.execute(update(...))

    The block commits on success and rolls back if it raises, whatever the
    request's transaction does later. It uses its own connection, so on
    SQLite, where one writer waits for another, write here before the
    request's session writes, never after. Under the test kit it runs in
    a savepoint of the test's transaction, and is rolled back with it.
    """
    database: Database = registry.pyramidion_database
    session = database.session_factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# -- table ownership -------------------------------------------------------


def table_owner(table_name: str, addon_names: Iterable[str]) -> str | None:
    """The add-on that owns a table by prefix (longest match), or None."""
    best: str | None = None
    for name in addon_names:
        if table_name.startswith(name + "_") and (best is None or len(name) > len(best)):
            best = name
    return best


def tables_of(addon_name: str, addon_names: Iterable[str]) -> list[Table]:
    """The tables on :data:`metadata` that belong to ``addon_name``."""
    names = list(addon_names)
    return [t for t in metadata.sorted_tables if table_owner(t.name, names) == addon_name]


def check_table_ownership(resolution: Resolution, model_packages: Mapping[str, str]) -> None:
    """Check that every mapped table of an enabled add-on carries its prefix.

    ``model_packages`` maps an add-on name to the top-level package its
    models live in. A model class in add-on A whose table is named for
    add-on B, or for no add-on, is an :class:`AddonConflict`.
    """
    names = [*resolution.names, "pyramidion"]
    by_package = {pkg: name for name, pkg in model_packages.items()}
    problems = []
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        package = cls.__module__.split(".", 1)[0]
        claimant = by_package.get(package)
        if claimant is None:
            continue
        for table in mapper.tables:
            owner = table_owner(table.name, names)
            if owner == claimant:
                continue
            if owner is None:
                problems.append(
                    f"add-on '{claimant}' maps {cls.__module__}.{cls.__name__} to "
                    f"table '{table.name}', which does not start with "
                    f"'{claimant}_'. Rename the table to '{claimant}_{table.name}'."
                )
            else:
                problems.append(
                    f"add-on '{claimant}' maps {cls.__module__}.{cls.__name__} to "
                    f"table '{table.name}', which belongs to add-on '{owner}' "
                    f"(tables named '{owner}_...'). Two add-ons cannot claim "
                    "the same table; rename it with the prefix "
                    f"'{claimant}_'."
                )
    if problems:
        raise AddonConflict("\n".join(problems))


def redacted_url(engine_or_url: Engine | str) -> str:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.render_as_string(hide_password=True)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
