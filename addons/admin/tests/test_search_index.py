"""The search document and the index that serves it: one expression over
the model's own search fields, the same in the list's query and in the DDL
``pyramidion admin search-index`` prints, so the planner can use the index."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

THINGS = "/admin/admintest/thing/"
PARTS = "/admin/admintest/part/"


@pytest.fixture
def admin(testapp: Any, auth_make_user: Any, auth_logged_in: Any) -> Any:
    return auth_logged_in(testapp, auth_make_user("Root", admin=True))


def names(page: Any) -> list[str]:
    return [row.select("td")[2].text.strip() for row in page.html.select("[data-admin=row]")]


def things_admin(registry: Any) -> Any:
    from pyramidion_admin.options import admin_site
    from pyramidion_admin_example.models import Thing

    return admin_site(registry).for_model(Thing)


def parts_admin(registry: Any) -> Any:
    from pyramidion_admin.options import admin_site
    from pyramidion_admin_example.models import Part

    return admin_site(registry).for_model(Part)


def test_a_word_matches_within_one_field_never_across_two(admin: Any, make_things: Any) -> None:
    make_things(1, name="Anvil ab", code="CD-1")
    # The document is "anvil ab cd-1": "bc" would span name and code.
    assert names(admin.get(THINGS, params={"q": "bc"})) == []
    assert names(admin.get(THINGS, params={"q": "B c"})) == ["Anvil ab"]
    assert names(admin.get(THINGS, params={"q": "ANVIL cd-"})) == ["Anvil ab"]


def test_the_ddl_indexes_the_document_of_the_own_fields(pyramidion_app: Any) -> None:
    from pyramidion_admin.listing import search_index_ddl

    statements = search_index_ddl(things_admin(pyramidion_app.registry))
    assert statements == [
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        "CREATE INDEX admintest_things_admin_search ON admintest_things USING gin "
        "((lower((coalesce(CAST(name AS TEXT), '') || ' ') || coalesce(CAST(code AS TEXT), ''))) "
        "gin_trgm_ops)",
    ]


def test_the_command_prints_the_ddl(
    pyramidion_app: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    from pyramid.request import Request
    from pyramidion_admin.commands import search_index_command

    from pyramidion import CommandError

    request = Request.blank("/")
    request.registry = pyramidion_app.registry
    args = argparse.Namespace(model=["admintest.thing"], fulltext=True)
    assert search_index_command(request, args) == 0
    out = capsys.readouterr().out
    assert out.startswith("-- admintest.thing\nCREATE INDEX admintest_things_admin_fulltext ON")
    assert "to_tsvector('simple'::regconfig, lower(" in out
    with pytest.raises(CommandError, match=r"No model 'admintest\.nothing'"):
        search_index_command(
            request, argparse.Namespace(model=["admintest.nothing"], fulltext=False)
        )


def explained(app: Any, db_connection: Any, q: str) -> str:
    """EXPLAIN of the list's own query for ``?q=``, with sequential scans
    off so that a usable index is used even on a small table."""
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        if "FROM admintest_parts" in statement and ("LIKE" in statement or "@@" in statement):
            captured.append((statement, parameters))

    event.listen(db_connection, "before_cursor_execute", capture)
    try:
        app.get(PARTS, params={"q": q})
    finally:
        event.remove(db_connection, "before_cursor_execute", capture)
    assert captured, "the list ran no search query"
    statement, parameters = captured[0]
    db_connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    db_connection.exec_driver_sql("SET LOCAL enable_indexscan = off")
    plan = db_connection.exec_driver_sql("EXPLAIN " + statement, parameters).scalars().all()
    return "\n".join(plan)


@pytest.mark.parametrize("fulltext", [False, True])
def test_postgresql_uses_the_printed_index_for_the_lists_search(
    fulltext: bool,
    make_pyramidion_app: Any,
    db_connection: Any,
    dbsession: Any,
    make_things: Any,
    tm: Any,
    auth_make_user: Any,
    auth_logged_in: Any,
) -> None:
    from pyramidion_admin.listing import search_index_ddl, search_index_name

    from pyramidion.testing import PyramidionTestApp

    if dbsession.get_bind().dialect.name != "postgresql":
        pytest.skip("expression indexes are PostgreSQL's")
    from pyramidion_admin_example.models import Part

    thing = make_things(1)[0]
    dbsession.add_all(
        [Part(thing_id=thing.id, label=label) for label in ("cordless drill", "chuck", "bit")]
    )
    dbsession.flush()
    tm.commit()
    wsgi = make_pyramidion_app(
        {"admin.fulltext": "true" if fulltext else "false"}, connection=db_connection
    )
    app = PyramidionTestApp(wsgi)
    auth_logged_in(app, auth_make_user("Root", admin=True))
    model_admin = parts_admin(wsgi.registry)
    name = search_index_name(model_admin, fulltext=fulltext)
    assert name not in explained(app, db_connection, "drill")
    for statement in search_index_ddl(model_admin, fulltext=fulltext):
        db_connection.exec_driver_sql(statement)
    assert name in explained(app, db_connection, "drill")
    found = app.get(PARTS, params={"q": "DRILL"}).html.select("[data-admin=row]")
    assert ["cordless drill" in row.text for row in found] == [True]


def test_prefix_and_exact_lookups(
    pyramidion_app: Any, make_things: Any, db_connection: Any, dbsession: Any
) -> None:
    from pyramid.request import Request
    from pyramid.scripting import prepare
    from pyramidion_admin.listing import list_page, search_index_ddl
    from pyramidion_admin.options import build_model_admin
    from pyramidion_admin_example.models import Thing

    make_things(1, name="Hammer", code="HX-1", notes="claw")
    make_things(1, start=1, name="Hammer drill", code="XH-2", notes="Hammer")
    model_admin = build_model_admin(
        Thing, addon="admintest", search_fields=("^code", "=name", "notes")
    )

    def found(q: str) -> list[str]:
        request = Request.blank("/admin/")
        env = prepare(request=request, registry=pyramidion_app.registry)
        request.tm.begin()
        try:
            return sorted(t.name for t in list_page(request, model_admin, {"q": q}).rows)
        finally:
            request.tm.abort()
            env["closer"]()

    assert found("hx") == ["Hammer"]  # the start of the code, whatever the case
    assert found("x-") == []  # inside the code is not its start
    assert found("hammer") == ["Hammer", "Hammer drill"]  # Hammer's name, the drill's notes
    assert found("HAMMER dril") == []  # "dril" is no whole name, not in the notes
    assert found("LAW") == ["Hammer"]  # any part of the notes
    assert found("x%") == []  # % is a character, not a wildcard
    ddl = search_index_ddl(model_admin)
    assert ddl[1].startswith("CREATE INDEX admintest_things_admin_search ON admintest_things ")
    assert "lower(coalesce(CAST(notes AS TEXT), ''))" in ddl[1]
    assert ddl[2:] == [
        "CREATE INDEX admintest_things_admin_code ON admintest_things "
        "((lower(CAST(code AS TEXT))) text_pattern_ops)",
        "CREATE INDEX admintest_things_admin_name ON admintest_things "
        "((lower(CAST(name AS TEXT))) text_pattern_ops)",
    ]
    if dbsession.get_bind().dialect.name != "postgresql":
        return
    # On PostgreSQL the printed btree index serves a prefix search.
    for statement in ddl:
        db_connection.exec_driver_sql(statement)
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        if "FROM admintest_things" in statement and "LIKE" in statement:
            captured.append((statement, parameters))

    model_admin = build_model_admin(Thing, addon="admintest", search_fields=("^code",))
    event.listen(db_connection, "before_cursor_execute", capture)
    try:
        assert found("hx") == ["Hammer"]
    finally:
        event.remove(db_connection, "before_cursor_execute", capture)
    statement, parameters = captured[0]
    db_connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    db_connection.exec_driver_sql("SET LOCAL enable_indexscan = off")
    plan = db_connection.exec_driver_sql("EXPLAIN " + statement, parameters).scalars().all()
    assert "admintest_things_admin_code" in "\n".join(plan)
