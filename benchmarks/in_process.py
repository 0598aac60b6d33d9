"""The benchmark's applications called directly as WSGI: their cost without a server.

    .venv/bin/python benchmarks/in_process.py [--case row] [--rounds 7] [--requests 2000]
                                              [--threads 1] [--clock wall]
                                              [--setting KEY=VALUE ...] [--postgresql URL]

Builds the applications of ``apps.py`` for the case on one SQLite database
prepared as ``run.py`` prepares it (``--postgresql``: a database created on
that server and dropped afterwards, as ``run.py`` does), calls each in turn with the same GET
(``hello``: ``/bench/hello``; ``row``: ``/bench/items/42``; ``page``: the
logged-in ``/bench/list``, each app logged in through its own form first;
``api-item`` and ``api-page``: ``/api/v1/posts/42`` and
``/api/v1/posts?limit=20`` with each app's API token, as ``run.py --cases
api`` requests them) and prints the median time per request over the rounds
and the throughput against bare Pyramid (for the page, against Flask with
database sessions; for the API, against Django REST Framework).
``--clock cpu`` times the calling thread's CPU instead of the wall clock:
on a machine busy with other work it leaves out the time spent waiting for
a core (one thread only). No
sockets, no threads: what is left is the applications' own Python, so
differences of a few microseconds show, and the figures move much less
from run to run than the server's. Under a loaded threaded server the
same differences count for more (see docs/performance.md).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypedDict

HERE = Path(__file__).resolve().parent
PATHS = {
    "hello": "/bench/hello",
    "row": "/bench/items/42",
    "page": "/bench/list",
    "api-item": "/api/v1/posts/42",
    "api-page": "/api/v1/posts?limit=20",
}
#: The add-ons of the Pyramidion app in the API cases, as ``run.py`` enables them.
API_ADDONS = "auth forms storage blog bench api"
REFERENCES = {
    "hello": "bare-pyramid",
    "row": "bare-pyramid",
    "page": "flask-page",
    "api-item": "drf",
    "api-page": "drf",
}


class Headers(TypedDict, total=False):
    """The headers :func:`per_request` sends, as its keyword arguments."""

    cookie: str
    authorization: str


def per_request(
    app: Any,
    path: str,
    count: int,
    threads: int = 1,
    *,
    cookie: str = "",
    clock: Callable[[], float] = time.perf_counter,
    authorization: str = "",
) -> float:
    """Microseconds per request for ``count`` GET ``path`` calls, made by
    ``threads`` threads at once (``clock``'s time over all of them), with
    ``cookie`` as the Cookie header and ``authorization`` as the
    Authorization header if given. ``path`` may carry a query string.

    The environ is the one waitress makes for wrk's GET: an empty in-memory
    input that ends where the (empty) body does, no Content-Length.
    """
    path_info, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path_info,
        "SCRIPT_NAME": "",
        "QUERY_STRING": query,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "localhost",
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
        "wsgi.input_terminated": True,
        "REMOTE_ADDR": "127.0.0.1",
    }
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    if authorization:
        environ["HTTP_AUTHORIZATION"] = authorization

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        if not status.startswith("200"):
            raise RuntimeError(f"GET {path} answered {status}")

    failures: list[BaseException] = []

    def serve(requests: int) -> None:
        try:
            for _ in range(requests):
                body = app({**environ, "wsgi.input": io.BytesIO()}, start_response)
                b"".join(body)
                close = getattr(body, "close", None)
                if close is not None:
                    close()
        except BaseException as error:  # reported by the calling thread
            failures.append(error)

    # One thread serves in this one: the counter counts this thread's work.
    shares = [count // threads + (i < count % threads) for i in range(threads)]
    workers = [threading.Thread(target=serve, args=(share,)) for share in shares[1:]]
    started = clock()
    for worker in workers:
        worker.start()
    serve(shares[0])
    for worker in workers:
        worker.join()
    elapsed = clock() - started
    if failures:
        raise failures[0]
    return elapsed / count * 1e6


def add_database_argument(parser: argparse.ArgumentParser) -> None:
    """``--postgresql URL``: run on a database created on that server."""
    parser.add_argument(
        "--postgresql",
        metavar="URL",
        default="",
        help="a PostgreSQL server's URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/"
        "postgres): the apps run on a database created there and dropped afterwards "
        "(default: a temporary SQLite database)",
    )


def add_setting_argument(parser: argparse.ArgumentParser) -> None:
    """``--setting KEY=VALUE``, repeatable: a setting of the Pyramidion app."""

    def key_value(text: str) -> tuple[str, str]:
        key, equals, value = text.partition("=")
        if not equals or "." not in key:
            raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE with a dotted KEY")
        return key.strip(), value.strip()

    parser.add_argument(
        "--setting",
        type=key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting of the Pyramidion app, over the case's own (repeatable), "
        "e.g. --setting api.rate_limit=1000000",
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", choices=sorted(PATHS), default="row", help="(default row)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds per app (default 7)")
    parser.add_argument("--requests", type=int, default=2000, help="requests per round")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads making each round's requests (default 1)"
    )
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall time, or the calling thread's CPU time (one thread only; default wall)",
    )
    add_setting_argument(parser)
    add_database_argument(parser)
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    if args.clock == "cpu" and args.threads != 1:
        parser.error("--clock cpu times one thread: use it with --threads 1")
    clock = time.thread_time if args.clock == "cpu" else time.perf_counter
    with built_apps(args.case, dict(args.setting), args.postgresql) as (apps, headers):
        medians = measure(
            apps, PATHS[args.case], args.rounds, args.requests, args.threads, headers, clock
        )
    report(medians, REFERENCES[args.case], prefix=f"{args.case}: ")


@contextlib.contextmanager
def built_apps(
    case: str, settings: dict[str, str] | None = None, postgresql: str = ""
) -> Iterator[tuple[dict[str, Any], dict[str, Headers]]]:
    """The applications of ``apps.py`` for ``case``, on one SQLite database
    prepared as ``run.py`` prepares it (deleted afterwards), or on a
    database created on the PostgreSQL server at ``postgresql`` (dropped
    afterwards), with
    ``settings`` over the Pyramidion app's own, and the headers
    each app is sent (:func:`per_request`'s ``cookie`` and ``authorization``):
    for the page the Cookie header each app's login gave, for the API each
    app's token."""
    with (
        tempfile.TemporaryDirectory(prefix="pyramidion-bench-") as tmp_name,
        contextlib.ExitStack() as stack,
    ):
        tmp = Path(tmp_name)
        sys.path[:0] = [str(HERE), str(tmp / "site")]
        import run

        run.write_dist_info(tmp / "site", "pyramidion-bench", {"bench": "pyramidion_bench:addon"})
        from apps import CASES, FACTORIES

        url = f"sqlite:///{tmp / 'bench.sqlite'}"
        if postgresql:
            url = stack.enter_context(run.postgresql_database(postgresql))
        token = run.prepare_database(url, tmp / "files")
        if case in ("page", "api-item", "api-page"):
            run.prepare_references(url, CASES[case])
        # The access log is the deployment's choice; measure the frameworks.
        logging.disable(logging.CRITICAL)
        options = {"files": str(tmp / "files")}
        if case.startswith("api-"):
            options.update(addons=API_ADDONS, **run.API_SETTINGS)
        options.update(settings or {})
        apps = {name: FACTORIES[name](url, options) for name in CASES[case]}
        headers: dict[str, Headers] = {name: {} for name in apps}
        if case == "page":
            headers = {name: {"cookie": log_in(app)} for name, app in apps.items()}
        elif case.startswith("api-"):
            from drf_bench import TOKEN

            headers = {
                "drf": {"authorization": f"Token {TOKEN}"},
                "pyramidion": {"authorization": f"Bearer {token}"},
            }
        yield apps, headers


def log_in(app: Any) -> str:
    """Log in to ``app`` through its login form, called as WSGI; the Cookie header to send."""
    from urllib.parse import urlencode

    from run import EMAIL, PASSWORD, _Inputs
    from webob import Request

    page = Request.blank("/auth/login").get_response(app)
    jar = {
        c.split("=", 1)[0]: c.split("=", 1)[1].split(";", 1)[0]
        for c in page.headers.getall("Set-Cookie")
    }
    parser = _Inputs()
    parser.feed(page.text)
    login = "email" if "email" in parser.fields else "username"
    fields = {**parser.fields, login: EMAIL, "password": PASSWORD, "submit": "submit"}
    request = Request.blank("/auth/login", method="POST", body=urlencode(fields).encode())
    request.content_type = "application/x-www-form-urlencoded"
    request.headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
    response = request.get_response(app)
    if response.status_int not in (302, 303):
        raise RuntimeError(f"logging in answered {response.status}")
    for header in response.headers.getall("Set-Cookie"):
        name, _, rest = header.partition("=")
        jar[name] = rest.split(";", 1)[0]
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def measure(
    apps: dict[str, Any],
    path: str,
    rounds: int,
    requests: int,
    threads: int = 1,
    headers: dict[str, Headers] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, float]:
    """Median µs per request of each app, the apps taking turns each round,
    each sent its ``headers`` (:func:`per_request`'s keyword arguments)."""
    headers = headers or {}
    for name, app in apps.items():
        per_request(app, path, 200, threads, **headers.get(name, {}))  # warm-up
    times: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(rounds):
        for name, app in apps.items():
            sent = headers.get(name, {})
            times[name].append(per_request(app, path, requests, threads, clock=clock, **sent))
    return {name: statistics.median(values) for name, values in times.items()}


def report(
    values: dict[str, float], reference: str, prefix: str = "", unit: str = "median us/request"
) -> None:
    """One line per app: its figure (lower is better) and its throughput
    against ``reference``'s, as the ratio of the two figures."""
    width = max(len(name) for name in values) + 2
    ratio = f"vs {reference}"
    print(f"{prefix}{'app':<{width}} {unit:>22} {ratio:>{max(len(ratio), 20)}}")
    for name, value in values.items():
        figure = f"{value:,.0f}" if value >= 1000 else f"{value:.1f}"
        print(
            f"{prefix}{name:<{width}} {figure:>22} "
            f"{values[reference] / value:>{max(len(ratio), 20) - 1}.2f}x"
        )


if __name__ == "__main__":
    main()
