"""Serve one benchmark application under waitress (started by run.py).

    python benchmarks/serve.py APP --port PORT --threads N --database URL [--option KEY=VALUE]

Prints one JSON line once the app is built (``startup_s``: seconds from
this script's start to a built application, imports included), then
serves on 127.0.0.1 until killed. ``--startup-only`` exits after that line.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402


def main() -> None:
    from apps import FACTORIES

    parser = argparse.ArgumentParser()
    parser.add_argument("app", choices=sorted(FACTORIES))
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--database", default="")
    parser.add_argument("--option", action="append", default=[])
    parser.add_argument("--startup-only", action="store_true")
    args = parser.parse_args()
    options = dict(option.split("=", 1) for option in args.option)
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


if __name__ == "__main__":
    main()
