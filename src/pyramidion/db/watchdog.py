"""A bound on waits that the database server cannot enforce itself.

PostgreSQL's ``statement_timeout`` is enforced by the server. A server
that hangs (stopped with SIGSTOP, frozen by its storage, cut off by a
network that still accepts packets) enforces nothing, and the client,
whose socket stays open, waits for an answer that never comes. The
watchdog bounds that wait from the client side: a connection's wait is
armed with a deadline when a statement or the pool's reset or ping of a
connection begins, and disarmed when it ends; a request session's commit
or rollback is bounded from its start (:func:`bound_session_ending`); a
wait still armed past its deadline has its socket shut down, so the
driver's wait ends at once with an error that SQLAlchemy
reports as a dropped connection (an ``OperationalError``, answered with
503), and the connection is discarded.

Statements are armed by handlers of SQLAlchemy's dialect events
(``do_execute`` and its two siblings), which run the statement between
arming and disarming. SQLAlchemy's connection events (``before_cursor_execute``,
``commit``) would be simpler, but any connection event sends every
execution, commit and rollback of the engine through SQLAlchemy's event
machinery, which cost a page on PostgreSQL 5% of its instructions;
dialect and pool events do not.

The deadline is the server's own bound plus a grace period, so a server
that answers cancels the statement itself and keeps the connection.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

__all__ = ["Watchdog", "watch_engine", "watchdog_of"]

#: How much longer than the server's bound the client waits.
GRACE_SECONDS = 1.0

#: How often the watchdog's thread looks for waits past their deadline.
CHECK_INTERVAL = 0.1


class Watchdog:
    """Shuts down the sockets of database connections whose wait has
    outlived its deadline.

    One daemon thread per watchdog, started with the first armed wait.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._deadlines: dict[int, tuple[float, Any, Callable[[], bool] | None]] = {}
        #: Connections whose commit or rollback is to come, with whether
        #: it is still going on (see :meth:`expect_ending`).
        self._endings: dict[int, Callable[[], bool]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def arm(self, dbapi_connection: Any, waiting: Callable[[], bool] | None = None) -> None:
        """Start bounding ``dbapi_connection``'s current wait.

        ``waiting``, when given, says whether the wait is still going on
        at the deadline, for waits whose end has no event (a commit).
        """
        deadline = time.monotonic() + self.seconds
        with self._lock:
            self._deadlines[id(dbapi_connection)] = (deadline, dbapi_connection, waiting)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="pyramidion-db-watchdog", daemon=True
                )
                self._thread.start()

    def disarm(self, dbapi_connection: Any) -> None:
        """``dbapi_connection``'s wait is over.

        If its commit or rollback is expected (:meth:`expect_ending`), that
        is bounded again, from now.
        """
        key = id(dbapi_connection)
        with self._lock:
            ending = self._endings.get(key)
            if ending is None:
                self._deadlines.pop(key, None)
            else:
                deadline = time.monotonic() + self.seconds
                self._deadlines[key] = (deadline, dbapi_connection, ending)

    def expect_ending(self, dbapi_connection: Any, waiting: Callable[[], bool]) -> None:
        """Bound ``dbapi_connection``'s commit or rollback, about to begin.

        Statements run before it (a flush) are bounded on their own, and
        the ending's bound starts again when each is over. ``waiting``
        says, at the deadline, whether the commit or rollback is still
        going on. Over when the connection goes back to the pool
        (:meth:`release`).
        """
        key = id(dbapi_connection)
        with self._lock:
            self._endings[key] = waiting
        self.arm(dbapi_connection, waiting)

    def release(self, dbapi_connection: Any) -> None:
        """``dbapi_connection`` is back in the pool: nothing of it is bounded."""
        key = id(dbapi_connection)
        with self._lock:
            self._deadlines.pop(key, None)
            self._endings.pop(key, None)

    def _run(self) -> None:
        while True:
            time.sleep(CHECK_INTERVAL)
            now = time.monotonic()
            with self._lock:
                expired = [(c, w) for d, c, w in self._deadlines.values() if d <= now]
                for dbapi_connection, _waiting in expired:
                    del self._deadlines[id(dbapi_connection)]
                    self._endings.pop(id(dbapi_connection), None)
            for dbapi_connection, waiting in expired:
                if waiting is None or waiting():
                    _shut_down(dbapi_connection)


def _shut_down(dbapi_connection: Any) -> None:
    # shutdown() acts on the socket, not on the descriptor: shutting down
    # a duplicate of the driver's descriptor ends the driver's own wait,
    # and closing the duplicate leaves the driver's descriptor to it.
    # A connection the driver has closed already may refuse ``fileno()``
    # with the driver's own error: there is nothing left to cut off.
    with (
        contextlib.suppress(Exception),
        socket.socket(fileno=os.dup(dbapi_connection.fileno())) as sock,
    ):
        sock.shutdown(socket.SHUT_RDWR)


#: Each watched engine's watchdog, for :func:`watchdog_of`.
_WATCHDOGS: weakref.WeakKeyDictionary[Engine, Watchdog] = weakref.WeakKeyDictionary()


def watchdog_of(engine: Engine) -> Watchdog | None:
    """The watchdog of ``engine``, if :func:`watch_engine` watches it."""
    return _WATCHDOGS.get(engine)


def watch_engine(engine: Engine, seconds: float) -> Watchdog:
    """Bound every statement of ``engine``'s connections, and the pool's
    reset of a returned connection, by ``seconds`` plus
    :data:`GRACE_SECONDS`, client side; a request session's commit and
    rollback are bounded by :func:`bound_session_ending`.
    """
    watchdog = Watchdog(seconds + GRACE_SECONDS)
    _WATCHDOGS[engine] = watchdog
    dialect = engine.dialect

    def armed(run: Callable[..., None]) -> Callable[..., bool]:
        """A handler of a ``do_execute`` event that runs the statement with
        the dialect's own ``run``, armed, and says so by returning True."""

        def handler(cursor: Any, *arguments: Any) -> bool:
            dbapi_connection = cursor.connection
            watchdog.arm(dbapi_connection)
            try:
                run(cursor, *arguments)
            finally:
                watchdog.disarm(dbapi_connection)
            return True

        return handler

    def arm_reset(dbapi_connection: Any, *_args: Any) -> None:
        watchdog.arm(dbapi_connection)

    event.listen(engine, "do_execute", armed(dialect.do_execute))
    event.listen(engine, "do_executemany", armed(dialect.do_executemany))
    event.listen(engine, "do_execute_no_params", armed(dialect.do_execute_no_params))
    # The pool rolls a returned connection back ("reset"), then takes it
    # back ("checkin"): by then every wait of the connection is over.
    event.listen(engine.pool, "reset", arm_reset)
    event.listen(engine, "handle_error", _disarm_on_error(watchdog))

    def release_checked_in(dbapi_connection: Any, _record: Any) -> None:
        watchdog.release(dbapi_connection)

    event.listen(engine, "checkin", release_checked_in)
    return watchdog


def bound_session_ending(connection: Connection, waiting: Callable[[], bool]) -> None:
    """Bound the commit or rollback about to be sent on ``connection``, if
    its engine is watched; ``waiting`` says whether it is still going on.

    Called by the request sessions (:class:`~pyramidion.db.session.JoinedSession`)
    before they commit, roll back or close.
    """
    watchdog = _WATCHDOGS.get(connection.engine)
    if watchdog is not None:
        with contextlib.suppress(Exception):
            watchdog.expect_ending(connection.connection.dbapi_connection, waiting)


def _disarm_on_error(watchdog: Watchdog) -> Any:
    def disarm(context: Any) -> None:
        connection = context.connection
        if connection is None:
            return
        with contextlib.suppress(Exception):
            watchdog.disarm(connection.connection.dbapi_connection)

    return disarm
