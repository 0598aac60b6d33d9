"""The pytest plugin of Pyramidion: its fixtures (see :mod:`pyramidion.testing`).

pytest loads this module (the ``pytest11`` entry point ``pyramidion``) in
every run in an environment where ``pyramidion-core`` is installed,
including the runs of projects that have nothing to do with Pyramidion. So
loading it imports nothing but pytest: the core, Pyramid, SQLAlchemy and
the extras' WebTest and Playwright are imported by the fixtures that use
them. A project whose warnings are errors is never stopped at start-up by
a deprecation inside Pyramidion's dependencies, and one that has no use
for these fixtures pays nothing for them.

The fixtures are documented in :mod:`pyramidion.testing` and
``docs/developers/testing.md``; the plain functions they are made of live
in :mod:`pyramidion.testing`.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

if TYPE_CHECKING:
    import transaction
    from pyramid.router import Router
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

    from pyramidion.testing import AppCache, LiveServer, MakeApp, PyramidionTestApp

__all__: list[str] = []


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
    from sqlalchemy.engine import URL, make_url

    from pyramidion.testing import DATABASE_URL_VARIABLE, temporary_database

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
    from pyramidion.testing import build_settings

    return build_settings(pyramidion_database_url, pyramidion_addons, pyramidion_extra_settings)


@pytest.fixture(scope="session")
def pyramidion_app_cache() -> Iterator[AppCache]:
    """The session's :class:`~pyramidion.testing.AppCache`; engines are
    disposed at the end."""
    from pyramidion.testing import AppCache

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
    from pyramidion import get_database
    from pyramidion.testing import bind_to_connection

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
    import transaction

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
    import zope.sqlalchemy

    from pyramidion import get_database

    session = get_database(pyramidion_app.registry).session_factory()
    zope.sqlalchemy.register(session, transaction_manager=tm, keep_session=True)
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def testapp(pyramidion_app: Router, db_connection: Connection) -> PyramidionTestApp:
    """WebTest over ``pyramidion_app``, inside the test's transaction."""
    try:
        from pyramidion.testing import PyramidionTestApp
    except ModuleNotFoundError as exc:  # WebTest, with what to install
        pytest.fail(str(exc), pytrace=False)
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
    from pyramidion import get_database, make_app
    from pyramidion.testing import bind_to_connection, migrate

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
def pyramidion_live_server(
    pyramidion_app: Router, pyramidion_settings: dict[str, Any]
) -> Iterator[LiveServer]:
    """The test app served over real HTTP on ``127.0.0.1``.

    A separate app instance with the same settings as ``pyramidion_app``
    (and so the same, already migrated, database), whose requests commit
    for real: give test data unique names.
    """
    from pyramidion import get_database, make_app
    from pyramidion.testing import LiveServer

    app = make_app(pyramidion_settings, environ={})
    server = LiveServer(app).start()
    try:
        yield server
    finally:
        server.stop()
        get_database(app.registry).engine.dispose()


def _browser_unavailable(message: str) -> NoReturn:
    """Skip a browser test, or fail it under CI, where browsers must run."""
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pyramidion_browser() -> Iterator[Any]:
    """Headless Chromium driven by Playwright, shared by the session."""
    from pyramidion.testing import CHROMIUM_ARGS, TESTING_EXTRA, find_chromium

    executable = find_chromium()
    if executable is None:
        _browser_unavailable(
            "browser tests need Chromium: install Debian's 'chromium' package "
            "or set PYRAMIDION_TEST_CHROMIUM to a Chromium executable"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ModuleNotFoundError:
        _browser_unavailable(f"browser tests need Playwright: {TESTING_EXTRA}")

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def pyramidion_page(pyramidion_browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser page; its last screen is saved as a PNG afterwards."""
    from pyramidion.testing import SCREENSHOT_DIR

    context = pyramidion_browser.new_context(viewport={"width": 1280, "height": 900})
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
