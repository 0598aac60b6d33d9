"""pytest fixtures for Pyramidion applications and add-ons.

Installed with Pyramidion as a pytest plugin (the module
:mod:`pytest_pyramidion`, which defines the fixtures and imports this
module only when one of them is used), so an add-on's tests get these
fixtures without importing anything. Each test runs against a real database
inside a transaction that is rolled back when the test ends, and every
request the test makes shares that transaction.

An add-on enables itself (and anything else its tests need) in its
``conftest.py``::

    @pytest.fixture(scope="session")
    def pyramidion_addons():
        return ["blog"]

and then writes tests with the fixtures below::

    def test_lists_posts(testapp, dbsession):
        dbsession.add(Post(title="Hello"))
        dbsession.flush()
        assert "Hello" in testapp.get("/blog/").text

The fixtures, from the widest scope in:

``pyramidion_addons`` (session)
    Add-on names to enable; ``[]`` unless overridden.
``pyramidion_database_url`` (session)
    ``PYRAMIDION_TEST_DATABASE_URL`` when set, otherwise a SQLite file in a
    temporary directory. For a PostgreSQL URL a fresh database with a
    unique name is created on that server for the session and dropped at
    the end, so concurrent runs never see each other's data.
``pyramidion_extra_settings`` (session)
    Settings merged over the defaults; ``{}`` unless overridden.
``pyramidion_settings`` (function)
    The app's settings: see :func:`build_settings`.
``pyramidion_app`` (function)
    The WSGI application, built after the database is migrated; built once
    per session for each distinct set of settings, so the tests of several
    add-ons can share a session.
``db_connection`` (function)
    A connection with a transaction begun; while the test runs, every
    ``request.dbsession`` of ``pyramidion_app`` uses it (its commits only
    release savepoints), and the transaction is rolled back afterwards.
``tm`` / ``dbsession`` (function)
    A transaction manager and a session on ``db_connection`` joined to it,
    for arranging data and checking what requests wrote.
``testapp`` (function)
    A :class:`~pyramidion.testapp.PyramidionTestApp` (WebTest) over
    ``pyramidion_app``.
``make_pyramidion_app`` (function)
    Builds further apps with other settings or add-ons.
``pyramidion_live_server`` (function)
    The app served by a real waitress server on a free loopback port. It
    uses the session's database directly: what it commits stays for the
    rest of the session, so tests give their data unique names.
``pyramidion_browser`` (session) / ``pyramidion_page`` (function)
    Headless Chromium (Debian's ``chromium``, driven by Playwright) and a
    fresh page for each test, whose screenshot is kept in
    ``test-artifacts/screenshots/`` when the test ends. Without Chromium the
    browser tests are skipped, except under CI (``CI`` set), where they fail.

The process environment never reaches the apps these fixtures build:
``PYRAMIDION_*`` variables are for deployments, and a test that wants them
passes ``environ=`` to ``make_pyramidion_app``.

The plugin is loaded by every pytest run in an environment where the core
is installed, including projects that have nothing to do with Pyramidion,
so loading it imports nothing but pytest, and this module needs nothing
beyond the core's own dependencies: WebTest, Playwright and the PostgreSQL
driver (the ``testing`` and ``postgresql`` extras) are imported where they
are used, with a message saying what to install when they are missing.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import shutil
import sys
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import NullPool

from . import get_database, make_app
from .lifecycle import upgrade

if TYPE_CHECKING:
    from pyramid.registry import Registry
    from pyramid.router import Router

    from .testapp import PyramidionTestApp

__all__ = [
    "CHROMIUM_ARGS",
    "DATABASE_URL_VARIABLE",
    "SCREENSHOT_DIR",
    "TESTING_EXTRA",
    "AppCache",
    "LiveServer",
    "MakeApp",
    "PyramidionTestApp",
    "axe_violations",
    "bind_to_connection",
    "build_settings",
    "find_chromium",
    "install_test_distribution",
    "migrate",
    "own_database",
    "temporary_database",
]

#: The environment variable that points the tests at a database server.
DATABASE_URL_VARIABLE = "PYRAMIDION_TEST_DATABASE_URL"

#: What to install for the fixtures that need more than the core.
TESTING_EXTRA = "pip install 'pyramidion-core[testing]'"


def __getattr__(name: str) -> Any:
    # PyramidionTestApp needs WebTest; it is imported on first use so that
    # loading this plugin never does.
    if name == "PyramidionTestApp":
        return _test_app_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _test_app_class() -> type[PyramidionTestApp]:
    try:
        from .testapp import PyramidionTestApp
    except ModuleNotFoundError as exc:
        if exc.name != "webtest":
            raise
        raise ModuleNotFoundError(
            f"PyramidionTestApp and the testapp fixture need WebTest: {TESTING_EXTRA}",
            name=exc.name,
        ) from exc
    return PyramidionTestApp


# -- plain functions the fixtures are made of ---------------------------------


def build_settings(
    database_url: str,
    addons: Sequence[str] = (),
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The settings a test app starts from.

    ``sqlalchemy.url`` is ``database_url``, ``pyramidion.addons`` lists
    ``addons`` and ``pyramidion.environment`` is ``development`` (so cookies
    work over WebTest's plain HTTP); ``overrides`` is applied last. Add-on
    authors who need more than ``pyramidion_extra_settings`` offers
    override the ``pyramidion_settings`` fixture and call this.
    """
    settings: dict[str, Any] = {
        "sqlalchemy.url": database_url,
        "pyramidion.addons": " ".join(addons),
        "pyramidion.environment": "development",
    }
    settings.update(overrides or {})
    return settings


@contextlib.contextmanager
def temporary_database(server_url: str) -> Iterator[str]:
    """Create a uniquely named database next to ``server_url``'s; drop it after.

    Yields the new database's URL. Only server databases (PostgreSQL) are
    supported; the URL's user needs the CREATEDB privilege.
    """
    url = make_url(server_url)
    name = f"pyramidion_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    except ModuleNotFoundError as exc:
        pytest.fail(
            f"{DATABASE_URL_VARIABLE} names a {url.get_backend_name()} server, but its "
            f"driver ({exc.name}) is not installed: pip install "
            "'pyramidion-core[postgresql]', or unset the variable to test on SQLite.",
            pytrace=False,
        )
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        pytest.fail(
            f"could not create the test database '{name}' on "
            f"{url.render_as_string(hide_password=True)} (from "
            f"{DATABASE_URL_VARIABLE}): {type(exc).__name__}: {exc}\n"
            "Check that the server is running and that the user may create "
            f"databases, or unset {DATABASE_URL_VARIABLE} to test on SQLite.",
            pytrace=False,
        )
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            # FORCE ends connections a test left open rather than failing.
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def own_database(tmp_path_factory: pytest.TempPathFactory, label: str = "own") -> Iterator[str]:
    """A fresh database where the session's is, for tests whose data must
    not meet the session's (a live server that commits for real, counts of
    what is installed): a new database on the PostgreSQL server
    ``PYRAMIDION_TEST_DATABASE_URL`` names (dropped afterwards), otherwise a
    new SQLite file in a temporary directory named after ``label``.
    Override ``pyramidion_database_url`` with it::

        @pytest.fixture(scope="module")
        def pyramidion_database_url(tmp_path_factory):
            with own_database(tmp_path_factory) as url:
                yield url
    """
    configured = os.environ.get(DATABASE_URL_VARIABLE, "").strip()
    if configured and make_url(configured).get_backend_name() == "postgresql":
        with temporary_database(configured) as url:
            yield url
    else:
        path = tmp_path_factory.mktemp(label) / "test.sqlite"
        # Built rather than parsed, so that no character of the path is
        # read as part of the URL's syntax.
        yield URL.create("sqlite", database=str(path)).render_as_string(hide_password=False)


def migrate(registry: Registry, connection: Connection) -> list[str]:
    """Migrate the database and install the app's add-ons on ``connection``.

    Runs :func:`pyramidion.lifecycle.upgrade` inside the connection's
    current transaction and returns what it reports.
    """
    return upgrade(registry, connection)


@contextlib.contextmanager
def bind_to_connection(registry: Registry, connection: Connection) -> Iterator[None]:
    """Make every ``request.dbsession`` of the app use ``connection``.

    Sessions join the connection's transaction with savepoints, so what a
    request commits is visible to the rest of the test but rolled back with
    the connection's transaction. The app's own session factory is put
    back on exit.
    """
    database = get_database(registry)
    original = database.session_factory
    options = {**original.kw, "bind": connection, "join_transaction_mode": "create_savepoint"}
    database.session_factory = sessionmaker(class_=original.class_, **options)
    try:
        yield
    finally:
        database.session_factory = original


class MakeApp(Protocol):
    """The ``make_pyramidion_app`` factory."""

    def __call__(
        self,
        settings: Mapping[str, Any] | None = None,
        *,
        addons: Sequence[str] | None = None,
        environ: Mapping[str, str] | None = None,
        connection: Connection | None = None,
    ) -> Router: ...


def install_test_distribution(
    site: Path,
    *,
    source: Path,
    distribution: str,
    addons: Mapping[str, str],
    version: str = "1.0",
) -> None:
    """Make an example add-on importable and discoverable for this process.

    Packages under ``source`` become importable, and ``site`` gets a
    ``dist-info`` directory publishing ``addons`` (add-on name to entry
    point, such as ``{"blogtest": "blog_example:addon"}``) as distribution
    ``distribution``, exactly as pip would have installed it. Use it from a
    session-scoped fixture for the example add-ons an add-on's tests need.
    """
    normalized = re.sub(r"[-_.]+", "_", distribution).lower()
    info = site / f"{normalized}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n"
    )
    lines = "".join(f"{name} = {target}\n" for name, target in addons.items())
    (info / "entry_points.txt").write_text(f"[pyramidion.addons]\n{lines}")
    sys.path[:0] = [str(source), str(site)]
    importlib.invalidate_caches()


class LiveServer:
    """A WSGI app served by waitress on a free loopback port, in a thread."""

    def __init__(self, app: Router, *, threads: int = 4, **waitress_options: Any) -> None:
        """Serve ``app``; ``waitress_options`` are further arguments of
        waitress's server (``max_request_body_size=...``)."""
        import waitress

        self.app = app
        # The socket map is ours (create_server's documented ``map``), so
        # stop() can close every connection the server has open.
        self._sockets: dict[int, Any] = {}
        self._server = waitress.create_server(
            app, map=self._sockets, host="127.0.0.1", port=0, threads=threads, **waitress_options
        )
        #: The base URL, without a trailing slash: ``http://127.0.0.1:PORT``.
        self.url = f"http://127.0.0.1:{self._server.effective_port}"
        self._thread = threading.Thread(target=self._server.run, name="live-server", daemon=True)

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Let running requests finish, close every connection and the
        listening socket, then join."""
        server = self._server
        # Workers first: a worker finishing a request wakes the server loop
        # through its trigger, which must still be open then.
        server.task_dispatcher.shutdown()

        def close_everything() -> None:
            # Runs in the server's own loop thread: closing sockets from
            # another thread while the loop waits on them in select() makes
            # it fail with "bad file descriptor". The connections first, then
            # the server's close(): its listening socket and its trigger.
            # With the socket map empty, the loop ends.
            for channel in list(self._sockets.values()):
                if channel is not server and channel is not server.trigger:
                    channel.handle_close()
            server.close()

        if not self._thread.is_alive():
            return
        try:
            server.trigger.pull_trigger(close_everything)
        except OSError:
            # The trigger is closed already, so nothing can wake the loop to
            # close the rest; its thread is a daemon and ends with the
            # process. (Seen once in a full run, after a malformed request.)
            return
        self._thread.join(timeout=10)


#: Flags for Chromium on a machine with no display and no outside network.
CHROMIUM_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

#: Where screenshots of browser tests are kept.
SCREENSHOT_DIR = Path("test-artifacts") / "screenshots"


def find_chromium() -> str | None:
    """The Chromium executable: ``PYRAMIDION_TEST_CHROMIUM`` or the one on PATH."""
    configured = os.environ.get("PYRAMIDION_TEST_CHROMIUM")
    if configured:
        return configured
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def find_axe() -> Path | None:
    """axe-core's ``axe.min.js``: ``PYRAMIDION_TEST_AXE``, or the one ``npm``
    installed in a ``node_modules`` of the working directory or above."""
    configured = os.environ.get("PYRAMIDION_TEST_AXE")
    if configured:
        return Path(configured)
    for directory in (Path.cwd(), *Path.cwd().parents):
        candidate = directory / "node_modules" / "axe-core" / "axe.min.js"
        if candidate.is_file():
            return candidate
    return None


def axe_violations(
    page: Any, *, impacts: Sequence[str] = ("serious", "critical")
) -> list[dict[str, Any]]:
    """The accessibility violations axe-core finds on ``page`` (a Playwright page).

    Only violations of the given ``impacts`` are returned, each as
    ``{"id", "impact", "help", "targets"}``. axe-core comes from the npm
    registry (``npm install axe-core``, which ``make install`` runs); it is
    evaluated through the browser's debugging protocol, so the page's
    Content-Security-Policy stays as strict as it is for users. Without
    axe-core the test is skipped (failed when ``CI`` is set).
    """
    script = find_axe()
    if script is None:
        message = (
            "accessibility checks need axe-core: run 'make install' (npm ci) or set "
            "PYRAMIDION_TEST_AXE to an axe.min.js"
        )
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(script.read_text(encoding="utf-8") + "\n;undefined")
    results = page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map("
        "v => ({id: v.id, impact: v.impact, help: v.help,"
        " targets: v.nodes.map(n => n.target.join(' '))})))"
    )
    return [v for v in results if v["impact"] in impacts]


class AppCache:
    """Apps built once per session and per distinct settings."""

    def __init__(self) -> None:
        self._apps: dict[tuple[tuple[str, str], ...], Router] = {}

    def get(self, settings: Mapping[str, Any]) -> Router:
        """The app for ``settings``, built and migrated on first use."""
        key = tuple(sorted((k, str(v)) for k, v in settings.items()))
        app = self._apps.get(key)
        if app is None:
            app = make_app(settings, environ={})
            with get_database(app.registry).engine.begin() as connection:
                migrate(app.registry, connection)
            self._apps[key] = app
        return app

    def close(self) -> None:
        for app in self._apps.values():
            get_database(app.registry).engine.dispose()
        self._apps.clear()
