"""Fault tests of the celery engine: real Celery workers on a real Redis.

Each test gets a Redis server of its own on a free loopback port (so that
it can be stopped and started without touching the machine's), a
database that the app and the workers share (a SQLite file, or a fresh
PostgreSQL database when ``PYRAMIDION_TEST_DATABASE_URL`` names a server),
the app in this process behind WebTest, and ``pyramidion jobs worker``
processes. Waiting is for real events with a deadline, never a fixed sleep
standing in for one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pyramid.scripting import prepare
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from pyramidion import make_app
from pyramidion.testing import PyramidionTestApp, own_database
from pyramidion_jobs.models import JobRecord, JobState

from .conftest import EXAMPLE

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


class RedisServer:
    """A private redis-server that the test may stop and start again."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        executable = shutil.which("redis-server")
        assert executable is not None
        self.process = subprocess.Popen(
            [
                executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_for(self.answers, timeout=10, what="redis-server to answer")

    def answers(self) -> bool:
        address = ("127.0.0.1", self.port)
        with contextlib.suppress(OSError), socket.create_connection(address, 1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
        return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is missing: install Debian's redis-server package")
        pytest.skip("the Celery tests need redis-server (Debian: apt-get install redis-server)")
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with own_database(tmp_path_factory, "jobs") as url:
        yield url


@dataclass
class Deployment:
    """An ini, its database, the app in process and worker processes."""

    ini: Path
    settings: dict[str, str]
    environ: dict[str, str]
    database: Engine
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def command(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "pyramidion"), *args],
            env=self.environ,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def start_worker(self, concurrency: int = 2, *options: str) -> subprocess.Popen[bytes]:
        return self.start("worker", f"--concurrency={concurrency}", *options)

    def start(self, command: str, *options: str) -> subprocess.Popen[bytes]:
        worker = subprocess.Popen(
            [
                str(BIN / "pyramidion"),
                "jobs",
                command,
                str(self.ini),
                "--loglevel=WARNING",
                *options,
            ],
            env=self.environ,
            # Its own process group, so that a test can kill it with its pool.
            start_new_session=True,
        )
        self.workers.append(worker)
        return worker

    def kill(self, worker: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)

    def stop_workers(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(worker.pid, signal.SIGTERM)
                try:
                    worker.wait(20)
                except subprocess.TimeoutExpired:
                    self.kill(worker)

    def count(self, *where: Any) -> int:
        with self.database.connect() as connection:
            query = select(func.count()).select_from(JobRecord).where(*where)
            return int(connection.scalar(query) or 0)

    def effects(self) -> list[tuple[str, str]]:
        from pyramidion_jobs_example.models import Effect

        with self.database.connect() as connection:
            return [tuple(row) for row in connection.execute(select(Effect.value, Effect.job_key))]


@pytest.fixture
def deployment(
    tmp_path: Path, redis_server: RedisServer, database_url: str, jobstest_site: Path
) -> Iterator[Deployment]:
    settings = {
        "pyramidion.addons": "jobstest",
        "sqlalchemy.url": database_url,
        "jobs.engine": "celery",
        "jobs.broker_url": redis_server.url,
        "jobs.queue": f"test-{uuid.uuid4().hex[:8]}",
        "jobs.relay_interval": "0.5",
        "jobs.requeue_after": "3",
        "jobs.retry_backoff": "0.2",
        "jobs.broker_timeout": "1",
    }
    ini = tmp_path / "app.ini"
    lines = ["[app:main]", "use = call:pyramidion:main"]
    lines += [f"{key} = {value}" for key, value in settings.items()]
    ini.write_text("\n".join(lines) + "\n")
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PYRAMIDION_")},
        "PYTHONPATH": os.pathsep.join([str(EXAMPLE), str(jobstest_site)]),
    }
    database = create_engine(database_url, poolclass=NullPool)
    found = Deployment(ini=ini, settings=settings, environ=environ, database=database)
    upgraded = found.command("db", "upgrade", str(ini))
    assert upgraded.returncode == 0, upgraded.stderr
    try:
        yield found
    finally:
        found.stop_workers()
        database.dispose()


@pytest.fixture
def webapp(deployment: Deployment) -> PyramidionTestApp:
    return PyramidionTestApp(make_app(deployment.settings, environ={}))


def send(webapp: PyramidionTestApp, value: str, **params: str) -> int:
    status = 500 if params.get("fail") == "raise" else 200
    response = webapp.get("/jobstest/send", {"value": value, **params}, status=status)
    return int(response.json["job"]) if status == 200 else 0


def all_done(deployment: Deployment, expected: int) -> Callable[[], bool]:
    return lambda: deployment.count(JobRecord.state == JobState.DONE) == expected


def test_only_committed_jobs_run_and_each_once(
    deployment: Deployment, webapp: PyramidionTestApp
) -> None:
    deployment.start_worker()
    committed = set()
    for i in range(1000):
        failing = i % 10 == 0
        send(webapp, str(i), **({"fail": "raise"} if failing else {}))
        if not failing:
            committed.add(str(i))
    wait_for(all_done(deployment, 900), timeout=300, what="900 jobs to be done")
    effects = deployment.effects()
    assert {value for value, _ in effects} == committed
    assert len(effects) == 900  # each once
    assert deployment.count() == 900  # and no job of a failed request


def test_jobs_committed_while_the_broker_is_down_run_when_it_is_back(
    deployment: Deployment, webapp: PyramidionTestApp, redis_server: RedisServer
) -> None:
    deployment.start_worker()
    send(webapp, "before")
    wait_for(all_done(deployment, 1), timeout=60, what="the first job")
    redis_server.stop()
    for i in range(50):
        send(webapp, f"during-{i}")  # each request still answers 200
    # Committed, waiting in the outbox: handed to no broker yet.
    assert deployment.count(JobRecord.state != JobState.DONE) == 50
    redis_server.start()
    wait_for(all_done(deployment, 51), timeout=120, what="the 50 jobs of the outage")
    assert sorted(v for v, _ in deployment.effects()) == sorted(
        ["before"] + [f"during-{i}" for i in range(50)]
    )


def test_a_worker_killed_in_the_middle_loses_no_job(
    deployment: Deployment, webapp: PyramidionTestApp
) -> None:
    for i in range(100):
        send(webapp, str(i), seconds="0.1")
    worker = deployment.start_worker()
    wait_for(
        lambda: deployment.count(JobRecord.state == JobState.DONE) >= 20,
        timeout=120,
        what="20 jobs to be done",
    )
    deployment.kill(worker)
    assert deployment.count(JobRecord.state == JobState.DONE) < 100
    deployment.start_worker()
    wait_for(all_done(deployment, 100), timeout=180, what="all 100 jobs after the kill")
    values = [v for v, _ in deployment.effects()]
    assert sorted(values, key=int) == [str(i) for i in range(100)]  # each once


def test_a_job_that_always_fails_ends_dead_with_its_error(
    deployment: Deployment, webapp: PyramidionTestApp
) -> None:
    deployment.start_worker()
    env = prepare(registry=webapp.app.registry)
    try:
        with env["request"].tm:
            job_id = env["request"].jobs.send("jobstest.always_fails").id
    finally:
        env["closer"]()
    wait_for(
        lambda: deployment.count(JobRecord.state == JobState.DEAD) == 1,
        timeout=60,
        what="the failing job to be dead",
    )
    shown = deployment.command("jobs", "show", str(deployment.ini), str(job_id))
    assert "attempts:         3 of 3" in shown.stdout
    assert "ConnectionRefusedError: the mail server said no" in shown.stdout
    listed = deployment.command("jobs", "list", str(deployment.ini), "--state", "dead")
    assert "jobstest.always_fails" in listed.stdout


def test_beat_relays_what_an_outage_kept_back_when_workers_do_not(
    deployment: Deployment, webapp: PyramidionTestApp, redis_server: RedisServer, tmp_path: Path
) -> None:
    deployment.start_worker(1, "--no-relay")
    redis_server.stop()
    send(webapp, "kept back")
    redis_server.start()
    assert deployment.count(JobRecord.state == JobState.PENDING) == 1
    deployment.start("beat", f"--schedule-file={tmp_path / 'beat-schedule'}")
    wait_for(all_done(deployment, 1), timeout=120, what="beat's relay to hand the job over")
    assert [v for v, _ in deployment.effects()] == ["kept back"]
