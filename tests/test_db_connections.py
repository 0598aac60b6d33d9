"""Pooled connections: a connection the database dropped does not fail a
request, and connections in steady use are not pinged before each one.

Sessions find their request's transaction manager through events
registered once on the session factory."""

from __future__ import annotations

from typing import Any

import pytest
import transaction
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from pyramidion import db
from pyramidion.app import get_database
from pyramidion.db import independent_session
from pyramidion.testing import MakeApp, PyramidionTestApp
from tests.conftest import Notes


def _one_connection_app(make_pyramidion_app: MakeApp, url: str, **settings: str) -> Any:
    return make_pyramidion_app(
        {
            "sqlalchemy.url": url,
            "sqlalchemy.pool_size": "1",
            "sqlalchemy.max_overflow": "0",
            **settings,
        },
        addons=["notes"],
    )


def _backend_pid(app: Any) -> int:
    with get_database(app.registry).engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(url: str, pid: int) -> None:
    admin = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        admin.dispose()


@pytest.fixture
def postgresql_url(pyramidion_database_url: str) -> str:
    if make_url(pyramidion_database_url).get_backend_name() != "postgresql":
        pytest.skip("kills a server-side connection: needs PYRAMIDION_TEST_DATABASE_URL")
    return pyramidion_database_url


def test_a_connection_killed_just_after_use_is_retried_on_a_new_one(
    notes: Notes, make_pyramidion_app: MakeApp, postgresql_url: str
) -> None:
    app = _one_connection_app(make_pyramidion_app, postgresql_url)
    testapp = PyramidionTestApp(app)
    testapp.get("/notes/touch", status=200)
    killed = _backend_pid(app)

    _terminate(postgresql_url, killed)

    # Not idle long enough to be pinged: the query finds the connection
    # dropped, and pyramid_retry runs the request again on a new one.
    assert testapp.get("/notes/touch", status=200).json == {"one": 1}
    assert _backend_pid(app) != killed


def test_a_connection_killed_while_idle_is_replaced_before_use(
    notes: Notes,
    make_pyramidion_app: MakeApp,
    postgresql_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One attempt only: the request succeeds without pyramid_retry's help.
    app = _one_connection_app(make_pyramidion_app, postgresql_url, **{"retry.attempts": "1"})
    testapp = PyramidionTestApp(app)
    testapp.get("/notes/touch", status=200)
    killed = _backend_pid(app)

    _terminate(postgresql_url, killed)
    monkeypatch.setattr(db.engine, "PING_AFTER_IDLE_SECONDS", 0.0)

    assert testapp.get("/notes/touch", status=200).json == {"one": 1}
    assert _backend_pid(app) != killed


def test_a_dropped_connection_that_is_not_replaced_fails_with_503(
    notes: Notes, make_pyramidion_app: MakeApp, postgresql_url: str
) -> None:
    # What the two tests above protect against: with one attempt and no
    # ping, the dropped connection reaches the view.
    app = _one_connection_app(make_pyramidion_app, postgresql_url, **{"retry.attempts": "1"})
    testapp = PyramidionTestApp(app)
    testapp.get("/notes/touch", status=200)

    _terminate(postgresql_url, _backend_pid(app))

    testapp.get("/notes/touch", headers={"Accept": "application/json"}, status=503)
    testapp.get("/notes/touch", status=200)


def _count_pings(app: Any, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    dialect = get_database(app.registry).engine.dialect
    pings: list[Any] = []
    original = dialect.do_ping

    def do_ping(dbapi_connection: Any) -> bool:
        pings.append(dbapi_connection)
        return bool(original(dbapi_connection))

    monkeypatch.setattr(dialect, "do_ping", do_ping)
    return pings


def test_connections_in_steady_use_are_not_pinged(
    notes: Notes,
    make_pyramidion_app: MakeApp,
    pyramidion_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = _one_connection_app(make_pyramidion_app, pyramidion_database_url)
    pings = _count_pings(app, monkeypatch)
    testapp = PyramidionTestApp(app)

    for _ in range(3):
        testapp.get("/notes/touch", status=200)
    assert pings == []

    monkeypatch.setattr(db.engine, "PING_AFTER_IDLE_SECONDS", 0.0)
    testapp.get("/notes/touch", status=200)
    assert len(pings) == 1


def test_pool_pre_ping_setting_pings_every_checkout(
    notes: Notes,
    make_pyramidion_app: MakeApp,
    pyramidion_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = _one_connection_app(
        make_pyramidion_app, pyramidion_database_url, **{"sqlalchemy.pool_pre_ping": "true"}
    )
    testapp = PyramidionTestApp(app)
    testapp.get("/notes/touch", status=200)
    pings = _count_pings(app, monkeypatch)

    testapp.get("/notes/touch", status=200)
    testapp.get("/notes/touch", status=200)
    assert len(pings) == 2


def test_only_request_sessions_join_a_transaction(
    notes: Notes, make_pyramidion_app: MakeApp
) -> None:
    app = make_pyramidion_app(addons=["notes"])
    database = get_database(app.registry)
    manager = transaction.TransactionManager(explicit=True)
    manager.begin()
    session = database.new_session(manager)
    session.execute(text("SELECT 1"))

    # Joined: committing it directly is refused, the manager commits it.
    with pytest.raises(AssertionError, match="committed using the transaction manager"):
        session.commit()
    manager.abort()

    # A session of the same factory without a manager commits on its own.
    with independent_session(app.registry) as independent:
        independent.execute(text("SELECT 1"))
