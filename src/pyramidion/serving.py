"""Serving an app with waitress, and shutting down without dropping a request.

waitress on its own stops at once on SIGTERM: requests in flight are cut
off. :func:`serve_until_stopped` runs waitress's server (made with its
public ``create_server``, run with ``run()``) in a thread and waits for
SIGTERM or SIGINT in the main thread; then it drains:

1. ``/readyz`` answers 503 at once (:func:`pyramidion.web.mark_draining`);
2. on SIGTERM, the process keeps serving for ``delay`` seconds, so a load
   balancer that follows ``/readyz`` takes it out of rotation before it
   goes (SIGINT, Ctrl-C at a terminal, skips this);
3. it waits, at most until ``timeout`` seconds after the signal, until no
   request is in flight, as counted by :class:`RequestsInFlight` around the
   app, and then :data:`FLUSH_GRACE` seconds more without a request, so
   that waitress's loop sends what the last responses wrote;
4. it returns 0, the exit status; the process exits, closing the listening
   socket and the idle connections.

Everything here is waitress's documented API or ours: the drain counts
requests itself, around the app, instead of reading waitress's worker
pool. One behaviour of waitress it relies on is not written in its
documentation: its worker threads are daemon threads, so they do not keep
a returning process alive (checked against waitress 3.0;
tests/test_serving.py fails if that changes, and a drain that finds a
thread that would keep the process alive says so in the log).

With ``health_listen``, a second waitress server with threads of its own
answers ``/healthz`` there (and ``/readyz``, through the app), so a
liveness probe is answered even while every worker thread of the app
waits on the database.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

__all__ = ["FLUSH_GRACE", "RequestsInFlight", "drain", "serve_until_stopped"]

log = logging.getLogger("pyramidion.serve")

#: Seconds without a request in flight before the process exits. A
#: response's last bytes leave after the app's iterable is closed: waitress
#: hands them to its loop thread, which writes them to the socket on its
#: next turn (milliseconds). The same quiet spell lets a request that
#: waitress has read but not yet passed to the app begin, and be waited for.
FLUSH_GRACE = 0.25

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class RequestsInFlight:
    """WSGI middleware that counts the requests ``app`` is serving.

    A request is in flight from the call of the app until the server closes
    its response (the WSGI iterable's ``close()``, which waitress calls
    once the body is written or the client went away), or until the app
    raises.
    """

    def __init__(self, app: WSGIApp, clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self._clock = clock
        self._count = 0
        self._last_change = clock()
        self._changed = threading.Condition()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        self._add(1)
        try:
            result = self.app(environ, start_response)
        except BaseException:
            self._add(-1)
            raise
        return _ClosingIterable(result, lambda: self._add(-1))

    @property
    def count(self) -> int:
        """How many requests are in flight now."""
        with self._changed:
            return self._count

    def wait_until_idle(self, timeout: float, quiet: float = 0.0) -> bool:
        """Wait until no request has been in flight for ``quiet`` seconds, at
        most ``timeout`` seconds. True when that happened, False when the
        time ran out with requests still in flight (or one just finished)."""
        deadline = self._clock() + timeout
        with self._changed:
            while True:
                now = self._clock()
                if self._count == 0:
                    quiet_until = self._last_change + quiet
                    if now >= quiet_until:
                        return True
                    wake = min(quiet_until, deadline)
                else:
                    wake = deadline
                if now >= deadline:
                    return False
                self._changed.wait(wake - now)

    def _add(self, change: int) -> None:
        with self._changed:
            self._count += change
            self._last_change = self._clock()
            self._changed.notify_all()


class _ClosingIterable:
    """``result``, calling ``on_close`` once when the server closes it."""

    def __init__(self, result: Iterable[bytes], on_close: Callable[[], None]) -> None:
        self._result = result
        self._on_close: Callable[[], None] | None = on_close

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._result)

    def close(self) -> None:
        try:
            close = getattr(self._result, "close", None)
            if close is not None:
                close()
        finally:
            on_close, self._on_close = self._on_close, None
            if on_close is not None:
                on_close()


def drain(
    in_flight: RequestsInFlight,
    *,
    delay: float,
    timeout: float,
    interrupted: threading.Event,
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """Keep serving for ``delay`` seconds (cut short when ``interrupted`` is
    set), then wait until no request is in flight, for
    :data:`FLUSH_GRACE` seconds, all within ``timeout`` seconds of the
    call. True when every request finished, False when time ran out."""
    started = clock()
    if delay > 0:
        interrupted.wait(min(delay, timeout))
    remaining = max(0.0, timeout - (clock() - started))
    return in_flight.wait_until_idle(remaining, quiet=FLUSH_GRACE)


def serve_until_stopped(
    app: Any,
    server_settings: Mapping[str, str],
    *,
    delay: float,
    timeout: float,
    on_drain: Callable[[], None] = lambda: None,
    health_listen: str | None = None,
) -> int:
    """Serve ``app`` with waitress (``server_settings`` are waitress's
    options, as in ``[server:main]``) until SIGTERM or SIGINT, then drain
    (see the module's docstring), calling ``on_drain`` first. Returns the
    exit status: 0 after a drain, 1 if the server stopped by itself."""
    import waitress

    in_flight = RequestsInFlight(app)
    server = waitress.create_server(in_flight, **server_settings)
    received: list[int] = []
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        received.append(signum)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    server.print_listen("Serving on http://{}:{}")
    loop = threading.Thread(target=server.run, name="waitress-loop", daemon=True)
    loop.start()
    if health_listen:
        health = waitress.create_server(
            _health_app(in_flight), listen=health_listen, threads=2, ident="pyramidion-health"
        )
        health.print_listen("Health checks on http://{}:{}")
        threading.Thread(target=health.run, name="waitress-health", daemon=True).start()
    while not stop.wait(1.0):
        if not loop.is_alive():
            log.error("the server stopped by itself")
            return 1
    started = time.monotonic()
    first = received[0]
    log.info(
        "%s received: draining (readiness 503, up to %s s for requests in flight)",
        signal.Signals(first).name,
        timeout,
    )
    on_drain()
    # Another SIGTERM or a SIGINT cuts the delay short.
    stop.clear()
    finished = drain(
        in_flight,
        delay=delay if first == signal.SIGTERM else 0,
        timeout=timeout,
        interrupted=stop,
    )
    if not finished:
        log.warning(
            "exiting with %d request(s) still in flight after %s s", in_flight.count, timeout
        )
    _warn_about_lingering_threads()
    log.info("drained in %.1f s; exiting", time.monotonic() - started)
    return 0


def _warn_about_lingering_threads() -> None:
    """Name the threads that would keep the process from exiting: the
    drain relies on waitress's threads (and ours) being daemon threads."""
    lingering = [
        thread.name
        for thread in threading.enumerate()
        if not thread.daemon and thread is not threading.main_thread()
    ]
    if lingering:
        log.warning(
            "threads that are not daemon threads may keep the process from exiting: %s",
            ", ".join(lingering),
        )


def _health_app(app: Any) -> Callable[..., Any]:
    """A WSGI app that answers ``/healthz`` itself (no I/O, as the core's
    view) and hands ``/readyz`` to ``app``; anything else is 404."""

    def health(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == "/readyz":
            return app(environ, start_response)
        if path == "/healthz":
            body = b'{"status": "ok"}'
            status = "200 OK"
        else:
            body = b'{"status": "not found"}'
            status = "404 Not Found"
        start_response(
            status,
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"),
            ],
        )
        return [body]

    return health
