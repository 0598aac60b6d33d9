"""Three ``pyramidion serve`` processes behind haproxy (active checks on
``/readyz``) on one private PostgreSQL cluster, under a steady load of
writes: a rolling restart loses no request, SIGKILL of one process costs
at most the requests it had in flight, and a paused database (SIGSTOP)
gives quick answers, not hangs, and recovers. Every row a client was told
was created is there at the end. The figures per phase are printed.

haproxy comes from Debian's package (``apt-get install haproxy``; .ci/run
installs it); without it the test is skipped. haproxy's configuration is
the one docs/integrators/deploying.md shows, read from the page.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.pool import NullPool

from pyramidion.db import watchdog
from tests.conftest import Distributions

from .conftest import Client, Cluster, Ledger, Outcome

pytestmark = pytest.mark.slow

PROCESSES = 3
CLIENTS = 4
#: The bounds on database waits the processes are configured with (seconds).
CONNECT_TIMEOUT = 2
POOL_TIMEOUT = 1
STATEMENT_TIMEOUT = 1
LOCK_TIMEOUT = 1
#: What a machine shared with other work may add to a request's time: CPU
#: starvation, not a wait on the database.
LOAD_MARGIN = 3.0
#: The longest a client may wait while the database is paused, from the
#: settings above: a statement is cut off client side at its bound plus
#: the watchdog's grace (and one turn of its check), the request is
#: retried on a new connection, and connecting to the paused database
#: fails at the connect timeout; then the app answers 503.
PAUSED_BOUND = (
    STATEMENT_TIMEOUT + watchdog.GRACE_SECONDS + watchdog.CHECK_INTERVAL
    + CONNECT_TIMEOUT + LOAD_MARGIN
)  # fmt: skip
#: How long the database stays paused: longer than the bound, so a request
#: that waited for the database to come back fails the test.
PAUSE = PAUSED_BOUND + 2.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def haproxy() -> str:
    found = shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
    )
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("haproxy is not installed; .ci/run installs Debian's package")
        pytest.skip("haproxy is not installed: apt-get install haproxy to run this test")
    return found


APP_INI = """\
[app:main]
use = egg:pyramidion-core
pyramidion.addons = ledger
pyramidion.environment = development
sqlalchemy.url = {url}
pyramidion.db_connect_timeout = {connect_timeout}
pyramidion.db_pool_timeout = {pool_timeout}
pyramidion.db_statement_timeout = {statement_timeout}
pyramidion.db_lock_timeout = {lock_timeout}
pyramidion.readiness_timeout = 1
pyramidion.shutdown_delay = 2
pyramidion.shutdown_timeout = 10

[server:main]
use = egg:waitress#main
listen = 127.0.0.1:%(http_port)s
threads = 4
"""

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "integrators" / "deploying.md"


def guide_haproxy_config(port: int, servers: list[int]) -> str:
    """The haproxy configuration docs/integrators/deploying.md shows, on
    this test's ports, with a stats page and logging to watch it by."""
    (config,) = re.findall(r"```haproxy\n(.*?)```", GUIDE.read_text(), re.DOTALL)
    config = config.replace("bind 127.0.0.1:8080", f"bind 127.0.0.1:{port}")
    lines = [line for line in config.splitlines() if not line.strip().startswith("server app")]
    lines += [f"    server app{i} 127.0.0.1:{p} check" for i, p in enumerate(servers)]
    config = "\n".join(lines) + "\n"
    config = config.replace("global\n", "global\n    log stderr format raw local0 notice\n", 1)
    config = config.replace("defaults\n", "defaults\n    log global\n", 1)
    config = config.replace(
        "\nbackend pyramidion\n",
        "\nbackend pyramidion\n    http-response set-header X-Served-By %s\n",
        1,
    )
    return config


class Fleet:
    """The app's processes and haproxy in front of them."""

    def __init__(self, root: Path, env: dict[str, str], ini: Path) -> None:
        self.root = root
        self.env = env
        self.ini = ini
        self.ports = [_free_port() for _ in range(PROCESSES)]
        self.processes: list[subprocess.Popen[bytes] | None] = [None] * PROCESSES
        self.port = _free_port()
        self.stats_port = _free_port()
        self.haproxy: subprocess.Popen[bytes] | None = None

    def start(self, index: int) -> None:
        log = (self.root / f"app{index}.log").open("ab")
        self.processes[index] = subprocess.Popen(
            [str(Path(sys.executable).parent / "pyramidion"), "serve", str(self.ini),
             f"http_port={self.ports[index]}"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()

    def stop(self, index: int) -> int:
        process = self.processes[index]
        assert process is not None
        process.send_signal(signal.SIGTERM)
        return process.wait(timeout=30)

    def kill(self, index: int) -> None:
        process = self.processes[index]
        assert process is not None
        process.kill()
        process.wait(timeout=30)

    def start_haproxy(self, binary: str) -> None:
        config = self.root / "haproxy.cfg"
        config.write_text(
            guide_haproxy_config(self.port, self.ports)
            + f"\nfrontend stats\n    bind 127.0.0.1:{self.stats_port}\n"
            "    stats enable\n    stats uri /stats\n"
        )
        log = (self.root / "haproxy.log").open("ab")
        self.haproxy = subprocess.Popen(
            [binary, "-db", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()

    def states(self) -> dict[str, str]:
        """haproxy's view: server name -> UP, DOWN, ..."""
        url = f"http://127.0.0.1:{self.stats_port}/stats;csv"
        with urllib.request.urlopen(url, timeout=2) as response:
            text = response.read().decode().lstrip("# ")
        return {
            row["svname"]: row["status"].split()[0]
            for row in csv.DictReader(io.StringIO(text))
            if row["pxname"] == "pyramidion" and row["svname"].startswith("app")
        }

    def wait_for(self, index: int, state: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.states().get(f"app{index}") == state:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                logs = (self.root / f"app{index}.log").read_text(errors="replace")
                raise AssertionError(f"app{index} is not {state} in haproxy:\n{logs[-3000:]}")
            time.sleep(0.1)

    def close(self) -> None:
        for process in [*self.processes, self.haproxy]:
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=30)


@pytest.fixture
def fleet(
    cluster: Cluster, ledger: Ledger, distributions: Distributions, tmp_path: Path
) -> Iterator[Fleet]:
    url = cluster.url("outage")
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as connection:
        ledger.Entry.__table__.create(connection)
    engine.dispose()
    ini = tmp_path / "app.ini"
    ini.write_text(
        APP_INI.format(
            url=url,
            connect_timeout=CONNECT_TIMEOUT,
            pool_timeout=POOL_TIMEOUT,
            statement_timeout=STATEMENT_TIMEOUT,
            lock_timeout=LOCK_TIMEOUT,
        )
    )
    env = {**os.environ, "PYTHONPATH": str(distributions.root)}
    upgrade = subprocess.run(
        [str(Path(sys.executable).parent / "pyramidion"), "db", "upgrade", str(ini)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    fleet = Fleet(tmp_path, env, ini)
    try:
        yield fleet
    finally:
        fleet.close()


def test_restarts_a_killed_process_and_a_paused_database_behind_haproxy(
    fleet: Fleet,
    haproxy: str,
    cluster: Cluster,
    ledger: Ledger,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for index in range(PROCESSES):
        fleet.start(index)
    fleet.start_haproxy(haproxy)
    for index in range(PROCESSES):
        fleet.wait_for(index, "UP")

    run = uuid.uuid4().hex[:8]
    marks: dict[str, float] = {}
    stop = threading.Event()
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def load(index: int) -> None:
        client = Client(f"http://127.0.0.1:{fleet.port}")
        n = 0
        while not stop.is_set():
            n += 1
            try:
                outcome = client.post_json("/ledger/entries", {"text": f"{run}-{index}-{n}"})
            except OSError as exc:
                outcome = Outcome("/ledger/entries", None, time.monotonic(), 0.0, 0, {},
                                  str(exc).encode())  # fmt: skip
            with lock:
                outcomes.append(outcome)
            # A steady load, not a flood: the checks must get their turn.
            time.sleep(0.02)

    clients = [threading.Thread(target=load, args=(i,)) for i in range(CLIENTS)]
    for thread in clients:
        thread.start()
    try:
        time.sleep(1.0)
        marks["rolling restart"] = time.monotonic()
        exit_codes = []
        for index in range(PROCESSES):
            exit_codes.append(fleet.stop(index))
            fleet.start(index)
            fleet.wait_for(index, "UP")
        marks["killed"] = time.monotonic()
        fleet.kill(1)
        fleet.wait_for(1, "DOWN")
        fleet.start(1)
        fleet.wait_for(1, "UP")
        marks["paused"] = time.monotonic()
        cluster.pause()
        time.sleep(PAUSE)
        cluster.resume()
        marks["resumed"] = time.monotonic()
        time.sleep(4.0)
    finally:
        cluster.resume()
        stop.set()
        for thread in clients:
            thread.join(timeout=60)

    # A request belongs to the phase in which it was answered: one in
    # flight when a process was killed is the kill's.
    boundaries = [
        ("rolling restart", marks["rolling restart"]),
        ("sigkill", marks["killed"]),
        ("database paused", marks["paused"]),
        ("recovery", marks["resumed"]),
    ]
    by_phase: dict[str, list[Outcome]] = {"steady": []}
    for outcome in outcomes:
        answered = outcome.started + outcome.seconds
        name = "steady"
        for candidate, mark in boundaries:
            if answered >= mark:
                name = candidate
        by_phase.setdefault(name, []).append(outcome)
    answered_after_resume = [
        o.started + o.seconds
        for o in outcomes
        if o.status == 201 and o.started >= marks["resumed"]
    ]
    recovery = min(answered_after_resume) - marks["resumed"]
    lines = [f"{PROCESSES} processes behind haproxy, {CLIENTS} clients writing:"]
    for name, done in by_phase.items():
        failed = [o for o in done if o.status != 201]
        statuses = sorted({o.status for o in failed})
        lines.append(
            f"  {name:16} {len(done):5} requests, {len(failed):3} not 201 {statuses or ''}, "
            f"slowest {max(o.seconds for o in done):.2f} s"
        )
    lines.append(f"  first write answered {recovery:.2f} s after the database resumed")
    with capsys.disabled():
        print("\n" + "\n".join(lines))

    assert exit_codes == [0] * PROCESSES
    assert [o.status for o in by_phase["steady"] if o.status != 201] == []
    assert [o.status for o in by_phase["rolling restart"] if o.status != 201] == []
    # SIGKILL costs at most the requests the process had in flight.
    assert len([o for o in by_phase["sigkill"] if o.status != 201]) <= CLIENTS
    # Every request in flight during the pause, whenever it began, was
    # answered within the bound, with a 503 that says when to come back.
    during = [
        o for o in outcomes
        if o.started < marks["resumed"] and o.started + o.seconds > marks["paused"]
    ]  # fmt: skip
    assert len(during) > CLIENTS
    assert max(o.seconds for o in during) < PAUSED_BOUND
    assert {o.status for o in during} <= {201, 503}
    assert all(o.headers.get("retry-after") for o in during if o.status == 503)
    recovered = [o for o in by_phase["recovery"] if o.started > marks["resumed"] + 2.0]
    assert recovered
    assert {o.status for o in recovered} == {201}
    assert recovery < 2.0
    assert all(b"Traceback" not in o.body for o in outcomes)

    created = {o.payload["text"] for o in outcomes if o.status == 201}
    engine = create_engine(cluster.url("outage"), poolclass=NullPool)
    with engine.connect() as connection:
        stored = set(connection.execute(select(ledger.Entry.text)).scalars())
    engine.dispose()
    assert created <= stored
