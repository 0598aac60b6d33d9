"""In-process cost of the core's request path against bare Pyramid.

Serves the same JSON "hello" view from a bare Pyramid app and from a
Pyramidion app with no add-ons (on SQLite; the view touches no database),
calls each directly as WSGI (no server, no network) and prints the median
time per request over several rounds and the throughput ratio. Both are
measured in the same run, alternating, so machine noise hits both alike.

    .venv/bin/python benchmarks/hot_path.py [--rounds 7] [--requests 3000]

This isolates framework overhead; the server-level benchmarks (waitress and
wrk, with database cases) are a separate, larger runner.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from in_process import measure, report
from pyramid.config import Configurator

from pyramidion import PUBLIC

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def hello(request: Any) -> dict[str, str]:
    return {"hello": "world"}


def bare_pyramid() -> WSGIApp:
    with Configurator() as config:
        config.add_route("hello", "/hello")
        config.add_view(hello, route_name="hello", renderer="json")
        app: WSGIApp = config.make_wsgi_app()
    return app


def pyramidion(database: Path) -> WSGIApp:
    settings = {
        "sqlalchemy.url": f"sqlite:///{database}",
        "pyramidion.environment": "production",
        "pyramidion.allowed_hosts": "localhost",
    }
    with Configurator(settings=settings) as config:
        config.include("pyramidion")
        config.add_route("hello", "/hello")
        config.add_view(hello, route_name="hello", renderer="json", permission=PUBLIC)
        app: WSGIApp = config.make_wsgi_app()
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="rounds per app (default 7)")
    parser.add_argument("--requests", type=int, default=3000, help="requests per round")
    args = parser.parse_args()
    # The access log is the deployment's choice; measure the framework.
    logging.disable(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as tmp:
        apps = {"bare Pyramid": bare_pyramid(), "Pyramidion": pyramidion(Path(tmp) / "b.sqlite")}
        medians = measure(apps, "/hello", args.rounds, args.requests)
    report(medians, "bare Pyramid")


if __name__ == "__main__":
    main()
