"""Every wait on the database is bounded: a statement, a lock, the pool.

A request that outlives a bound is answered with the app's 503 and
``Retry-After``, within the bound, never a 500; commands run by the
operator (migrations) are not cut off by the request's statement bound.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from pyramidion.app import get_database
from pyramidion.cli.db import database_transaction
from pyramidion.testing import MakeApp, PyramidionTestApp
from tests.conftest import Distributions
from tests.inifiles import write_ini

WAITS_VIEWS = """
from sqlalchemy import text

from pyramidion import PUBLIC


def sleep(request):
    seconds = float(request.params["seconds"])
    request.dbsession.execute(text("SELECT pg_sleep(:s)"), {"s": seconds})
    return {"slept": seconds}


def read_locked(request):
    table = request.params["table"]
    request.dbsession.execute(text(f'SELECT count(*) FROM "{table}"')).scalar()
    return {"read": table}


def includeme(config):
    config.add_route("waits.sleep", "/sleep")
    config.add_view(sleep, route_name="waits.sleep", renderer="json", permission=PUBLIC)
    config.add_route("waits.read", "/read")
    config.add_view(read_locked, route_name="waits.read", renderer="json", permission=PUBLIC)
"""

JSON = {"Accept": "application/json"}


@pytest.fixture
def postgresql_url(pyramidion_database_url: str) -> str:
    if make_url(pyramidion_database_url).get_backend_name() != "postgresql":
        pytest.skip(
            "statement and lock timeouts are PostgreSQL's; set "
            "PYRAMIDION_TEST_DATABASE_URL to a PostgreSQL server to run this test"
        )
    return pyramidion_database_url


@pytest.fixture
def waits(distributions: Distributions) -> str:
    """An add-on whose views wait on the database."""
    distributions.addon(
        "waits", includeme="config.include('{pkg}.views')", files={"views.py": WAITS_VIEWS}
    )
    return "waits"


def test_a_statement_past_its_timeout_is_a_quick_503(
    postgresql_url: str, waits: str, make_pyramidion_app: MakeApp
) -> None:
    app = make_pyramidion_app(
        {"sqlalchemy.url": postgresql_url, "pyramidion.db_statement_timeout": "1"},
        addons=[waits],
    )
    testapp = PyramidionTestApp(app)

    assert testapp.get("/waits/sleep?seconds=0.1", headers=JSON).json == {"slept": 0.1}
    started = time.monotonic()
    response = testapp.get("/waits/sleep?seconds=10", headers=JSON, status=503)

    assert time.monotonic() - started < 3
    assert response.headers["Retry-After"] == "5"
    assert response.json["title"] == "Service Unavailable"
    assert "pg_sleep" not in response.text
    # The connection the server cancelled the statement on serves again.
    assert testapp.get("/waits/sleep?seconds=0", headers=JSON).json == {"slept": 0}


def test_a_lock_held_past_the_lock_timeout_is_a_quick_503(
    postgresql_url: str, waits: str, make_pyramidion_app: MakeApp
) -> None:
    app = make_pyramidion_app(
        {"sqlalchemy.url": postgresql_url, "pyramidion.db_lock_timeout": "1"}, addons=[waits]
    )
    testapp = PyramidionTestApp(app)
    engine = get_database(app.registry).engine
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE waits_locked (id integer)"))
    try:
        with engine.connect() as holder:
            holder.execute(text("LOCK TABLE waits_locked IN ACCESS EXCLUSIVE MODE"))
            started = time.monotonic()
            response = testapp.get("/waits/read?table=waits_locked", headers=JSON, status=503)
            assert time.monotonic() - started < 3
            assert response.headers["Retry-After"] == "5"
            holder.rollback()
        assert testapp.get("/waits/read?table=waits_locked", headers=JSON).json == {
            "read": "waits_locked"
        }
    finally:
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE waits_locked"))


def test_a_command_is_not_cut_off_by_the_statement_timeout(
    postgresql_url: str, tmp_path: Any
) -> None:
    ini = write_ini(
        tmp_path, {"sqlalchemy.url": postgresql_url, "pyramidion.db_statement_timeout": "1"}
    )
    with database_transaction(ini, read_only=True) as work:
        assert work.connection.execute(text("SELECT pg_sleep(1.5), 1")).one()[1] == 1


def test_sqlite_waits_for_a_lock_as_long_as_the_lock_timeout(
    make_pyramidion_app: MakeApp, tmp_path: Any
) -> None:
    url = f"sqlite:///{tmp_path / 'busy.sqlite'}"
    app = make_pyramidion_app({"sqlalchemy.url": url, "pyramidion.db_lock_timeout": "1"})
    engine = get_database(app.registry).engine
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (id integer)"))
    with engine.connect() as holder:
        holder.execute(text("INSERT INTO t VALUES (1)"))
        started = time.monotonic()
        with pytest.raises(Exception, match="locked"), engine.begin() as writer:
            writer.execute(text("INSERT INTO t VALUES (2)"))
        waited = time.monotonic() - started
        holder.rollback()
    assert 0.8 < waited < 3
