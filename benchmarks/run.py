"""Server-level benchmarks: each app under waitress, driven over loopback by wrk.

    make bench        (or: .venv/bin/python benchmarks/run.py [--quick])

Every application runs in its own process under waitress with the same
thread count; wrk drives it over 127.0.0.1 after a warm-up, the runs are
repeated with the apps of a case taking turns (so machine noise hits them
alike), and the table shows medians, the server's peak RSS and each ratio
against its reference, all from this one run, with the server's CPU time
(user and system) and voluntary context switches per request, read from
/proc (a database server's own work is not in them). The applications are in
``apps.py``; the Pyramidion one enables every bundled add-on and ``bench``
(``pyramidion_bench/``), the add-on that serves the measured pages.

Needs ``wrk`` (Debian: ``apt-get install -y wrk``) and, for the PostgreSQL
rows, a server at ``--postgresql`` (a database is created and dropped).
"""

from __future__ import annotations

import argparse
import contextlib
import html.parser
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

HERE = Path(__file__).resolve().parent
EMAIL = "bench@example.com"
PASSWORD = "a long benchmark passphrase 42"
ITEMS = 1000
OWNERS = 50
#: Blog posts of the benchmark's user, for the API cases.
POSTS = 200
#: Clock ticks per second, the unit of /proc/PID/stat's CPU times.
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# -- installing the benchmark add-ons ------------------------------------------


def write_dist_info(site: Path, distribution: str, addons: dict[str, str]) -> None:
    """Publish ``addons`` as entry points of ``distribution``, as pip would."""
    info = site / f"{distribution.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 1.0\n")
    lines = "".join(f"{name} = {target}\n" for name, target in addons.items())
    (info / "entry_points.txt").write_text(f"[pyramidion.addons]\n{lines}")


GENERATED = """
from pyramidion import PUBLIC, Addon


def hello(request):
    return {{"hello": "{name}"}}


def includeme(config):
    config.declare_permission("{name}.edit", "Edit {name}")
    config.add_route("{name}.hello", "/hello")
    config.add_view(hello, route_name="{name}.hello", renderer="json", permission=PUBLIC)


addon = Addon(name="{name}", title="Generated add-on {name}", includeme="{package}:includeme")
"""


def generate_addons(site: Path, count: int) -> list[str]:
    """``count`` small add-ons (a route, a view, a permission) under ``site``."""
    names = [f"gen_{i:03d}" for i in range(count)]
    for name in names:
        package = site / f"pyramidion_{name}"
        package.mkdir(parents=True)
        text = GENERATED.format(name=name, package=f"pyramidion_{name}")
        (package / "__init__.py").write_text(text)
    write_dist_info(site, "pyramidion-generated", {n: f"pyramidion_{n}:addon" for n in names})
    return names


# -- databases -------------------------------------------------------------------


@contextlib.contextmanager
def postgresql_database(server_url: str) -> Iterator[str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    url = make_url(server_url)
    name = f"pyramidion_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def prepare_database(url: str, files: Path) -> str:
    """Migrate for every bundled add-on, create bench's tables, fill them, add a
    user with ``POSTS`` blog posts; returns an API token of that user."""
    import transaction
    import zope.sqlalchemy
    from apps import PASSWORD_HASH_SETTINGS
    from pyramidion_bench.models import Item, Owner
    from sqlalchemy import Table

    from pyramidion import make_app
    from pyramidion.app import get_database
    from pyramidion.lifecycle import upgrade
    from pyramidion_auth.services import create_user
    from pyramidion_auth.tokens import create_api_token
    from pyramidion_blog.models import Attachment, Post
    from pyramidion_storage.models import StoredFile

    app = make_app(
        {
            "sqlalchemy.url": url,
            "pyramidion.addons": "blog bench",
            "storage.local_root": str(files),
            # The user's hash is made as the served app verifies it, or
            # its login would verify with other parameters and rehash.
            **PASSWORD_HASH_SETTINGS,
        },
        environ={},
    )
    database = get_database(app.registry)
    owners, items = cast(Table, Owner.__table__), cast(Table, Item.__table__)
    with database.engine.begin() as connection:
        upgrade(app.registry, connection)
        owners.create(connection)
        items.create(connection)
        connection.execute(owners.insert(), [{"name": f"owner {i}"} for i in range(1, OWNERS + 1)])
        connection.execute(
            items.insert(),
            [
                {"name": f"item {i}", "price": i * 7 % 1000, "owner_id": i % OWNERS + 1}
                for i in range(1, ITEMS + 1)
            ],
        )
    manager = transaction.TransactionManager(explicit=True)
    with manager:
        session = database.session_factory()
        zope.sqlalchemy.register(session, transaction_manager=manager)
        user = create_user(app.registry, session, email=EMAIL, password=PASSWORD)
        posts = [
            Post(author_id=user.id, title=f"Post {i}", body=f"The text of post {i}. " * 8)
            for i in range(1, POSTS + 1)
        ]
        # Every fifth post has a file attached, so that serializing a page
        # includes attachments, as the blog's own do.
        for i, post in enumerate(posts[::5]):
            stored = StoredFile(
                key=f"{i:032x}",
                filename=f"photo-{i}.jpg",
                content_type="image/jpeg",
                size=1000 + i,
                sha256="0" * 64,
                owner_id=str(user.id),
                realm="blog.post",
            )
            post.attachments.append(Attachment(file=stored))
        session.add_all(posts)
        token = create_api_token(app.registry, session, user, "bench")[1]
    database.engine.dispose()
    return token


def prepare_references(url: str, apps: Sequence[str]) -> None:
    """The tables and user of each reference in ``apps`` that keeps its own
    (Django's, Flask's, Django REST Framework's)."""
    sys.path.insert(0, str(HERE))
    from apps import PREPARERS

    for app in (a for a in PREPARERS if a in apps):
        server = Server(app, app, url, {"email": EMAIL, "password": PASSWORD})
        subprocess.run(server.command("--prepare"), env=server.environment(), check=True)


# -- servers ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """One application in its own waitress process."""

    label: str
    app: str
    database: str
    options: dict[str, str] = field(default_factory=dict)
    pythonpath: Sequence[Path] = ()
    threads: int = 4
    #: More arguments for serve.py (``--count-statements FILE``).
    serve_args: Sequence[str] = ()
    port: int = 0
    startup_s: float = 0.0
    process: subprocess.Popen[str] | None = None

    def command(self, *extra: str) -> list[str]:
        command = [sys.executable, str(HERE / "serve.py"), self.app]
        command += ["--threads", str(self.threads), "--database", self.database]
        for key, value in self.options.items():
            command += ["--option", f"{key}={value}"]
        return [*command, *self.serve_args, *extra]

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        # The caller's PYTHONPATH stays after the benchmark's own entries, so
        # that a checkout run with its sources on PYTHONPATH serves them, not
        # the installed copy the runner's own imports would otherwise miss.
        inherited = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in [HERE, *self.pythonpath, *inherited])
        env["PYTHONWARNINGS"] = "ignore"
        return {k: v for k, v in env.items() if not k.startswith("PYRAMIDION_")}

    def start(self) -> Server:
        self.port = free_port()
        self.process = subprocess.Popen(
            self.command("--port", str(self.port)),
            stdout=subprocess.PIPE,
            text=True,
            env=self.environment(),
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"{self.label}: the server exited before it was ready")
        self.startup_s = json.loads(line)["startup_s"]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return self
            time.sleep(0.05)
        raise SystemExit(f"{self.label}: nothing listens on port {self.port}")

    def startup_only(self) -> float:
        output = subprocess.run(
            self.command("--startup-only"),
            capture_output=True,
            text=True,
            env=self.environment(),
            check=True,
        ).stdout
        return float(json.loads(output.splitlines()[0])["startup_s"])

    def peak_rss_mb(self, field: str = "VmHWM") -> float:
        """The server's peak resident memory (or, with ``field="VmRSS"``, its current)."""
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def cpu_and_switches(self) -> tuple[int, int]:
        """The server's CPU time so far in clock ticks (user and system), and
        the voluntary context switches of all its threads."""
        assert self.process is not None
        proc = Path(f"/proc/{self.process.pid}")
        fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime
        switches = 0
        for status in proc.glob("task/*/status"):
            with contextlib.suppress(FileNotFoundError):  # a thread that just ended
                for line in status.read_text().splitlines():
                    if line.startswith("voluntary_ctxt_switches:"):
                        switches += int(line.split()[1])
        return ticks, switches

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            if self.process.stdout is not None:
                self.process.stdout.close()

    def request(self, path: str, **kw: Any) -> Answer:
        """One request on a connection of its own, read to the end and closed."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        with contextlib.closing(connection):
            connection.request(kw.pop("method", "GET"), path, **kw)
            response = connection.getresponse()
            return Answer(response.status, response.headers, response.read())


@dataclass
class Answer:
    """A server's answer, its body read."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def read(self) -> bytes:
        return self.body


class _Inputs(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "input" and values.get("name"):
            self.fields[str(values["name"])] = values.get("value") or ""


def cookies_of(response: Answer) -> dict[str, str]:
    found = {}
    for header in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        found[name.strip()] = rest.split(";", 1)[0]
    return found


def log_in(server: Server, path: str = "/auth/login") -> str:
    """Log in through the app's login form; returns the Cookie header to send.

    The form's own fields (its CSRF token among them) are sent back, with
    the benchmark's user in whichever of ``email`` and ``username`` it has.
    """
    from urllib.parse import urlencode

    page = server.request(path)
    cookies = cookies_of(page)
    parser = _Inputs()
    parser.feed(page.read().decode())
    login = "email" if "email" in parser.fields else "username"
    fields = {**parser.fields, login: EMAIL, "password": PASSWORD, "submit": "submit"}
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    response = server.request(
        path,
        method="POST",
        body=urlencode(fields),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    response.read()
    if response.status not in (302, 303):
        raise SystemExit(f"logging in to {server.label} answered {response.status}")
    cookies.update(cookies_of(response))
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def count_statements(server: Server, path: str, tmp: Path) -> tuple[float, str]:
    """Statements the app sends its database for one logged-in ``GET path``,
    and the page it answered.

    Served from a process of its own with ``--count-statements`` (never the
    timed ones): logged in, the page requested twice (caches filled), then
    the statements of three more requests, one at a time, over three.
    """
    trace = tmp / f"statements-{uuid.uuid4().hex[:8]}.log"
    counted = Server(
        server.label,
        server.app,
        server.database,
        server.options,
        server.pythonpath,
        server.threads,
        serve_args=("--count-statements", str(trace)),
    )
    with serving(counted):
        headers = {"Cookie": log_in(counted)}
        for _ in range(2):
            counted.request(path, headers=headers).read()
        before = trace.read_text().count("\n")
        for _ in range(3):
            response = counted.request(path, headers=headers)
            page = response.read().decode()
            if response.status != 200:
                raise SystemExit(f"{server.label} answered GET {path} with {response.status}")
        lines = trace.read_text().splitlines()[before:]
    return sum(1 for line in lines if is_statement(line)) / 3, page


def is_statement(line: str) -> bool:
    """A line of ``serve.py --count-statements``'s log that is one statement sent:
    SQLite's trace callback, or libpq's trace of a Query or Execute message."""
    if line.startswith("SQL "):
        return True
    fields = line.split("\t")
    return len(fields) > 2 and fields[0] == "F" and fields[2] in ("Query", "Execute")


# -- measuring -------------------------------------------------------------------


@dataclass
class Measured:
    server: Server
    runs: list[dict[str, int]] = field(default_factory=list)
    rss_mb: float = 0.0
    #: Resident memory once the runs are over (the peak may be a moment's).
    rss_after_mb: float = 0.0

    def median(self, key: str) -> float:
        return statistics.median(r[key] for r in self.runs)

    @property
    def rps(self) -> float:
        return statistics.median(r["requests"] / (r["duration_us"] / 1e6) for r in self.runs)

    @property
    def cpu_us(self) -> float:
        """The server's CPU time per request, user and system, in µs."""
        return statistics.median(
            r["cpu_ticks"] / CLOCK_TICKS * 1e6 / max(r["requests"], 1) for r in self.runs
        )

    @property
    def switches(self) -> float:
        """The server's voluntary context switches per request."""
        return statistics.median(r["switches"] / max(r["requests"], 1) for r in self.runs)

    @property
    def bad(self) -> int:
        keys = ("status_errors", "connect", "read", "write", "timeout")
        return sum(r[k] for r in self.runs for k in keys)


def wrk(
    server: Server, path: str, seconds: float, args: argparse.Namespace, headers: Sequence[str]
) -> dict[str, int]:
    command = ["wrk", "-t", str(args.wrk_threads), "-c", str(args.connections)]
    command += [
        "-d",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(HERE / "report.lua"),
    ]
    for header in headers:
        command += ["-H", header]
    command.append(f"http://127.0.0.1:{server.port}{path}")
    ticks, switches = server.cpu_and_switches()
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    ticks_after, switches_after = server.cpu_and_switches()
    result: dict[str, int] = json.loads(output.strip().splitlines()[-1])
    result["cpu_ticks"] = ticks_after - ticks
    result["switches"] = switches_after - switches
    return result


def expect_ok(server: Server, path: str, headers: Sequence[str]) -> None:
    response = server.request(path, headers=dict(h.split(": ", 1) for h in headers))
    response.read()
    if response.status != 200:
        raise SystemExit(f"{server.label} answered GET {path} with {response.status}, not 200")


def measure(
    servers: Sequence[Server],
    path: str | Sequence[str],
    args: argparse.Namespace,
    headers: Sequence[Sequence[str]] = (),
) -> list[Measured]:
    """Warm up, then take turns: ``args.repeats`` runs of each server.

    ``path`` is requested from every server, or is a list of one path per
    server; ``headers``, if given, has the headers to send to each server.
    """
    paths = [path] * len(servers) if isinstance(path, str) else list(path)
    sent = list(headers) or [()] * len(servers)
    results = [Measured(s) for s in servers]
    for server, url_path, extra in zip(servers, paths, sent, strict=True):
        expect_ok(server, url_path, extra)
        wrk(server, url_path, args.warmup, args, extra)
    for _ in range(args.repeats):
        for result, url_path, extra in zip(results, paths, sent, strict=True):
            result.runs.append(wrk(result.server, url_path, args.duration, args, extra))
    for result, url_path, extra in zip(results, paths, sent, strict=True):
        expect_ok(result.server, url_path, extra)
        result.rss_mb = result.server.peak_rss_mb()
        result.rss_after_mb = result.server.peak_rss_mb("VmRSS")
    return results


@contextlib.contextmanager
def serving(*servers: Server) -> Iterator[None]:
    try:
        for server in servers:
            server.start()
        yield
    finally:
        for server in servers:
            server.stop()


@dataclass
class Row:
    case: str
    app: str
    result: Measured
    ratio: float | None = None
    reference: str = ""
    target: str = ""
    met: bool | None = None
    statements: float | None = None


def print_table(rows: Sequence[Row]) -> None:
    header = (
        "| case | app | req/s | p50 ms | p99 ms | non-2xx | peak RSS MB "
        "| CPU µs/req | switches/req | ratio | vs | target | statements/req |"
    )
    print(header)
    print("|" + "---|" * 13)
    for row in rows:
        r = row.result
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else ""
        verdict = {True: " (met)", False: " (NOT met)", None: ""}[row.met]
        statements = f"{row.statements:g}" if row.statements is not None else ""
        print(
            f"| {row.case} | {row.app} | {r.rps:,.0f} | {r.median('p50_us') / 1000:.2f} "
            f"| {r.median('p99_us') / 1000:.2f} | {r.bad} | {r.rss_mb:.0f} "
            f"| {r.cpu_us:.0f} | {r.switches:.1f} | {ratio} "
            f"| {row.reference} | {row.target}{verdict} | {statements} |"
        )


def compare(
    case: str, results: Sequence[Measured], reference: str, target: float | None
) -> list[Row]:
    by_label = {r.server.label: r for r in results}
    ref = by_label[reference]
    rows = []
    for result in results:
        row = Row(case, result.server.label, result)
        if result is not ref:
            row.ratio = result.rps / ref.rps
            row.reference = reference
            if target is not None and result.server.label.startswith("Pyramidion"):
                row.target = f"≥ {target:.2f}x"
                row.met = row.ratio >= target and result.bad == 0
        rows.append(row)
    return rows


# -- the cases -------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per run (5)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds (2)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per app (3)")
    parser.add_argument("--threads", type=int, default=4, help="waitress threads (4)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (8)")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument(
        "--postgresql",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="PostgreSQL server for the database rows ('' skips them)",
    )
    parser.add_argument("--quick", action="store_true", help="1 s runs, 1 repeat: a smoke test")
    parser.add_argument(
        "--cases",
        default="page,api,hello,row,addons,admin",
        help="comma-separated subset of page,api,hello,row,addons,admin (default: all); "
        "admin is the admin's user list with 1,000,000 users on --postgresql "
        "(benchmarks/admin_list.py --trigram), in process",
    )
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting for every Pyramidion app (repeatable), to compare one "
        "setting's effect: --setting pyramidion.gc_freeze=false",
    )
    args = parser.parse_args(argv)
    try:
        args.settings = dict(_setting(item) for item in args.setting)
    except ValueError as error:
        parser.error(str(error))
    if args.quick:
        args.duration, args.warmup, args.repeats = 1.0, 1.0, 1
    if shutil.which("wrk") is None:
        print("wrk is not installed; on Debian: apt-get install -y wrk", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="pyramidion-bench-") as tmp_name:
        tmp = Path(tmp_name)
        site = tmp / "site"
        write_dist_info(site, "pyramidion-bench", {"bench": "pyramidion_bench:addon"})
        generated = tmp / "generated"
        gen_names = generate_addons(generated, 100)
        sys.path[:0] = [str(HERE), str(site)]
        files = tmp / "files"
        with contextlib.ExitStack() as stack:
            databases = {"SQLite": f"sqlite:///{tmp / 'bench.sqlite'}"}
            if args.postgresql:
                databases["PostgreSQL"] = stack.enter_context(postgresql_database(args.postgresql))
            cases = args.cases.split(",")
            tokens = {}
            for url in databases.values():
                tokens[url] = prepare_database(url, files)
                references = ["django", "flask-page"] if "page" in cases else []
                references += ["drf"] if "api" in cases else []
                prepare_references(url, references)
            rows = run_cases(args, databases, site, generated, gen_names, files, tokens)
    print()
    print_table(rows)
    print()
    print(startup_report)
    admin_met = True
    if "admin" in cases and args.postgresql:
        admin_met = admin_case(args) == 0
    return 0 if admin_met and all(row.met is not False for row in rows) else 1


def admin_case(args: argparse.Namespace) -> int:
    """The admin's user list on a big table, by benchmarks/admin_list.py in a
    process of its own (it seeds its own temporary database); its exit status."""
    print("-- admin user list, PostgreSQL", file=sys.stderr)
    size = ["--users", "20000", "--requests", "10"] if args.quick else []
    command = [sys.executable, str(HERE / "admin_list.py"), "--trigram", *size]
    return subprocess.call([*command, "--postgresql", args.postgresql])


def _setting(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or "." not in key:
        raise ValueError(f"--setting {item!r}: expected KEY=VALUE with a dotted KEY")
    return key, value


startup_report = ""


def run_cases(
    args: argparse.Namespace,
    databases: dict[str, str],
    site: Path,
    generated: Path,
    gen_names: list[str],
    files: Path,
    tokens: dict[str, str],
) -> list[Row]:
    rows: list[Row] = []
    options = {"files": str(files), **args.settings}

    def pyramidion(label: str, url: str, **extra: str) -> Server:
        return Server(label, "pyramidion", url, {**options, **extra}, [site], args.threads)

    def reference(label: str, app: str, url: str) -> Server:
        return Server(label, app, url, {}, [], args.threads)

    cases = set(args.cases.split(","))
    sqlite = databases["SQLite"]
    if "page" in cases:
        rows += page_case(args, pyramidion, reference, databases, files.parent)
    if "api" in cases:
        rows += api_case(args, pyramidion, reference, databases, tokens)
    if "hello" in cases:
        rows += hello_case(args, pyramidion, reference, sqlite)
    rss: dict[str, float] = {}
    if "row" in cases:
        rows += row_case(args, pyramidion, reference, databases, rss)
    if "addons" in cases:
        rows += addons_case(args, pyramidion, sqlite, site, generated, gen_names, rss)
    return rows


def hello_case(
    args: argparse.Namespace, pyramidion: Any, reference: Any, sqlite: str
) -> list[Row]:
    print("-- JSON hello", file=sys.stderr)
    servers = [
        reference("raw WSGI", "raw-wsgi", sqlite),
        reference("bare Pyramid", "bare-pyramid", sqlite),
        reference("bare Pyramid + security headers", "bare-pyramid-headers", sqlite),
        reference("Flask", "flask-sqlalchemy", sqlite),
        pyramidion("Pyramidion", sqlite),
    ]
    with serving(*servers):
        results = measure(servers, "/bench/hello", args)
    return compare("JSON hello", results, "bare Pyramid", None)


def row_case(
    args: argparse.Namespace,
    pyramidion: Any,
    reference: Any,
    databases: dict[str, str],
    rss: dict[str, float],
) -> list[Row]:
    rows: list[Row] = []
    for db_name, url in databases.items():
        print(f"-- one row by primary key, {db_name}", file=sys.stderr)
        servers = [
            reference("Flask + SQLAlchemy", "flask-sqlalchemy", url),
            reference("bare Pyramid + SQLAlchemy", "bare-pyramid", url),
            reference("Pyramid + pyramid_tm + zope.sqlalchemy", "pyramid-tm", url),
            pyramidion("Pyramidion", url),
        ]
        with serving(*servers):
            results = measure(servers, "/bench/items/42", args)
        rows += compare(f"row by id ({db_name})", results, "Flask + SQLAlchemy", None)
        for result in results:
            rss[f"{result.server.label} ({db_name})"] = result.rss_mb
    return rows


#: The page case's targets: Pyramidion's requests a second over each reference's.
PAGE_TARGETS = {"Flask + database sessions": 1.1, "Django": 1.5}
#: p99 over p50, and peak RSS over Flask's (database sessions), at most.
PAGE_P99_OVER_P50 = 3.0
PAGE_RSS_OVER_FLASK = 1.2


def page_case(
    args: argparse.Namespace,
    pyramidion: Any,
    reference: Any,
    databases: dict[str, str],
    tmp: Path,
) -> list[Row]:
    """The headline: the logged-in page of 20 items with their owners, in
    every app, each logged in through its own form, taking turns."""
    rows: list[Row] = []
    for db_name, url in databases.items():
        print(f"-- logged-in page of 20 rows with owners, {db_name}", file=sys.stderr)
        servers = [
            reference("Django", "django", url),
            reference("Flask + database sessions", "flask-page", url),
            reference("Flask + signed-cookie sessions", "flask-page-cookie", url),
            pyramidion("Pyramidion", url),
        ]
        statements = {s.label: count_statements(s, "/bench/list", tmp)[0] for s in servers}
        with serving(*servers):
            cookies = [[f"Cookie: {log_in(server)}"] for server in servers]
            results = measure(servers, "/bench/list", args, cookies)
        case_rows = compare(
            f"20-row HTML page, logged in ({db_name})", results, "Flask + database sessions", None
        )
        by_label = {r.server.label: r for r in results}
        for row in case_rows:
            row.statements = statements[row.app]
            if row.app == "Pyramidion":
                row.target, row.met = page_verdict(row.result, by_label)
        rows += case_rows
    return rows


def page_verdict(ours: Measured, by_label: dict[str, Measured]) -> tuple[str, bool]:
    """The page targets, as one cell: each ratio, its target and whether it is met."""
    parts, met = [], ours.bad == 0
    for label, target in PAGE_TARGETS.items():
        ratio = ours.rps / by_label[label].rps
        parts.append(f"{ratio:.2f}x {label} ≥ {target:.2f}x" + _met(ratio >= target))
        met = met and ratio >= target
    tail = ours.median("p99_us") / ours.median("p50_us")
    parts.append(
        f"p99 {tail:.1f}x p50 < {PAGE_P99_OVER_P50:.0f}x" + _met(tail < PAGE_P99_OVER_P50)
    )
    flask = by_label["Flask + database sessions"]
    rss = ours.rss_mb / flask.rss_mb
    parts.append(
        f"peak RSS {rss:.2f}x Flask's ≤ {PAGE_RSS_OVER_FLASK}x"
        + _met(rss <= PAGE_RSS_OVER_FLASK)
        + f" (after the runs {ours.rss_after_mb:.0f} MB, Flask {flask.rss_after_mb:.0f} MB)"
    )
    met = met and tail < PAGE_P99_OVER_P50 and rss <= PAGE_RSS_OVER_FLASK
    return "; ".join(parts) + "; all", met


def _met(ok: bool) -> str:
    return " (met)" if ok else " (NOT met)"


#: The API cases' target: Pyramidion's requests a second over Django REST Framework's.
API_TARGET = 1.5
#: What the API cases request: one post, and a page of 20 (the newest).
API_PATHS = {"one post as JSON": "/api/v1/posts/42", "page of 20 posts": "/api/v1/posts?limit=20"}
#: Settings of the Pyramidion app in the API cases: the per-token rate limit
#: is meant for clients, not for wrk.
API_SETTINGS = {"api.rate_limit": "0"}


def api_case(
    args: argparse.Namespace,
    pyramidion: Any,
    reference: Any,
    databases: dict[str, str],
    tokens: dict[str, str],
) -> list[Row]:
    """The api add-on's posts against Django REST Framework's, each with a
    token of the same user: one post, and a page of 20 with a cursor."""
    from drf_bench import TOKEN

    rows: list[Row] = []
    for db_name, url in databases.items():
        servers = [
            reference("Django REST Framework", "drf", url),
            pyramidion(
                "Pyramidion", url, addons="auth forms storage blog bench api", **API_SETTINGS
            ),
        ]
        headers = [[f"Authorization: Token {TOKEN}"], [f"Authorization: Bearer {tokens[url]}"]]
        with serving(*servers):
            for label, path in API_PATHS.items():
                print(f"-- API: {label} with a token, {db_name}", file=sys.stderr)
                results = measure(servers, path, args, headers)
                case_rows = compare(
                    f"API {label}, token ({db_name})", results, "Django REST Framework", None
                )
                for row in case_rows:
                    if row.app == "Pyramidion":
                        row.target, row.met = api_verdict(row.result, results[0])
                rows += case_rows
    return rows


def api_verdict(ours: Measured, drf: Measured) -> tuple[str, bool]:
    """The API targets, as one cell: the ratio to DRF and the tail."""
    ratio = ours.rps / drf.rps
    tail = ours.median("p99_us") / ours.median("p50_us")
    met = ours.bad == 0 and ratio >= API_TARGET and tail < PAGE_P99_OVER_P50
    return (
        f"{ratio:.2f}x DRF ≥ {API_TARGET:.2f}x{_met(ratio >= API_TARGET)}; "
        f"p99 {tail:.1f}x p50 < {PAGE_P99_OVER_P50:.0f}x{_met(tail < PAGE_P99_OVER_P50)}; all",
        met,
    )


def addons_case(
    args: argparse.Namespace,
    pyramidion: Any,
    sqlite: str,
    site: Path,
    generated: Path,
    gen_names: list[str],
    rss: dict[str, float],
) -> list[Row]:
    global startup_report
    print("-- generated add-ons", file=sys.stderr)
    path_for = {1: gen_names[0], 100: gen_names[99]}
    servers = [
        pyramidion(
            f"Pyramidion + {n} generated", sqlite, addons=" ".join(["bench", *gen_names[:n]])
        )
        for n in (1, 100)
    ]
    for server in servers:
        server.pythonpath = [site, generated]
    with serving(*servers):
        # Taking turns, as the other cases do, so that noise hits both alike.
        per = measure(servers, [f"/{path_for[n]}/hello" for n in (1, 100)], args)
    rows = compare("last add-on's route", per, servers[0].label, 0.95)

    counts = (0, 1, 25, 50, 100)
    startup: dict[int, float] = {}
    for n in counts:
        server = pyramidion("startup", sqlite, addons=" ".join(["bench", *gen_names[:n]]))
        server.pythonpath = [site, generated]
        startup[n] = statistics.median(server.startup_only() for _ in range(max(args.repeats, 3)))
    slope = (startup[100] - startup[0]) / 100
    lines = [
        "Start-up (imports and make_app, median of runs), bundled add-ons + bench + N generated:"
    ]
    for n in counts:
        predicted = startup[0] + slope * n
        lines.append(
            f"  N={n:>3}: {startup[n]:.2f} s   (linear from N=0 and N=100: {predicted:.2f} s)"
        )
    verdict = "met" if startup[100] < 2 else "NOT met"
    lines.append(f"  per add-on: {slope * 1000:.1f} ms; target < 2 s for 100: {verdict}")

    for db_name in ("SQLite", "PostgreSQL"):
        if f"Pyramidion ({db_name})" not in rss:
            continue
        ours = rss[f"Pyramidion ({db_name})"]
        theirs = rss[f"bare Pyramid + SQLAlchemy ({db_name})"]
        lines.append(
            f"Peak RSS ({db_name}): Pyramidion with all bundled add-ons {ours:.0f} MB, "
            f"bare Pyramid + SQLAlchemy {theirs:.0f} MB: {ours / theirs:.2f}x (target ≤ 1.30x: "
            f"{'met' if ours / theirs <= 1.3 else 'NOT met'})"
        )
    startup_report = "\n".join(lines)
    return rows


if __name__ == "__main__":
    sys.exit(main())
