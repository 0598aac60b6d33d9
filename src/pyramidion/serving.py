"""Serving an app with waitress, and shutting down without dropping a request.

waitress on its own stops at once on SIGTERM: requests in flight are cut
off. :func:`serve_until_stopped` runs waitress's server (made with its
public ``create_server``) in a thread and waits for SIGTERM or SIGINT in
the main thread; then it drains:

1. ``/readyz`` answers 503 at once (:func:`pyramidion.web.mark_draining`);
2. on SIGTERM, the process keeps accepting requests for ``delay`` seconds,
   so a load balancer that follows ``/readyz`` takes it out of rotation
   before it stops listening (SIGINT, Ctrl-C at a terminal, skips this);
3. it stops listening, and waits, at most until ``timeout`` seconds after
   the signal, until waitress's workers have no request left to serve;
4. it lets waitress's loop send what the last requests wrote, and returns
   0, the exit status.

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
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["serve_until_stopped"]

log = logging.getLogger("pyramidion.serve")

#: How often the drain looks whether waitress's workers are done.
_POLL_SECONDS = 0.05


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

    server = waitress.create_server(app, **server_settings)
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
            _health_app(app), listen=health_listen, threads=2, ident="pyramidion-health"
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
    if first == signal.SIGTERM and delay > 0:
        # Another SIGTERM or a SIGINT cuts the delay short.
        stop.clear()
        stop.wait(min(delay, timeout))
    _in_loop(server, lambda: _stop_listening(server), timeout=1.0)
    dispatcher = server.task_dispatcher
    deadline = started + timeout
    # waitress has no event for an idle worker pool; its counters are read.
    while (dispatcher.active_count > 0 or dispatcher.queue) and time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)
    if dispatcher.active_count > 0 or dispatcher.queue:
        log.warning("exiting with requests still in flight after %s s", timeout)
    # Two turns of waitress's loop send what the last responses wrote.
    for _ in range(2):
        _in_loop(server, lambda: None, timeout=1.0)
    log.info("drained in %.1f s; exiting", time.monotonic() - started)
    return 0


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


def _stop_listening(server: Any) -> None:
    """Close the listening socket(s); connections already open stay."""
    if hasattr(server, "del_channel"):
        server.del_channel()
        server.socket.close()


def _in_loop(server: Any, thunk: Callable[[], None], *, timeout: float) -> None:
    """Run ``thunk`` in waitress's loop thread (asyncore is not thread-safe)
    and wait for it, at most ``timeout`` seconds."""
    done = threading.Event()

    def run() -> None:
        try:
            thunk()
        finally:
            done.set()

    trigger = getattr(server, "trigger", None)
    if trigger is None:
        return
    trigger.pull_trigger(run)
    done.wait(timeout)
