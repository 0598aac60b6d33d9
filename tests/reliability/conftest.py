"""Fixtures for the reliability tests: a small add-on that writes, clients
that drive a real waitress server over loopback, and a private PostgreSQL
cluster to stop, pause and start."""

from __future__ import annotations

import contextlib
import glob
import http.client
import importlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from pyramidion.app import get_database
from pyramidion.testing import LiveServer, MakeApp
from tests.conftest import Distributions

LEDGER_MODELS = """
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from pyramidion.db import Base


class Entry(Base):
    __tablename__ = "{entries}"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(200), unique=True)


class Counter(Base):
    __tablename__ = "{counters}"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int]
"""

LEDGER_VIEWS = """
from pyramidion import PUBLIC

from .models import Counter, Entry


def add_entry(request):
    entry = Entry(text=request.json_body["text"])
    request.dbsession.add(entry)
    request.dbsession.flush()
    request.response.status = 201
    return {"id": entry.id}


def increment(request):
    # Read, then write what was read plus one: exactly the pattern that
    # loses updates unless the database's isolation and retries stop it.
    counter = request.dbsession.get(Counter, 1)
    counter.value = counter.value + 1
    request.dbsession.flush()
    return {"value": counter.value}


def includeme(config):
    json_view = {"renderer": "json", "permission": PUBLIC, "request_method": "POST"}
    config.add_route("ledger.entries", "/entries")
    config.add_view(add_entry, route_name="ledger.entries", **json_view)
    config.add_route("ledger.increment", "/increment")
    config.add_view(increment, route_name="ledger.increment", **json_view)
"""


@dataclass
class Ledger:
    Entry: Any
    Counter: Any


@pytest.fixture
def ledger(distributions: Distributions) -> Ledger:
    """The ledger add-on, installed (not yet enabled)."""
    entries = distributions.table("ledger", "entries")
    counters = distributions.table("ledger", "counters")
    pkg = distributions.addon(
        "ledger",
        includeme="config.include('{pkg}.views')",
        descriptor="models='{pkg}.models',",
        files={
            "models.py": LEDGER_MODELS.format(entries=entries, counters=counters),
            "views.py": LEDGER_VIEWS,
        },
    )
    models = importlib.import_module(f"{pkg}.models")
    return Ledger(Entry=models.Entry, Counter=models.Counter)


@dataclass
class Outcome:
    """One request as the client saw it."""

    path: str
    payload: Any
    started: float
    seconds: float
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Client:
    """A client of a live server that sends the CSRF token as a browser would."""

    base_url: str
    timeout: float = 30.0
    token: str = field(default_factory=lambda: uuid.uuid4().hex)

    def post_json(self, path: str, payload: Any) -> Outcome:
        host, port = self.base_url.removeprefix("http://").split(":")
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Cookie": f"csrf_token={self.token}",
            "X-CSRF-Token": self.token,
        }
        started = time.monotonic()
        connection = http.client.HTTPConnection(host, int(port), timeout=self.timeout)
        try:
            connection.request("POST", path, body=json.dumps(payload), headers=headers)
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        return Outcome(
            path=path,
            payload=payload,
            started=started,
            seconds=time.monotonic() - started,
            status=response.status,
            headers={k.lower(): v for k, v in response.getheaders()},
            body=body,
        )


@dataclass
class Served:
    server: LiveServer
    engine: Engine

    def client(self) -> Client:
        return Client(self.server.url)


@pytest.fixture
def serve(make_pyramidion_app: MakeApp) -> Iterator[Any]:
    """``serve(settings, addons, tables)``: the app under waitress, tables created."""
    started: list[tuple[LiveServer, Engine, list[Any]]] = []

    def start(settings: dict[str, Any], addons: list[str], tables: list[Any]) -> Served:
        app = make_pyramidion_app(settings, addons=addons)
        engine = get_database(app.registry).engine
        with engine.begin() as connection:
            for table in tables:
                table.create(connection)
        server = LiveServer(app, threads=4).start()
        started.append((server, engine, tables))
        return Served(server, engine)

    try:
        yield start
    finally:
        for server, engine, tables in started:
            server.stop()
            try:
                with engine.begin() as connection:
                    for table in reversed(tables):
                        table.drop(connection)
            finally:
                engine.dispose()


def run_clients(threads: int, work: Any) -> list[Outcome]:
    """Run ``work(index)`` in ``threads`` threads until all return; collect outcomes."""
    results: list[Outcome] = []
    lock = threading.Lock()

    def runner(index: int) -> None:
        for outcome in work(index):
            with lock:
                results.append(outcome)

    workers = [threading.Thread(target=runner, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results


def _postgresql_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class Cluster:
    """A private PostgreSQL cluster: initdb, start, stop (immediate), start."""

    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin = bin_dir
        self.data = root / "data"
        self.log = root / "postgresql.log"
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.root = root
        # PostgreSQL refuses to run as root; the Debian package's user does.
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            shutil.chown(root, self.user)

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off"
        )
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.log), "-w", "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def processes(self) -> list[int]:
        """The server's process ids: the postmaster and its children."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                # The command name, in parentheses, may hold spaces.
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == postmaster:
                    children.append(int(stat.parent.name))
        return [postmaster, *children]

    def pause(self) -> None:
        """Freeze every process of the server (SIGSTOP): it accepts
        connections and packets, and answers nothing."""
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    bin_dir = _postgresql_bin()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL's server binaries are not under /usr/lib/postgresql")
        pytest.skip("PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
    # Not under pytest's temporary directory: the server's user must be
    # able to reach it.
    root = Path(tempfile.mkdtemp(prefix="pyramidion-pg-"))
    cluster = Cluster(bin_dir, root)
    try:
        cluster.init()
        cluster.start()
        admin = create_engine(
            cluster.url("postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool
        )
        with admin.connect() as connection:
            connection.execute(text('CREATE DATABASE "outage"'))
        admin.dispose()
        yield cluster
    finally:
        with contextlib.suppress(OSError):
            cluster.resume()
        with contextlib.suppress(subprocess.CalledProcessError):
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
