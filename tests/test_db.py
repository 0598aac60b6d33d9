"""One transaction-managed session per request: created lazily, committed by
pyramid_tm on success, never on failure, and retried on conflicts."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import transaction
from pyramid_retry import IRetryableError
from sqlalchemy import Connection, event, insert, select, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import sessionmaker

from pyramidion.app import get_database
from pyramidion.db import Database, independent_session, is_conflict, make_engine
from pyramidion.db.sqlite import BEGIN_OPTION, begins_immediately
from pyramidion.testing import MakeApp, PyramidionTestApp
from tests.conftest import Notes


def test_session_is_created_only_when_used(notes: Notes, make_pyramidion_app: MakeApp) -> None:
    app = make_pyramidion_app(addons=["notes"])
    checkouts: list[Any] = []
    event.listen(get_database(app.registry).engine, "checkout", lambda *a: checkouts.append(a))
    testapp = PyramidionTestApp(app)

    testapp.get("/notes/ping")
    assert checkouts == []

    assert testapp.get("/notes/touch").json == {"one": 1}
    assert len(checkouts) == 1


def test_successful_request_commits(
    notes_app: PyramidionTestApp, notes: Notes, db_connection: Connection
) -> None:
    response = notes_app.post("/notes/add", {"text": "hello"}, headers=notes_app.csrf_headers())

    assert response.status_int == 201
    assert notes.texts(db_connection) == ["hello"]


@pytest.fixture
def notes_table(notes: Notes, make_pyramidion_app: MakeApp) -> Iterator[Callable[..., Any]]:
    """Make a notes app on its own engine, and its table, dropped afterwards."""
    engines: list[Any] = []

    def make(settings: dict[str, str] | None = None) -> Any:
        app = make_pyramidion_app(settings, addons=["notes"])
        engine = get_database(app.registry).engine
        if not engines:
            with engine.begin() as connection:
                notes.Note.__table__.create(connection)
        engines.append(engine)
        return app

    yield make
    if engines:
        with engines[0].begin() as connection:
            notes.Note.__table__.drop(connection)


def test_successful_request_commits_for_real(
    notes: Notes, notes_table: Callable[..., Any]
) -> None:
    """Without the test kit's shared connection: a real COMMIT, seen by others."""
    app = notes_table()
    engine = get_database(app.registry).engine
    testapp = PyramidionTestApp(app)
    testapp.post("/notes/add", {"text": "kept"}, headers=testapp.csrf_headers(), status=201)
    testapp.post(
        "/notes/add-then-raise", {"text": "lost"}, headers=testapp.csrf_headers(), status=500
    )
    with engine.connect() as connection:
        assert notes.texts(connection) == ["kept"]


def test_writes_the_orm_does_not_flush_are_committed(
    notes_app: PyramidionTestApp, notes: Notes, db_connection: Connection
) -> None:
    headers = notes_app.csrf_headers()
    notes_app.post("/notes/insert-raw", {"text": "core insert"}, headers=headers)
    assert notes.texts(db_connection) == ["core insert"]

    notes_app.post("/notes/rename-all", {"text": "bulk update"}, headers=headers)
    assert notes.texts(db_connection) == ["bulk update"]


def test_writes_in_plain_sql_are_committed(
    notes_app: PyramidionTestApp, notes: Notes, db_connection: Connection
) -> None:
    headers = notes_app.csrf_headers()
    notes_app.post("/notes/insert-text", {"text": "text()"}, headers=headers)
    notes_app.post("/notes/insert-driver", headers=headers)
    notes_app.post("/notes/insert-dbapi", headers=headers)
    assert notes.texts(db_connection) == ["text()", "driver sql", "dbapi"]


def count_endings(engine: Any) -> dict[str, int]:
    """How many transactions of ``engine`` were committed and rolled back."""
    endings = {"commit": 0, "rollback": 0}
    for name in endings:
        event.listen(
            engine, name, lambda *_, name=name: endings.__setitem__(name, endings[name] + 1)
        )
    return endings


def test_a_request_that_only_read_is_committed_like_one_that_wrote(
    notes: Notes, notes_table: Callable[..., Any]
) -> None:
    """Without the test kit's shared connection: the transactions as they end.

    Whether a request wrote is not guessed from its SQL, so a write that a
    guess would miss is never rolled back: every transaction a request's
    session took part in is committed, unless the request failed.
    """
    app = notes_table()
    endings = count_endings(get_database(app.registry).engine)
    testapp = PyramidionTestApp(app)

    assert testapp.get("/notes/touch").json == {"one": 1}
    assert endings == {"commit": 1, "rollback": 0}

    testapp.post("/notes/insert-dbapi", headers=testapp.csrf_headers())
    testapp.post(
        "/notes/add-then-409", {"text": "lost"}, headers=testapp.csrf_headers(), status=409
    )
    assert endings == {"commit": 2, "rollback": 1}
    with get_database(app.registry).engine.connect() as connection:
        assert notes.texts(connection) == ["dbapi"]


def test_raised_error_commits_nothing(
    notes_app: PyramidionTestApp, notes: Notes, db_connection: Connection
) -> None:
    notes_app.post(
        "/notes/add-then-raise", {"text": "lost"}, headers=notes_app.csrf_headers(), status=500
    )

    assert notes.texts(db_connection) == []


def test_returned_error_response_commits_nothing(
    notes_app: PyramidionTestApp, notes: Notes, db_connection: Connection
) -> None:
    notes_app.post(
        "/notes/add-then-409", {"text": "lost"}, headers=notes_app.csrf_headers(), status=409
    )

    assert notes.texts(db_connection) == []


def test_retryable_error_is_retried(
    notes_app: PyramidionTestApp, notes: Notes, db_connection: Connection
) -> None:
    response = notes_app.post("/notes/flaky", headers=notes_app.csrf_headers())

    assert response.json == {"attempt": 1}
    assert notes.texts(db_connection) == ["attempt 1"]


def test_serialization_failure_is_retried(
    notes_app: PyramidionTestApp, notes: Notes, db_connection: Connection
) -> None:
    if db_connection.dialect.name != "postgresql":
        pytest.skip("serialization failures are PostgreSQL's")

    response = notes_app.post("/notes/serialization", headers=notes_app.csrf_headers())

    assert response.json == {"attempt": 1}
    assert notes.texts(db_connection) == ["attempt 1"]


def test_a_sqlite_write_on_a_stale_snapshot_is_retryable(tmp_path: Path) -> None:
    engine = make_engine({"sqlalchemy.url": f"sqlite:///{tmp_path / 'snapshot.sqlite'}"})
    with engine.begin() as setup:
        setup.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER)"))
        setup.execute(text("INSERT INTO counter VALUES (1, 0)"))
    try:
        with engine.connect() as reader, engine.connect() as writer:
            reader.begin()
            seen = reader.execute(text("SELECT value FROM counter")).scalar_one()
            with writer.begin():
                writer.execute(text("UPDATE counter SET value = value + 1"))
            with pytest.raises(OperationalError) as raised:
                reader.execute(text("UPDATE counter SET value = :v"), {"v": seen + 1})
    finally:
        engine.dispose()

    # Run again by pyramid_retry, like PostgreSQL's serialization failures.
    assert IRetryableError.providedBy(raised.value)


def test_a_sqlite_write_refused_while_another_holds_the_lock_is_retryable(
    tmp_path: Path,
) -> None:
    # busy_timeout 0: nothing below waits, so a refusal is immediate either way.
    engine = make_engine(
        {"sqlalchemy.url": f"sqlite:///{tmp_path / 'locked.sqlite'}"}, lock_timeout=0
    )
    with engine.begin() as setup:
        setup.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER)"))
        setup.execute(text("INSERT INTO counter VALUES (1, 0)"))
    immediate = engine.execution_options(**{BEGIN_OPTION: True})
    try:
        with engine.connect() as reader, engine.connect() as writer:
            reader.begin()
            reader.execute(text("SELECT value FROM counter")).scalar_one()
            writer.begin()
            writer.execute(text("UPDATE counter SET value = value + 1"))
            with pytest.raises(OperationalError) as refused:
                reader.execute(text("UPDATE counter SET value = 5"))
            reader.rollback()
            # A transaction begun IMMEDIATE waits for the lock before its
            # first statement, reads included.
            with immediate.connect() as late, pytest.raises(OperationalError) as waited:
                late.execute(text("SELECT value FROM counter"))
            writer.commit()
    finally:
        engine.dispose()

    assert IRetryableError.providedBy(refused.value)
    assert not IRetryableError.providedBy(waited.value)


def test_a_sqlite_request_that_ran_into_another_writer_is_retried_after_it(
    notes: Notes, notes_table: Callable[..., Any]
) -> None:
    """The retry waits for the other writer's commit, then reads what it wrote."""
    app = notes_table()
    engine = get_database(app.registry).engine
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock")
    # Whether each transaction began IMMEDIATE: the request's first attempt,
    # the other writer's, the retry's.
    began: list[bool] = []

    @event.listens_for(engine, "begin")
    def _record(connection: Connection) -> None:
        began.append(begins_immediately(connection))

    refused = threading.Event()

    @event.listens_for(engine, "handle_error")
    def _refused(context: Any) -> None:
        refused.set()

    read = threading.Event()
    locked = threading.Event()

    def after_read(attempt: int) -> None:
        if attempt == 0:
            read.set()
            assert locked.wait(30)

    testapp = PyramidionTestApp(app)
    headers = testapp.csrf_headers()
    responses: list[Any] = []
    request = threading.Thread(
        target=lambda: responses.append(
            testapp.post(
                "/notes/read-then-write",
                headers=headers,
                extra_environ={"notes.after_read": after_read},
            )
        )
    )
    with engine.connect() as other:
        request.start()
        assert read.wait(30)
        other.begin()
        other.execute(insert(notes.Note).values(text="the other writer's"))
        locked.set()
        assert refused.wait(30)
        # The retry may begin before this commit (it waits for it) or after.
        other.commit()
    request.join(30)

    assert responses[0].json == {"attempt": 1, "seen": 1}
    assert began == [False, False, True]
    with engine.connect() as connection:
        assert sorted(notes.texts(connection)) == ["attempt 1 saw 1", "the other writer's"]


def test_sqlite_reads_in_a_transaction_see_one_snapshot(tmp_path: Path) -> None:
    engine = make_engine({"sqlalchemy.url": f"sqlite:///{tmp_path / 'snapshot.sqlite'}"})
    with engine.begin() as setup:
        setup.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
    try:
        with engine.connect() as reader, engine.connect() as writer:
            reader.begin()
            before = reader.execute(text("SELECT count(*) FROM t")).scalar_one()
            with writer.begin():
                writer.execute(text("INSERT INTO t VALUES (1)"))
            again = reader.execute(text("SELECT count(*) FROM t")).scalar_one()
            reader.rollback()
            after = reader.execute(text("SELECT count(*) FROM t")).scalar_one()
    finally:
        engine.dispose()

    assert (before, again, after) == (0, 0, 1)


def test_sqlite_ddl_is_rolled_back_with_its_transaction(tmp_path: Path) -> None:
    engine = make_engine({"sqlalchemy.url": f"sqlite:///{tmp_path / 'ddl.sqlite'}"})
    try:
        with engine.connect() as connection:
            connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
            connection.rollback()
        with engine.connect() as check:
            tables = check.execute(text("SELECT name FROM sqlite_master")).scalars().all()
    finally:
        engine.dispose()

    assert tables == []


def test_sqlite_begins_a_real_transaction_and_never_commits_one_left_open(
    tmp_path: Path,
) -> None:
    engine = make_engine({"sqlalchemy.url": f"sqlite:///{tmp_path / 'begin.sqlite'}"})
    with engine.begin() as setup:
        setup.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
    try:
        with engine.connect() as connection:
            # A read begins the transaction too (pysqlite alone would not).
            connection.execute(text("SELECT count(*) FROM t"))
            assert connection.connection.driver_connection.in_transaction
            connection.execute(text("INSERT INTO t VALUES (1)"))
            connection.rollback()
            assert not connection.connection.driver_connection.in_transaction
            # A transaction opened behind SQLAlchemy's back and left open
            # is rolled back when the connection goes back to the pool.
            raw = connection.connection.driver_connection
            raw.execute("BEGIN")
            raw.execute("INSERT INTO t VALUES (2)")
        with engine.connect() as check:
            assert check.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("errcode", "conflict"),
    [("serialization_failure", True), ("deadlock_detected", True), ("unique_violation", False)],
)
def test_postgresql_conflicts_are_retryable_and_other_errors_are_not(
    db_connection: Connection, errcode: str, conflict: bool
) -> None:
    if db_connection.dialect.name != "postgresql":
        pytest.skip("SQLSTATEs are PostgreSQL's")
    url = db_connection.engine.url.render_as_string(hide_password=False)
    engine = make_engine({"sqlalchemy.url": url})
    try:
        with engine.connect() as connection, pytest.raises(DBAPIError) as raised:
            connection.execute(
                text(f"DO $$ BEGIN RAISE EXCEPTION 'refused' USING ERRCODE = '{errcode}'; END $$")
            )
    finally:
        engine.dispose()

    assert is_conflict(raised.value) is conflict
    assert IRetryableError.providedBy(raised.value) is conflict


def test_dbsession_fixture_arranges_data_for_requests(
    notes_app: PyramidionTestApp, notes: Notes, dbsession: Any, tm: Any
) -> None:
    dbsession.add(notes.Note(text="arranged"))
    tm.commit()
    note = dbsession.query(notes.Note).one()

    assert notes_app.get(f"/notes/items/{note.id}").json == {"id": note.id, "text": "arranged"}

    notes_app.post("/notes/add", {"text": "by request"}, headers=notes_app.csrf_headers())
    assert [n.text for n in dbsession.query(notes.Note).order_by(notes.Note.id)] == [
        "arranged",
        "by request",
    ]


def test_database_unavailable_is_503(notes: Notes, make_pyramidion_app: MakeApp) -> None:
    app = make_pyramidion_app(
        {
            "sqlalchemy.url": "postgresql+psycopg://postgres@127.0.0.1:1/nowhere",
            "pyramidion.db_connect_timeout": "1",
        },
        addons=["notes"],
    )
    testapp = PyramidionTestApp(app)

    response = testapp.get("/notes/touch", headers={"Accept": "application/json"}, status=503)

    assert response.headers["Retry-After"] == "5"
    assert response.content_type == "application/problem+json"
    assert response.json["title"] == "Service Unavailable"
    assert "127.0.0.1" not in response.text
    testapp.get("/notes/ping", status=200)


def test_a_saturated_pool_is_503_after_the_pool_timeout(
    notes: Notes, make_pyramidion_app: MakeApp, pyramidion_database_url: str
) -> None:
    app = make_pyramidion_app(
        {
            "sqlalchemy.url": pyramidion_database_url,
            "sqlalchemy.pool_size": "1",
            "sqlalchemy.max_overflow": "0",
            "pyramidion.db_pool_timeout": "1",
        },
        addons=["notes"],
    )
    testapp = PyramidionTestApp(app)
    # The only pooled connection is busy elsewhere for the whole request.
    with get_database(app.registry).engine.connect():
        response = testapp.get("/notes/touch", headers={"Accept": "application/json"}, status=503)
    assert response.headers["Retry-After"] == "5"
    assert response.json["title"] == "Service Unavailable"
    testapp.get("/notes/touch", status=200)


def test_independent_session_outlives_an_aborted_request_transaction(
    notes: Notes, make_pyramidion_app: MakeApp
) -> None:
    app = make_pyramidion_app(addons=["notes"])
    database = get_database(app.registry)
    table = notes.Note.__table__
    with database.engine.begin() as connection:
        table.create(connection)
    try:
        manager = transaction.TransactionManager()
        manager.begin()
        request_session = database.new_session(manager)
        request_session.execute(select(table.c.id)).all()
        with independent_session(app.registry) as session:
            session.add(notes.Note(text="kept"))

        def write_then_raise() -> None:
            with independent_session(app.registry) as session:
                session.add(notes.Note(text="raised"))
                session.flush()
                raise RuntimeError("undo this block")

        with pytest.raises(RuntimeError, match="undo this block"):
            write_then_raise()
        request_session.add(notes.Note(text="aborted"))
        manager.abort()

        with database.engine.connect() as connection:
            assert notes.texts(connection) == ["kept"]
    finally:
        with database.engine.begin() as connection:
            table.drop(connection)


@pytest.mark.parametrize("factory", ["the app's", "a plain sessionmaker"])
def test_new_session_joins_its_manager_and_commits_only_through_it(
    factory: str, notes: Notes, make_pyramidion_app: MakeApp
) -> None:
    app = make_pyramidion_app(addons=["notes"])
    database = get_database(app.registry)
    if factory == "a plain sessionmaker":
        database = Database(database.engine, sessionmaker(bind=database.engine))
    table = notes.Note.__table__
    with database.engine.begin() as connection:
        table.create(connection)
    try:
        manager = transaction.TransactionManager()
        manager.begin()
        session = database.new_session(manager)
        session.execute(insert(table).values(text="joined"))
        with pytest.raises(AssertionError, match="transaction manager"):
            session.commit()
        manager.commit()
        # The independent session joins nothing; another manager's session
        # joins that manager, not the first.
        other = transaction.TransactionManager()
        other.begin()
        with independent_session(app.registry) as plain:
            plain.execute(insert(table).values(text="independent"))
        database.new_session(other).execute(insert(table).values(text="aborted"))
        other.abort()

        with database.engine.connect() as connection:
            assert sorted(notes.texts(connection)) == ["independent", "joined"]
    finally:
        with database.engine.begin() as connection:
            table.drop(connection)


def test_each_request_session_joins_its_own_transaction(
    notes: Notes, make_pyramidion_app: MakeApp
) -> None:
    # The listeners are the session class's, shared by every session: each
    # session must still be committed or aborted with its own manager.
    app = make_pyramidion_app(addons=["notes"])
    database = get_database(app.registry)
    table = notes.Note.__table__
    with database.engine.begin() as connection:
        table.create(connection)
    try:
        committed, aborted = transaction.TransactionManager(), transaction.TransactionManager()
        committed.begin()
        aborted.begin()
        database.new_session(committed).add(notes.Note(text="committed"))
        database.new_session(aborted).add(notes.Note(text="aborted"))
        aborted.abort()
        committed.commit()

        with database.engine.connect() as connection:
            assert notes.texts(connection) == ["committed"]
    finally:
        with database.engine.begin() as connection:
            table.drop(connection)


def test_the_session_class_listens_as_zope_sqlalchemy_registers() -> None:
    """JoinedSession hands zope.sqlalchemy the events its register() listens
    for, each to the handler of the same name. An upgrade of zope.sqlalchemy
    that listens for another event, or with another handler, fails here
    instead of leaving the request's sessions half joined."""
    import zope.sqlalchemy
    from sqlalchemy.orm import Session, SessionEvents
    from zope.sqlalchemy import ZopeTransactionEvents

    from pyramidion.db.session import JOINED_EVENTS

    session = Session()
    handlers = zope.sqlalchemy.register(session)
    events = [
        name
        for name in dir(SessionEvents)
        if not name.startswith("_")
        and name != "dispatch"
        and callable(getattr(SessionEvents, name))
    ]
    methods = [
        name
        for name in dir(ZopeTransactionEvents)
        if not name.startswith("_") and callable(getattr(ZopeTransactionEvents, name))
    ]
    registered = {
        (event_name, method)
        for event_name in events
        for method in methods
        if event.contains(session, event_name, getattr(handlers, method))
    }

    assert registered == {(name, name) for name in JOINED_EVENTS}
