"""A bound on waits that the database server cannot enforce itself.

PostgreSQL's ``statement_timeout`` is enforced by the server. A server
that hangs (stopped with SIGSTOP, frozen by its storage, cut off by a
network that still accepts packets) enforces nothing, and the client,
whose socket stays open, waits for an answer that never comes. The
watchdog bounds that wait from the client side: a connection's wait is
armed with a deadline when a statement, a commit, a rollback or the
pool's reset or ping of a connection begins, and disarmed when it ends; a
wait still armed past its deadline has its socket shut down, so the
driver's wait ends at once with an error that SQLAlchemy
reports as a dropped connection (an ``OperationalError``, answered with
503), and the connection is discarded.

The deadline is the server's own bound plus a grace period, so a server
that answers cancels the statement itself and keeps the connection.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

__all__ = ["Watchdog", "watch_engine"]

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
        """``dbapi_connection``'s wait is over."""
        with self._lock:
            self._deadlines.pop(id(dbapi_connection), None)

    def _run(self) -> None:
        while True:
            time.sleep(CHECK_INTERVAL)
            now = time.monotonic()
            with self._lock:
                expired = [(c, w) for d, c, w in self._deadlines.values() if d <= now]
                for dbapi_connection, _waiting in expired:
                    del self._deadlines[id(dbapi_connection)]
            for dbapi_connection, waiting in expired:
                if waiting is None or waiting():
                    _shut_down(dbapi_connection)


def _shut_down(dbapi_connection: Any) -> None:
    # shutdown() acts on the socket, not on the descriptor: shutting down
    # a duplicate of the driver's descriptor ends the driver's own wait,
    # and closing the duplicate leaves the driver's descriptor to it.
    with (
        contextlib.suppress(OSError, ValueError),
        socket.socket(fileno=os.dup(dbapi_connection.fileno())) as sock,
    ):
        sock.shutdown(socket.SHUT_RDWR)


def watch_engine(engine: Engine, seconds: float) -> Watchdog:
    """Bound every statement, commit and rollback of ``engine``'s
    connections, and the pool's reset of a returned connection, by
    ``seconds`` plus :data:`GRACE_SECONDS`, client side.

    SQLAlchemy has no event after a commit or a rollback; at the deadline
    such a wait counts as over once the connection is out of its
    transaction (``Connection.in_transaction()``), so a connection left
    idle after its commit is never shut down.
    """
    watchdog = Watchdog(seconds + GRACE_SECONDS)

    def arm_connection(conn: Any, *_args: Any) -> None:
        with contextlib.suppress(Exception):
            watchdog.arm(conn.connection.dbapi_connection)

    def disarm_connection(conn: Any, *_args: Any) -> None:
        with contextlib.suppress(Exception):
            watchdog.disarm(conn.connection.dbapi_connection)

    def arm_ending(conn: Any, *_args: Any) -> None:
        with contextlib.suppress(Exception):
            watchdog.arm(conn.connection.dbapi_connection, conn.in_transaction)

    def arm_reset(dbapi_connection: Any, *_args: Any) -> None:
        watchdog.arm(dbapi_connection)

    event.listen(engine, "before_cursor_execute", arm_connection)
    event.listen(engine, "after_cursor_execute", disarm_connection)
    event.listen(engine, "commit", arm_ending)
    event.listen(engine, "rollback", arm_ending)
    # The pool rolls a returned connection back ("reset"), then takes it
    # back ("checkin"): by then every wait of the connection is over.
    event.listen(engine.pool, "reset", arm_reset)
    event.listen(engine, "handle_error", _disarm_on_error(watchdog))

    def disarm_checked_in(dbapi_connection: Any, _record: Any) -> None:
        watchdog.disarm(dbapi_connection)

    event.listen(engine, "checkin", disarm_checked_in)
    return watchdog


def _disarm_on_error(watchdog: Watchdog) -> Any:
    def disarm(context: Any) -> None:
        connection = context.connection
        if connection is None:
            return
        with contextlib.suppress(Exception):
            watchdog.disarm(connection.connection.dbapi_connection)

    return disarm
