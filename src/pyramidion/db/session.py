"""One session per request, joined to the request's transaction.

``request.dbsession`` is made the first time a request uses it and joined
to ``request.tm`` with zope.sqlalchemy's events (as its ``register()``
adds them, listened to once on the factory): views never
commit; pyramid_tm commits when the view returns a response that is not
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
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from zope.sqlalchemy import ZopeTransactionEvents
from zope.sqlalchemy.datamanager import STATUS_CHANGED

from .sqlite import BEGIN_OPTION

if TYPE_CHECKING:
    from pyramid.registry import Registry
    from pyramid.request import Request
    from transaction import TransactionManager

__all__ = [
    "Database",
    "independent_session",
    "make_session_factory",
    "request_dbsession",
]


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
        events = ZopeTransactionEvents(
            initial_state=STATUS_CHANGED, transaction_manager=transaction_manager
        )
        return self.session_factory(info={TRANSACTION_EVENTS: events})


#: The key of a session's ``info`` that holds the zope.sqlalchemy events
#: joining it to its transaction manager (:meth:`Database.new_session`).
TRANSACTION_EVENTS = "pyramidion.transaction_events"


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """The app's session factory.

    Objects keep their loaded values after the commit, so what a view
    returns can still be rendered once pyramid_tm has committed. Its
    sessions made by :meth:`Database.new_session` join their transaction,
    see :func:`join_transactions`.
    """
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    join_transactions(factory)
    return factory


def join_transactions(factory: sessionmaker[Session]) -> None:
    """Pass the session events of ``factory``'s sessions to the
    ``ZopeTransactionEvents`` each keeps in its ``info``, if any.

    This is what ``zope.sqlalchemy.register(session, ...)`` does for one
    session, with the same events and the same handlers, but listened to
    once on the factory (and so on the factories made from its class, as
    :func:`pyramidion.testing.bind_to_connection` makes them) instead of
    seven listeners added to every request's session, which cost about
    60 µs a request. Sessions without events in ``info``
    (:func:`independent_session`'s) are left alone.
    """

    def events_of(session: Session) -> ZopeTransactionEvents | None:
        return session.info.get(TRANSACTION_EVENTS)

    def after_begin(session: Session, transaction: Any, connection: Any) -> None:
        if (events := events_of(session)) is not None:
            events.after_begin(session, transaction, connection)

    def after_attach(session: Session, instance: Any) -> None:
        if (events := events_of(session)) is not None:
            events.after_attach(session, instance)

    def after_flush(session: Session, flush_context: Any) -> None:
        if (events := events_of(session)) is not None:
            events.after_flush(session, flush_context)

    def after_bulk_update(context: Any) -> None:
        if (events := events_of(context.session)) is not None:
            events.after_bulk_update(context)

    def after_bulk_delete(context: Any) -> None:
        if (events := events_of(context.session)) is not None:
            events.after_bulk_delete(context)

    def before_commit(session: Session) -> None:
        if (events := events_of(session)) is not None:
            events.before_commit(session)

    def do_orm_execute(state: Any) -> None:
        if (events := events_of(state.session)) is not None:
            events.do_orm_execute(state)

    event.listen(factory, "after_begin", after_begin)
    event.listen(factory, "after_attach", after_attach)
    event.listen(factory, "after_flush", after_flush)
    event.listen(factory, "after_bulk_update", after_bulk_update)
    event.listen(factory, "after_bulk_delete", after_bulk_delete)
    event.listen(factory, "before_commit", before_commit)
    event.listen(factory, "do_orm_execute", do_orm_execute)


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
