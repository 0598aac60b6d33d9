"""Serve one benchmark application under waitress (started by run.py).

    python benchmarks/serve.py APP --port PORT --threads N --database URL [--option KEY=VALUE]

Prints one JSON line once the app is built (``startup_s``: seconds from
this script's start to a built application, imports included), then
serves on 127.0.0.1 until killed. ``--startup-only`` exits after that line.
``--prepare`` instead creates the tables and user of a reference that
keeps its own (``apps.PREPARERS``), with ``--option email=... --option
password=...``.

``--count-statements FILE`` writes every statement the database driver
sends to FILE, one line each (SQLite's trace callback; libpq's protocol
trace for psycopg), hooked where each framework hands out new database
connections: SQLAlchemy's pool ``connect`` event, Django's
``connection_created`` signal. The runner serves such a process apart
from the timed ones, to count what one request sends.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
from typing import Any  # noqa: E402


def main() -> None:
    from apps import FACTORIES

    parser = argparse.ArgumentParser()
    parser.add_argument("app", choices=sorted(FACTORIES))
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--database", default="")
    parser.add_argument("--option", action="append", default=[])
    parser.add_argument("--startup-only", action="store_true")
    parser.add_argument("--prepare", action="store_true")
    parser.add_argument("--count-statements", default="")
    args = parser.parse_args()
    options = dict(option.split("=", 1) for option in args.option)
    if args.prepare:
        from importlib import import_module

        from apps import PREPARERS

        module = import_module(PREPARERS[args.app])
        module.prepare(args.database, options["email"], options["password"])
        return
    if args.count_statements:
        count_statements(args.count_statements)
    # Every server logs alike: warnings only, no access log.
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    app = FACTORIES[args.app](args.database, options)
    startup = time.perf_counter() - STARTED
    print(json.dumps({"startup_s": startup}), flush=True)
    if args.startup_only:
        return
    import waitress

    waitress.serve(
        app, host="127.0.0.1", port=args.port, threads=args.threads, _quiet=True, ident="bench"
    )


def count_statements(path: str) -> None:
    """Log each statement sent on every database connection made from now on to ``path``."""
    trace = open(path, "a", buffering=1)  # noqa: SIM115 (open as long as the process)

    def watch(dbapi_connection: Any) -> None:
        if hasattr(dbapi_connection, "set_trace_callback"):  # sqlite3
            dbapi_connection.set_trace_callback(
                lambda statement: trace.write("SQL " + " ".join(statement.split()) + "\n")
            )
        else:  # psycopg: libpq's trace, one line per protocol message
            from psycopg import pq

            dbapi_connection.pgconn.trace(trace.fileno())
            dbapi_connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)

    with contextlib.suppress(ImportError):
        from sqlalchemy import event
        from sqlalchemy.pool import Pool

        event.listen(Pool, "connect", lambda dbapi_connection, record: watch(dbapi_connection))
    with contextlib.suppress(ImportError):
        from django.db.backends.signals import connection_created

        def created(sender: Any, connection: Any, **kw: Any) -> None:
            watch(connection.connection)

        connection_created.connect(created, weak=False)


if __name__ == "__main__":
    main()
