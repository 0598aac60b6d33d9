"""One session per request, joined to the request's transaction.

``request.dbsession`` is made the first time a request uses it and joined
to ``request.tm`` by zope.sqlalchemy's ``ZopeTransactionEvents``: views
never commit; pyramid_tm commits when the view returns a response that is not
an error, and aborts when it raises or returns a 4xx or 5xx response.

A session joins as changed (``initial_state=STATUS_CHANGED``), so a
transaction it took part in is always committed, never rolled back for
having looked read-only: zope.sqlalchemy's own change tracking sees only
what the ORM flushes, and a write made with ``session.execute(text(...))``,
``session.connection()`` or the driver's own cursor would otherwise be
thrown away without an error. Committing a transaction that only read
costs about what rolling it back does, and on PostgreSQL at the
serializable level it is what confirms that what it read was consistent.

On SQLite, when pyramid_retry runs a request again, its session begins
with ``BEGIN IMMEDIATE`` (see :mod:`.sqlite`): the retry waits for the
write lock before it reads, so two writers that ran into each other
cannot run into each other again.

zope.sqlalchemy's ``register(session)`` adds seven event listeners to each
session it is given, which SQLAlchemy sets up anew for every session: a
tenth of a page's work. The app's sessions are :class:`JoinedSession`
instead, whose class listens once and hands each event to the
``ZopeTransactionEvents`` kept in the session's ``info``: the same
listeners, with the request's own transaction manager, set up once per
process. A session without them in its ``info`` (an
:func:`independent_session`, a script's) joins nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import zope.sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from zope.sqlalchemy import ZopeTransactionEvents
from zope.sqlalchemy.datamanager import STATUS_CHANGED

from .sqlite import BEGIN_OPTION
from .watchdog import bound_session_ending, watchdog_of

if TYPE_CHECKING:
    from pyramid.registry import Registry
    from pyramid.request import Request
    from transaction import TransactionManager

__all__ = [
    "Database",
    "JoinedSession",
    "independent_session",
    "make_session_factory",
    "request_dbsession",
]


#: The key of a session's ``info`` that holds its ``ZopeTransactionEvents``.
TRANSACTION_EVENTS = "pyramidion.transaction_events"


class JoinedSession(Session):
    """A session joined to the transaction manager its ``info`` names.

    zope.sqlalchemy's listeners, registered on this class once rather than
    on every session: each event is handed to the ``ZopeTransactionEvents``
    in ``info[TRANSACTION_EVENTS]``, if any (set by
    :meth:`Database.new_session`).

    On a watched engine (:mod:`.watchdog`), its commits and rollbacks are
    bounded from the moment they begin: a server that hangs while a
    request commits does not hold the request's thread.
    """

    def rollback(self) -> None:
        _bound_ending(self)
        super().rollback()

    def close(self) -> None:
        _bound_ending(self)
        super().close()


#: The key of a session's ``info`` listing the connections of its
#: transaction on watched engines.
_WATCHED = "pyramidion.watched_connections"


def _bound_ending(session: Session) -> None:
    """Bound the commit or rollback ``session`` is about to send."""
    connections = session.info.get(_WATCHED)
    if connections:
        for connection in connections:
            # An invalidated connection has no transaction left to end;
            # reading its DBAPI connection would reconnect.
            if not (connection.closed or connection.invalidated):
                bound_session_ending(connection, session.in_transaction)


def _watch_connection(session: Session, _transaction: Any, connection: Any) -> None:
    if watchdog_of(connection.engine) is not None:
        connections = [c for c in session.info.get(_WATCHED, ()) if not c.closed]
        connections.append(connection)
        session.info[_WATCHED] = connections


def _bound_commit(session: Session) -> None:
    _bound_ending(session)


def _watch_sessions() -> None:
    """Have request sessions bound their commits on watched engines: set up
    with the first such engine's session factory, so that an app whose
    engine is not watched (SQLite) pays nothing for it."""
    if not event.contains(JoinedSession, "after_begin", _watch_connection):
        event.listen(JoinedSession, "after_begin", _watch_connection)
        event.listen(JoinedSession, "before_commit", _bound_commit)


#: The session events zope.sqlalchemy's ``register()`` listens for, each
#: handled by the ``ZopeTransactionEvents`` method of the same name. Checked
#: against zope.sqlalchemy 4.1 by a test that registers a session and fails
#: when an upgrade listens for other events
#: (``tests/test_db.py::test_the_session_class_listens_as_zope_sqlalchemy_registers``).
JOINED_EVENTS = (
    "after_begin",
    "after_attach",
    "after_flush",
    "after_bulk_update",
    "after_bulk_delete",
    "before_commit",
    "do_orm_execute",
)


def _forward(name: str) -> Callable[..., None]:
    """A listener handing event ``name`` to the session's ``ZopeTransactionEvents``."""

    def listener(first: Any, *rest: Any) -> None:
        # The session itself, or the bulk and execute events' context.
        session = first if isinstance(first, Session) else first.session
        events = session.info.get(TRANSACTION_EVENTS)
        if events is not None:
            getattr(events, name)(first, *rest)

    return listener


for _name in JOINED_EVENTS:
    event.listen(JoinedSession, _name, _forward(_name))


@dataclass
class Database:
    """The app's engine and session factory, kept on the registry."""

    engine: Engine
    session_factory: sessionmaker[Session]
    #: What ``/readyz`` reads the database with, on a shorter bound
    #: (:func:`~pyramidion.db.make_readiness_engine`); ``engine`` if unset.
    readiness_engine: Engine | None = None

    def new_session(self, transaction_manager: TransactionManager) -> Session:
        """A session joined to ``transaction_manager`` as changed.

        It joins the manager's transaction when it first runs a statement
        or is given an object, and is committed or aborted, then closed,
        with it.
        """
        session = self.session_factory()
        if isinstance(session, JoinedSession):
            session.info[TRANSACTION_EVENTS] = ZopeTransactionEvents(
                initial_state=STATUS_CHANGED, transaction_manager=transaction_manager
            )
        else:  # a session factory not made by make_session_factory()
            zope.sqlalchemy.register(
                session, initial_state=STATUS_CHANGED, transaction_manager=transaction_manager
            )
        return session


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """The app's session factory.

    Objects keep their loaded values after the commit, so what a view
    returns can still be rendered once pyramid_tm has committed. Its
    sessions are :class:`JoinedSession` objects, which :meth:`Database.new_session`
    joins to a transaction manager without registering listeners on each.
    """
    if watchdog_of(engine) is not None:
        _watch_sessions()
    return sessionmaker(bind=engine, expire_on_commit=False, class_=JoinedSession)


def request_dbsession(request: Request) -> Session:
    """``request.dbsession``: the request's session, made on first use and
    joined to ``request.tm``."""
    database: Database = request.registry.pyramidion_database
    session = database.new_session(request.tm)
    # pyramid_retry numbers its attempts from 0, in environ["retry.attempt"].
    if request.environ.get("retry.attempt") and database.engine.dialect.name == "sqlite":
        bind = session.get_bind()
        if isinstance(bind, Engine):
            session.connection(execution_options={BEGIN_OPTION: True})
    return session


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
