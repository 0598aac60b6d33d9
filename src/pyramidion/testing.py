"""pytest fixtures for Pyramidion applications and add-ons.

Installed with Pyramidion as a pytest plugin, so an add-on's tests get these
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
    A :class:`PyramidionTestApp` (WebTest) over ``pyramidion_app``.
``make_pyramidion_app`` (function)
    Builds further apps with other settings or add-ons.
``live_server`` (function)
    The app served by a real waitress server on a free loopback port. It
    uses the session's database directly: what it commits stays for the
    rest of the session, so tests give their data unique names.
``browser`` (session) / ``page`` (function)
    Headless Chromium (Debian's ``chromium``, driven by Playwright) and a
    fresh page for each test, whose screenshot is kept in
    ``test-artifacts/screenshots/`` when the test ends. Without Chromium the
    browser tests are skipped, except under CI (``CI`` set), where they fail.

The process environment never reaches the apps these fixtures build:
``PYRAMIDION_*`` variables are for deployments, and a test that wants them
passes ``environ=`` to ``make_pyramidion_app``.
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
import transaction
import webtest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from . import app_state, get_database, make_app
from .lifecycle import upgrade

if TYPE_CHECKING:
    from pyramid.registry import Registry
    from pyramid.router import Router

__all__ = [
    "DATABASE_URL_VARIABLE",
    "MakeApp",
    "PyramidionTestApp",
    "bind_to_connection",
    "build_settings",
    "install_test_distribution",
    "migrate",
    "temporary_database",
]

#: The environment variable that points the tests at a database server.
DATABASE_URL_VARIABLE = "PYRAMIDION_TEST_DATABASE_URL"


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
    admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
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


class PyramidionTestApp(webtest.TestApp):  # type: ignore[misc]
    """A WebTest app that sends ``Host: localhost`` and knows the CSRF rules.

    The core requires a CSRF token on every unsafe request: send
    ``headers=app.csrf_headers()`` or put ``csrf_token=app.csrf_token()``
    in the form.
    """

    def __init__(self, app: Router, **kwargs: Any) -> None:
        extra_environ = {"HTTP_HOST": "localhost", **kwargs.pop("extra_environ", {})}
        super().__init__(app, extra_environ=extra_environ, **kwargs)
        self.pyramidion_registry = app.registry

    @property
    def csrf_cookie_name(self) -> str:
        return app_state(self.pyramidion_registry).core.csrf_cookie_name

    def csrf_token(self) -> str:
        """The CSRF token the app accepts from this client.

        The token is the value of the app's CSRF cookie (double-submit): the
        one the app set, or, before it has set one, a new value this client
        stores as a browser would.
        """
        name = self.csrf_cookie_name
        token: str | None = self.cookies.get(name)
        if not token:
            token = uuid.uuid4().hex
            self.set_cookie(name, token)
        # The cookie jar keeps values as sent, quotes included.
        return token.strip('"')

    def csrf_headers(self) -> dict[str, str]:
        """Headers that carry the CSRF token: ``{"X-CSRF-Token": ...}``."""
        return {"X-CSRF-Token": self.csrf_token()}


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

    def __init__(self, app: Router, *, threads: int = 4) -> None:
        import waitress

        self.app = app
        self._server = waitress.create_server(app, host="127.0.0.1", port=0, threads=threads)
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
            # it fail with "bad file descriptor".
            for channel in list(server._map.values()):
                if channel is not server.trigger:
                    channel.handle_close()
            server.trigger.handle_close()

        if self._thread.is_alive():
            server.trigger.pull_trigger(close_everything)
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


# -- fixtures -----------------------------------------------------------------


@pytest.fixture(scope="session")
def pyramidion_addons() -> list[str]:
    """Add-on names the test app enables. Override in your ``conftest.py``."""
    return []


@pytest.fixture(scope="session")
def pyramidion_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of this test session's database.

    ``PYRAMIDION_TEST_DATABASE_URL`` names a server (for PostgreSQL, a fresh
    database is created on it for this session and dropped afterwards);
    without it, a SQLite file in a temporary directory is used.
    """
    configured = os.environ.get(DATABASE_URL_VARIABLE, "").strip()
    if not configured:
        path = tmp_path_factory.mktemp("pyramidion") / "test.sqlite"
        yield str(URL.create("sqlite", database=str(path)))
        return
    if make_url(configured).get_backend_name() == "postgresql":
        with temporary_database(configured) as url:
            yield url
    else:
        yield configured


@pytest.fixture(scope="session")
def pyramidion_extra_settings() -> dict[str, Any]:
    """Settings applied over the defaults. Override to set add-on settings."""
    return {}


@pytest.fixture
def pyramidion_settings(
    pyramidion_database_url: str,
    pyramidion_addons: list[str],
    pyramidion_extra_settings: dict[str, Any],
) -> dict[str, Any]:
    """The test app's settings, from :func:`build_settings`.

    Function-scoped, so that each directory's overrides of
    ``pyramidion_addons`` and ``pyramidion_extra_settings`` apply to its
    own tests even when several add-ons are tested in one session.
    """
    return build_settings(pyramidion_database_url, pyramidion_addons, pyramidion_extra_settings)


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


@pytest.fixture(scope="session")
def pyramidion_app_cache() -> Iterator[AppCache]:
    """The session's :class:`AppCache`; engines are disposed at the end."""
    cache = AppCache()
    try:
        yield cache
    finally:
        cache.close()


@pytest.fixture
def pyramidion_app(pyramidion_settings: dict[str, Any], pyramidion_app_cache: AppCache) -> Router:
    """The WSGI application, on a database migrated for its add-ons.

    Built once per session for each distinct set of settings.
    """
    return pyramidion_app_cache.get(pyramidion_settings)


@pytest.fixture
def db_connection(pyramidion_app: Router) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test.

    While the test runs, ``request.dbsession`` in ``pyramidion_app`` uses
    this connection, so what requests commit is visible to the test and
    undone afterwards.
    """
    engine = get_database(pyramidion_app.registry).engine
    connection = engine.connect()
    outer = connection.begin()
    try:
        with bind_to_connection(pyramidion_app.registry, connection):
            yield connection
    finally:
        if outer.is_active:
            outer.rollback()
        connection.close()


@pytest.fixture
def tm() -> Iterator[transaction.TransactionManager]:
    """The transaction manager ``dbsession`` is joined to.

    ``tm.commit()`` commits what ``dbsession`` holds (a savepoint release
    inside the test's transaction); the next use of ``dbsession`` begins a
    new transaction. Whatever is still open is aborted after the test.
    """
    manager = transaction.TransactionManager()
    try:
        yield manager
    finally:
        manager.abort()


@pytest.fixture
def dbsession(
    pyramidion_app: Router, db_connection: Connection, tm: transaction.TransactionManager
) -> Iterator[Session]:
    """A session on ``db_connection`` for arranging and checking data.

    Requests see what it has flushed. It is joined to ``tm`` and kept open
    across ``tm.commit()``; its objects are not expired, so call
    ``dbsession.expire_all()`` (or query) to see what a request changed.
    """
    session = get_database(pyramidion_app.registry).session_factory()
    # Imported here, after pyramidion.db, which imports it without the
    # database drivers nothing uses (see pyramidion.db._import_zope_sqlalchemy).
    import zope.sqlalchemy

    zope.sqlalchemy.register(session, transaction_manager=tm, keep_session=True)
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def testapp(pyramidion_app: Router, db_connection: Connection) -> PyramidionTestApp:
    """WebTest over ``pyramidion_app``, inside the test's transaction."""
    return PyramidionTestApp(pyramidion_app)


@pytest.fixture
def make_pyramidion_app(pyramidion_settings: dict[str, Any]) -> Iterator[MakeApp]:
    """A factory for apps with other settings or add-ons.

    ``make_pyramidion_app(settings, addons=..., environ=..., connection=...)``
    starts from ``pyramidion_settings``, replaces ``pyramidion.addons`` with
    ``addons`` when given and applies ``settings``; ``environ`` stands in
    for the process environment (empty by default). With ``connection``
    (usually ``db_connection``), the database is migrated for the app on
    that connection and the app's sessions use it until the test ends.
    Start-up errors propagate, so tests can assert on them.
    """
    engines = []
    bindings = contextlib.ExitStack()

    def make(
        settings: Mapping[str, Any] | None = None,
        *,
        addons: Sequence[str] | None = None,
        environ: Mapping[str, str] | None = None,
        connection: Connection | None = None,
    ) -> Router:
        merged = dict(pyramidion_settings)
        if addons is not None:
            merged["pyramidion.addons"] = " ".join(addons)
        merged.update(settings or {})
        app = make_app(merged, environ={} if environ is None else environ)
        engines.append(get_database(app.registry).engine)
        if connection is not None:
            migrate(app.registry, connection)
            bindings.enter_context(bind_to_connection(app.registry, connection))
        return app

    try:
        with bindings:
            yield make
    finally:
        for engine in engines:
            engine.dispose()


@pytest.fixture
def live_server(
    pyramidion_app: Router, pyramidion_settings: dict[str, Any]
) -> Iterator[LiveServer]:
    """The test app served over real HTTP on ``127.0.0.1``.

    A separate app instance with the same settings as ``pyramidion_app``
    (and so the same, already migrated, database), whose requests commit
    for real: give test data unique names.
    """
    app = make_app(pyramidion_settings, environ={})
    server = LiveServer(app).start()
    try:
        yield server
    finally:
        server.stop()
        get_database(app.registry).engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium driven by Playwright, shared by the session."""
    executable = find_chromium()
    if executable is None:
        message = (
            "browser tests need Chromium: install Debian's 'chromium' package "
            "or set PYRAMIDION_TEST_CHROMIUM to a Chromium executable"
        )
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser page; its last screen is saved as a PNG afterwards."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    browser_page = context.new_page()
    try:
        yield browser_page
    finally:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-150:]
        with contextlib.suppress(Exception):
            browser_page.screenshot(path=str(SCREENSHOT_DIR / f"{name}.png"), full_page=True)
        context.close()
