"""The test kit itself: what a test writes through the app is undone."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from pyramidion.app import get_database
from pyramidion.testing import MakeApp, PyramidionTestApp, bind_to_connection, own_database
from tests.conftest import Notes


def test_requests_inside_a_bound_connection_are_rolled_back(
    notes: Notes, make_pyramidion_app: MakeApp
) -> None:
    app = make_pyramidion_app(addons=["notes"])
    database = get_database(app.registry)
    table = notes.Note.__table__
    with database.engine.begin() as connection:
        table.create(connection)
    try:
        original = database.session_factory
        with database.engine.connect() as connection:
            outer = connection.begin()
            with bind_to_connection(app.registry, connection):
                testapp = PyramidionTestApp(app)
                testapp.post("/notes/add", {"text": "a"}, headers=testapp.csrf_headers())
                testapp.post("/notes/add", {"text": "b"}, headers=testapp.csrf_headers())
                assert notes.texts(connection) == ["a", "b"]
            assert database.session_factory is original
            outer.rollback()

        with database.engine.connect() as connection:
            assert notes.texts(connection) == []
    finally:
        with database.engine.begin() as connection:
            table.drop(connection)


def test_csrf_token_is_stable_for_a_client(testapp: PyramidionTestApp) -> None:
    token = testapp.csrf_token()

    assert testapp.csrf_token() == token
    assert testapp.csrf_headers() == {"X-CSRF-Token": token}
    assert PyramidionTestApp(testapp.app).csrf_token() != token


def test_each_directory_gets_the_app_its_conftest_asks_for(pytester: pytest.Pytester) -> None:
    """Two add-ons' test suites in one session each see their own settings."""
    for name in ("first", "second"):
        pytester.mkpydir(name)
        (pytester.path / name / "conftest.py").write_text(
            "import pytest\n\n"
            '@pytest.fixture(scope="session")\n'
            "def pyramidion_extra_settings():\n"
            f'    return {{"pyramidion.csrf_cookie_name": "{name}_csrf"}}\n'
        )
        (pytester.path / name / f"test_{name}.py").write_text(
            "from pyramidion.app import app_state\n\n"
            f"def test_{name}(pyramidion_app):\n"
            "    core = app_state(pyramidion_app.registry).core\n"
            f'    assert core.csrf_cookie_name == "{name}_csrf"\n'
        )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_own_database_is_an_empty_one_beside_the_sessions_and_goes_after(
    tmp_path_factory: pytest.TempPathFactory, pyramidion_database_url: str
) -> None:
    session = make_url(pyramidion_database_url)
    with own_database(tmp_path_factory, "apart") as url:
        own = make_url(url)
        assert own.get_backend_name() == session.get_backend_name()
        assert own.database != session.database
        engine = create_engine(own, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                assert inspect(connection).get_table_names() == []
        finally:
            engine.dispose()
    if own.get_backend_name() == "postgresql":
        server = create_engine(session, poolclass=NullPool)
        try:
            with server.connect() as connection:
                found = connection.execute(
                    text("SELECT 1 FROM pg_database WHERE datname = :name"),
                    {"name": own.database},
                ).scalar()
        finally:
            server.dispose()
        assert found is None
