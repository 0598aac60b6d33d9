"""Three ``pyramidion serve`` processes behind haproxy (active checks on
``/readyz``) on one private PostgreSQL cluster and one storage
directory, under a steady mixed load (logged-in clients writing entries,
and uploading files, posting them as blog attachments and reading the
posts back): a rolling restart loses no request; neither does a rolling deploy
of a release with an additive migration (``pyramidion db upgrade`` applies
release N+1's revision while release N serves, then the processes are
restarted one at a time on release N+1); SIGKILL of one process costs at
most the requests it had in flight; and a paused database (SIGSTOP) gives
quick answers, not hangs, and recovers. After each phase, every row a
client was told was created is in the database, and every attached file
in the storage directory. The figures per phase are
printed.

The test starts a PostgreSQL cluster of its own whatever database the rest
of the suite uses, so it runs once in CI: on the PostgreSQL run
(``PYRAMIDION_TEST_DATABASE_URL`` is a PostgreSQL URL); the SQLite run
skips it.

haproxy comes from Debian's package (``apt-get install haproxy``; .ci/run
installs it); without it the test is skipped. haproxy's configuration is
the one docs/integrators/deploying.md shows, read from the page.
"""

from __future__ import annotations

import csv
import http.client
import io
import json
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
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from pyramidion.db import watchdog
from tests.conftest import Distributions

from .conftest import LEDGER_MODELS, LEDGER_VIEWS, Cluster, Outcome

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("PYRAMIDION_TEST_DATABASE_URL", "").startswith("postgresql"),
        reason="runs once, on the PostgreSQL run of the suite "
        "(PYRAMIDION_TEST_DATABASE_URL=postgresql+psycopg://...): "
        "it starts a PostgreSQL cluster of its own",
    ),
]

PROCESSES = 3
CLIENTS = 4
#: Clients of the blog's API, logged in with a token of their own: each
#: uploads a file, creates a post with it attached and reads the post back.
BLOG_CLIENTS = 2
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


#: The ledger add-on of release N: its tables (the other reliability tests'
#: ledger), created by its first revision.
RELEASE_N_MODELS = LEDGER_MODELS

RELEASE_N_REVISION = '''
"""Create the entries and counters tables."""

import sqlalchemy as sa
from alembic import op

revision = "1edc00000001"
down_revision = None
branch_labels = ("ledger",)
depends_on = None


def upgrade():
    op.create_table(
        "{entries}",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_{entries}")),
        sa.UniqueConstraint("text", name=op.f("uq_{entries}_text")),
    )
    op.create_table(
        "{counters}",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_{counters}")),
    )


def downgrade():
    op.drop_table("{counters}")
    op.drop_table("{entries}")
'''

#: Release N+1 adds a nullable column (an expanding migration: release N,
#: which does not map it, keeps inserting rows without it) and writes it.
RELEASE_N1_MODELS = RELEASE_N_MODELS.replace(
    "unique=True)\n",
    "unique=True)\n    release: Mapped[str | None] = mapped_column(String(20))\n",
)

RELEASE_N1_REVISION = '''
"""Record which release wrote an entry."""

import sqlalchemy as sa
from alembic import op

revision = "1edc00000002"
down_revision = "1edc00000001"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("{entries}", sa.Column("release", sa.String(length=20), nullable=True))


def downgrade():
    op.drop_column("{entries}", "release")
'''

RELEASE_N1_VIEWS = LEDGER_VIEWS.replace(
    'entry = Entry(text=request.json_body["text"])',
    'entry = Entry(text=request.json_body["text"], release="n+1")',
)


class Release:
    """The ledger add-on as installed on disk: release N, then N+1.

    A process imports it when it starts: one started after
    :meth:`deploy_next` runs release N+1, one started before keeps running
    release N.
    """

    def __init__(self, distributions: Distributions) -> None:
        #: The entries table's name.
        self.entries = distributions.table("ledger", "entries")
        counters = distributions.table("ledger", "counters")
        self.names = {"entries": self.entries, "counters": counters}
        package = distributions.addon(
            "ledger",
            includeme="config.include('{pkg}.views')",
            descriptor="models='{pkg}.models', migrations='{pkg}:migrations',",
            files={
                "models.py": RELEASE_N_MODELS.format(**self.names),
                "views.py": LEDGER_VIEWS,
                "migrations/__init__.py": "",
                "migrations/1edc00000001_ledger.py": RELEASE_N_REVISION.format(**self.names),
            },
        )
        self.directory = distributions.root / package

    def deploy_next(self) -> None:
        """Install release N+1's code and revision over release N."""
        self.write("migrations/1edc00000002_release.py", RELEASE_N1_REVISION.format(**self.names))
        self.write("models.py", RELEASE_N1_MODELS.format(**self.names))
        self.write("views.py", RELEASE_N1_VIEWS)

    def write(self, relative: str, source: str) -> None:
        # Written aside, then renamed: a process starting now reads either
        # the whole old file or the whole new one.
        path = self.directory / relative
        partial = path.with_suffix(".partial")
        partial.write_text(source)
        partial.replace(path)


APP_INI = """\
[app:main]
use = egg:pyramidion-core
pyramidion.addons = ledger auth forms storage blog api
storage.local_root = {files}
# One account makes thousands of API requests a minute here.
api.rate_limit = 0
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
        #: A write token of the account the clients act for.
        self.token = ""

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
def release(distributions: Distributions) -> Release:
    return Release(distributions)


def upgrade(ini: Path, env: dict[str, str]) -> None:
    """``pyramidion db upgrade``, as a deploy runs it."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "pyramidion"), "db", "upgrade", str(ini)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def _api_token(ini: Path, env: dict[str, str], email: str) -> str:
    """A new account's write token, made with the auth add-on's commands."""
    command = str(Path(sys.executable).parent / "pyramidion")
    created = subprocess.run(
        [command, "auth", "create-user", str(ini), email, "--password-stdin"],
        input="a long enough password 1\n", env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert created.returncode == 0, created.stdout + created.stderr
    token = subprocess.run(
        [command, "auth", "create-token", str(ini), email, "load", "--scope", "write"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert token.returncode == 0, token.stdout + token.stderr
    return token.stdout.split()[-1]


def call(
    base_url: str, method: str, path: str, body: bytes, headers: dict[str, str], payload: Any
) -> Outcome:
    """One request through the balancer, as the client saw it."""
    host, port = base_url.removeprefix("http://").split(":")
    started = time.monotonic()
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        answer = response.read()
    except OSError as exc:
        return Outcome(path, payload, started, time.monotonic() - started, 0, {},
                       str(exc).encode())  # fmt: skip
    finally:
        connection.close()
    return Outcome(
        path=path,
        payload=payload,
        started=started,
        seconds=time.monotonic() - started,
        status=response.status,
        headers={k.lower(): v for k, v in response.getheaders()},
        body=answer,
    )


def upload_body(content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="notes.txt"\r\n'
            "Content-Type: text/plain\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def ok(outcome: Outcome) -> bool:
    return 200 <= outcome.status < 300


@pytest.fixture
def fleet(cluster: Cluster, release: Release, tmp_path: Path) -> Iterator[Fleet]:
    ini = tmp_path / "app.ini"
    ini.write_text(
        APP_INI.format(
            url=cluster.url("outage"),
            connect_timeout=CONNECT_TIMEOUT,
            pool_timeout=POOL_TIMEOUT,
            statement_timeout=STATEMENT_TIMEOUT,
            lock_timeout=LOCK_TIMEOUT,
            files=tmp_path / "files",
        )
    )
    # No bytecode cache: release N+1 rewrites release N's modules in place.
    env = {
        **os.environ,
        "PYTHONPATH": str(release.directory.parent),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    upgrade(ini, env)
    fleet = Fleet(tmp_path, env, ini)
    fleet.token = _api_token(ini, env, "writer@example.org")
    try:
        yield fleet
    finally:
        fleet.close()


class Stored:
    """What the database holds, read by a connection of the test's own."""

    def __init__(self, url: str, release: Release) -> None:
        self.url = url
        self.release = release

    def _scalars(self, sql: str) -> list[Any]:
        engine = create_engine(self.url, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                return list(connection.execute(text(sql)).scalars())
        finally:
            engine.dispose()

    def texts(self) -> set[str]:
        return set(self._scalars(f'SELECT text FROM "{self.release.entries}"'))

    def post_titles(self) -> set[str]:
        return set(self._scalars("SELECT title FROM blog_posts"))

    def written_by_next_release(self) -> int:
        count = self._scalars(
            f"SELECT count(*) FROM \"{self.release.entries}\" WHERE release = 'n+1'"
        )
        return int(count[0])


def test_restarts_deploys_a_killed_process_and_a_paused_database_behind_haproxy(
    fleet: Fleet,
    haproxy: str,
    cluster: Cluster,
    release: Release,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for index in range(PROCESSES):
        fleet.start(index)
    fleet.start_haproxy(haproxy)
    for index in range(PROCESSES):
        fleet.wait_for(index, "UP")

    stored = Stored(cluster.url("outage"), release)
    run = uuid.uuid4().hex[:8]
    marks: dict[str, float] = {}
    stop = threading.Event()
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def load(index: int) -> None:
        base = f"http://127.0.0.1:{fleet.port}"
        headers = {
            "Authorization": f"Bearer {fleet.token}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        n = 0
        while not stop.is_set():
            n += 1
            entry = {"text": f"{run}-{index}-{n}"}
            outcome = call(
                base, "POST", "/ledger/entries", json.dumps(entry).encode(), headers, entry
            )
            with lock:
                outcomes.append(outcome)
            # A steady load, not a flood: the checks must get their turn.
            time.sleep(0.02)

    #: The posts the blog's clients were told were created: title -> the
    #: key of the file attached to it.
    posts: dict[str, str] = {}

    def blog(index: int) -> None:
        base = f"http://127.0.0.1:{fleet.port}"
        auth = {"Authorization": f"Bearer {fleet.token}", "Accept": "application/json"}
        n = 0
        while not stop.is_set():
            n += 1
            body, content_type = upload_body(f"{run}-{index}-{n}\n".encode())
            done = [
                call(base, "POST", "/api/v1/files", body,
                     {**auth, "Content-Type": content_type}, None)
            ]  # fmt: skip
            if done[-1].status == 201:
                key = json.loads(done[-1].body)["key"]
                title = f"{run}-post-{index}-{n}"
                post = {"title": title, "body": "With a file.", "attachments": [key]}
                headers = {**auth, "Content-Type": "application/json"}
                done.append(
                    call(base, "POST", "/api/v1/posts", json.dumps(post).encode(), headers, post)
                )
                if done[-1].status == 201:
                    with lock:
                        posts[title] = key
                    location = done[-1].headers["location"].split(str(fleet.port), 1)[-1]
                    done.append(call(base, "GET", location, b"", auth, None))
            with lock:
                outcomes.extend(done)
            time.sleep(0.02)

    #: Per phase, the rows a client was told were created (201) by the
    #: end of that phase and that the database does not hold.
    lost: dict[str, set[str]] = {}

    def check_committed(phase: str) -> None:
        with lock:
            created = {
                o.payload["text"]
                for o in outcomes
                if o.status == 201 and o.path == "/ledger/entries"
            }
            committed_posts = dict(posts)
        missing = created - stored.texts()
        titles = stored.post_titles()
        missing |= {title for title in committed_posts if title not in titles}
        missing |= {
            f"file {key}"
            for key in committed_posts.values()
            if not (fleet.root / "files" / key[:2] / key[2:4] / key).is_file()
        }
        lost[phase] = missing

    clients = [threading.Thread(target=load, args=(i,)) for i in range(CLIENTS)]
    clients += [threading.Thread(target=blog, args=(i,)) for i in range(BLOG_CLIENTS)]
    for thread in clients:
        thread.start()
    exit_codes = []
    try:
        time.sleep(1.0)
        marks["rolling restart"] = time.monotonic()
        for index in range(PROCESSES):
            exit_codes.append(fleet.stop(index))
            fleet.start(index)
            fleet.wait_for(index, "UP")
        check_committed("rolling restart")
        # Release N+1: its revision applied while release N serves, then
        # each process replaced by one running release N+1.
        marks["rolling deploy"] = time.monotonic()
        release.deploy_next()
        upgrade(fleet.ini, fleet.env)
        for index in range(PROCESSES):
            exit_codes.append(fleet.stop(index))
            fleet.start(index)
            fleet.wait_for(index, "UP")
        check_committed("rolling deploy")
        marks["killed"] = time.monotonic()
        fleet.kill(1)
        fleet.wait_for(1, "DOWN")
        fleet.start(1)
        fleet.wait_for(1, "UP")
        check_committed("sigkill")
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
    check_committed("recovery")

    # A request belongs to the phase in which it was answered: one in
    # flight when a process was killed is the kill's.
    boundaries = [
        ("rolling restart", marks["rolling restart"]),
        ("rolling deploy", marks["rolling deploy"]),
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
    lines = [
        f"{PROCESSES} processes behind haproxy, {CLIENTS} clients writing entries, "
        f"{BLOG_CLIENTS} posting with attachments and reading the posts back:"
    ]
    for name, done in by_phase.items():
        failed = [o for o in done if not ok(o)]
        statuses = sorted({o.status for o in failed})
        lines += [
            f"  ! {o.status} {o.path}: {o.body[:300]!r}"
            for o in failed[:1]
            if o.status not in (0, 502, 503)
        ]
        lines.append(
            f"  {name:16} {len(done):5} requests, {len(failed):3} failed {statuses or ''}, "
            f"slowest {max(o.seconds for o in done):.2f} s"
            + (f", {len(lost[name])} committed rows or files missing" if name in lost else "")
        )
    lines.append(f"  first write answered {recovery:.2f} s after the database resumed")
    reads = [o for o in outcomes if o.path.startswith("/api/v1/posts/") and o.status == 200]
    lines.append(f"  {len(posts)} posts created with an attachment, {len(reads)} read back")
    with capsys.disabled():
        print("\n" + "\n".join(lines))

    assert exit_codes == [0] * (2 * PROCESSES)
    assert [o.status for o in by_phase["steady"] if not ok(o)] == []
    assert [o.status for o in by_phase["rolling restart"] if not ok(o)] == []
    assert [o.status for o in by_phase["rolling deploy"] if not ok(o)] == []
    assert posts
    assert reads
    # Release N+1 served after the deploy.
    assert stored.written_by_next_release() > 0
    # SIGKILL costs at most the requests the process had in flight.
    assert len([o for o in by_phase["sigkill"] if not ok(o)]) <= CLIENTS + BLOG_CLIENTS
    # Every request in flight during the pause, whenever it began, was
    # answered within the bound, with a 503 that says when to come back.
    during = [
        o for o in outcomes
        if o.started < marks["resumed"] and o.started + o.seconds > marks["paused"]
    ]  # fmt: skip
    assert len(during) > CLIENTS
    assert max(o.seconds for o in during) < PAUSED_BOUND
    assert {o.status for o in during} <= {200, 201, 503}
    assert all(o.headers.get("retry-after") for o in during if o.status == 503)
    recovered = [o for o in by_phase["recovery"] if o.started > marks["resumed"] + 2.0]
    assert recovered
    assert all(ok(o) for o in recovered)
    assert recovery < 2.0
    assert all(b"Traceback" not in o.body for o in outcomes)
    # After each phase, every row and file a client was told was created
    # is stored.
    assert {phase: sorted(rows) for phase, rows in lost.items()} == {
        "rolling restart": [],
        "rolling deploy": [],
        "sigkill": [],
        "recovery": [],
    }
