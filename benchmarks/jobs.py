"""What background jobs cost: a request that sends one, and a worker's pace.

    .venv/bin/python benchmarks/jobs.py [--requests 2000] [--rounds 5] [--jobs 2000]
                                        [--postgresql URL]

Needs Debian's ``redis-server`` (a private one is started on a free
loopback port) and the jobs add-on with Celery (``make install``).

1. **Sending.** The example add-on's view (``addons/jobs/tests/example``)
   called in process, as WSGI, on the same database: writing a row of its
   own (``send=0``), and writing it and sending a job (``send=both``), with
   the ``outbox`` engine (the row only) and the ``celery`` engine (the row,
   and the job handed to Redis after the commit). Medians over the rounds,
   the difference per request, and the ratio.
2. **A worker's pace.** ``--jobs`` jobs are sent, then one
   ``pyramidion jobs worker --concurrency 1`` runs them on Redis; the pace is
   the jobs done between the first and the last one's finishing times
   (from the outbox), so start-up is not counted.

Timings are printed, never asserted; the machine may be shared, so compare
the ratio, which comes from one run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent / "addons" / "jobs" / "tests" / "example"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def redis_server(directory: Path) -> Iterator[str]:
    executable = shutil.which("redis-server")
    if executable is None:
        sys.exit("benchmarks/jobs.py needs redis-server: apt-get install -y redis-server")
    port = free_port()
    process = subprocess.Popen(
        [
            executable,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if time.monotonic() > deadline:
                sys.exit("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


def install_example(site: Path) -> None:
    """Publish the example add-on ``jobstest``, as the jobs tests do."""
    info = site / "pyramidion_jobs_example-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: pyramidion-jobs-example\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text(
        "[pyramidion.addons]\njobstest = pyramidion_jobs_example:addon\n"
    )
    sys.path[:0] = [str(EXAMPLE), str(site)]


def settings_for(
    database_url: str, broker_url: str, engine: str, queue: str = "bench"
) -> dict[str, str]:
    return {
        "pyramidion.addons": "jobstest",
        "sqlalchemy.url": database_url,
        "jobs.engine": engine,
        "jobs.broker_url": broker_url,
        "jobs.queue": queue,
    }


def call(app: Any, query: str) -> None:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/jobstest/send",
        "SCRIPT_NAME": "",
        "QUERY_STRING": query,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "localhost",
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.input": __import__("io").BytesIO(b""),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
        "REMOTE_ADDR": "127.0.0.1",
    }
    status: list[str] = []
    body = b"".join(app(environ, lambda s, h, e=None: status.append(s)))
    if not status[0].startswith("200"):
        sys.exit(f"the example view answered {status[0]}: {body[:200]!r}")


def per_request(app: Any, query: str, count: int) -> float:
    started = time.perf_counter()
    for i in range(count):
        call(app, f"{query}&value={i}")
    return (time.perf_counter() - started) / count * 1e6


def sending(database_url: str, broker_url: str, requests: int, rounds: int) -> None:
    from pyramidion import make_app

    print(f"\nsending a job: µs per request, median of {rounds} rounds of {requests}")
    print(f"{'engine':<8} {'without':>9} {'with':>9} {'cost':>8} {'ratio':>6}")
    for engine in ("outbox", "celery"):
        app = make_app(settings_for(database_url, broker_url, engine), environ={})
        call(app, "send=both")  # warm up: first connections, templates
        without, with_job = [], []
        for _ in range(rounds):
            without.append(per_request(app, "send=0", requests))
            with_job.append(per_request(app, "send=both", requests))
        a, b = statistics.median(without), statistics.median(with_job)
        print(f"{engine:<8} {a:>9.0f} {b:>9.0f} {b - a:>+8.0f} {a / b:>6.2f}")


def pace(
    ini: Path, database_url: str, broker_url: str, jobs: int, environ: dict[str, str]
) -> None:
    from pyramid.scripting import prepare
    from sqlalchemy import create_engine, delete, func, select

    from pyramidion import make_app
    from pyramidion_jobs.models import JobRecord, JobState, as_utc

    # The sending measurements left jobs in the outbox and on the "bench"
    # queue: the worker is to see only these, on a queue of their own.
    database = create_engine(database_url)
    with database.begin() as connection:
        connection.execute(delete(JobRecord))
    app = make_app(settings_for(database_url, broker_url, "celery", "pace"), environ={})
    env = prepare(registry=app.registry)
    with env["request"].tm:
        for i in range(jobs):
            env["request"].jobs.send("jobstest.record", str(i))
    env["closer"]()
    worker = subprocess.Popen(
        [
            str(BIN / "pyramidion"),
            "jobs",
            "worker",
            str(ini),
            "--concurrency=1",
            "--queues=pace",
            "--loglevel=WARNING",
        ],
        env=environ,
        start_new_session=True,
    )
    try:
        done = select(func.count()).select_from(JobRecord).where(JobRecord.state == JobState.DONE)
        deadline = time.monotonic() + 600
        while True:
            with database.connect() as connection:
                if connection.scalar(done) == jobs:
                    break
            if time.monotonic() > deadline:
                sys.exit("the worker did not finish within 10 minutes")
            time.sleep(0.5)
        with database.connect() as connection:
            first, last = connection.execute(
                select(func.min(JobRecord.finished_at), func.max(JobRecord.finished_at))
            ).one()
        assert first is not None
        assert last is not None
        span = (as_utc(last) - as_utc(first)).total_seconds()
        rate = (jobs - 1) / span
        print(f"\none worker (--concurrency 1) on Redis: {jobs} jobs, {rate:.0f} jobs/s")
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(30)
        database.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--postgresql", default="", help="a database URL (default: SQLite)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        install_example(directory / "site")
        database_url = args.postgresql or f"sqlite:///{directory}/jobs.sqlite"
        with redis_server(directory) as broker_url:
            ini = directory / "app.ini"
            lines = ["[app:main]", "use = call:pyramidion:main"]
            lines += [
                f"{k} = {v}" for k, v in settings_for(database_url, broker_url, "celery").items()
            ]
            ini.write_text("\n".join(lines) + "\n")
            environ = {
                **os.environ,
                "PYTHONPATH": os.pathsep.join([str(EXAMPLE), str(directory / "site")]),
            }
            subprocess.run(
                [str(BIN / "pyramidion"), "db", "upgrade", str(ini)],
                env=environ,
                check=True,
                capture_output=True,
            )
            print(
                f"database: {database_url.split('://')[0]}; machine load {os.getloadavg()[0]:.1f}"
            )
            sending(database_url, broker_url, args.requests, args.rounds)
            pace(ini, database_url, broker_url, args.jobs, environ)


if __name__ == "__main__":
    main()
