"""The list page: cursor pages both ways, search, filters, sort, counts and
the relationships loaded with the rows."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from sqlalchemy import event

from pyramidion import get_database

THINGS = "/admin/admintest/thing/"


@pytest.fixture
def admin(testapp: Any, auth_make_user: Any, auth_logged_in: Any) -> Any:
    """``testapp`` logged in as a member of the admin group."""
    return auth_logged_in(testapp, auth_make_user("Root", admin=True))


def names(page: Any) -> list[str]:
    return [row.select("td")[2].text.strip() for row in page.html.select("[data-admin=row]")]


def link(page: Any, which: str) -> str | None:
    found = page.html.select_one(f"[data-admin={which}]")
    return None if found is None else found["href"]


def heading(page: Any, text: str) -> str:
    found = [a for a in page.html.select("a[data-admin=sort]") if a.text.startswith(text)]
    return str(found[0]["href"])


def test_pages_go_forward_and_back_by_cursor(admin: Any, make_things: Any) -> None:
    make_things(12)
    first = admin.get(THINGS)
    assert names(first) == [f"thing {i:03d}" for i in (11, 10, 9, 8, 7)]
    assert link(first, "previous") is None
    second = admin.get(link(first, "next"))
    assert names(second) == [f"thing {i:03d}" for i in (6, 5, 4, 3, 2)]
    third = admin.get(link(second, "next"))
    assert names(third) == ["thing 001", "thing 000"]
    assert link(third, "next") is None
    back = admin.get(link(third, "previous"))
    assert names(back) == names(second)
    start = admin.get(link(back, "previous"))
    assert names(start) == names(first)
    assert link(start, "previous") is None
    assert "offset" not in link(second, "next").lower()
    assert "12 things" in first.html.select_one("[data-admin=count]").text


def test_sorting_by_a_column_pages_in_that_order(
    admin: Any, make_things: Any, dbsession: Any, tm: Any
) -> None:
    things = make_things(7)
    # Ranks with ties and NULLs: the key ends with the primary key, and
    # NULLs come after every value.
    ranks = [3, None, 1, 3, None, 2, 1]
    for thing, rank in zip(things, ranks, strict=True):
        thing.rank = rank
    dbsession.flush()
    tm.commit()
    first = admin.get(THINGS, params={"sort": "rank"})
    expected = [
        "thing 002",
        "thing 006",
        "thing 005",
        "thing 000",
        "thing 003",
        "thing 001",
        "thing 004",
    ]
    assert first.html.select_one("th[aria-sort=ascending]") is not None
    assert names(first) + names(admin.get(link(first, "next"))) == expected
    descending = admin.get(THINGS, params={"sort": "-rank"})
    seen = names(descending) + names(admin.get(link(descending, "next")))
    assert seen == list(reversed(expected))
    back = admin.get(link(admin.get(link(descending, "next")), "previous"))
    assert names(back) == names(descending)


def test_a_heading_link_sorts_and_sorts_back(admin: Any, make_things: Any) -> None:
    make_things(3)
    page = admin.get(THINGS)
    by_name = admin.get(heading(page, "Name"))
    assert names(by_name) == ["thing 000", "thing 001", "thing 002"]
    reverse = admin.get(heading(by_name, "Name"))
    assert names(reverse) == ["thing 002", "thing 001", "thing 000"]


def test_search_is_case_insensitive_across_the_fields(admin: Any, make_things: Any) -> None:
    make_things(3)
    make_things(1, start=3, name="Hammer", code="ZX%1")
    assert names(admin.get(THINGS, params={"q": "HAMMER"})) == ["Hammer"]
    assert names(admin.get(THINGS, params={"q": "zx%"})) == ["Hammer"]
    assert names(admin.get(THINGS, params={"q": "c00"})) == ["thing 002", "thing 001", "thing 000"]
    # Every word must be found; % and _ are plain characters.
    assert names(admin.get(THINGS, params={"q": "thing 001"})) == ["thing 001"]
    assert names(admin.get(THINGS, params={"q": "thing_"})) == []
    page = admin.get(THINGS, params={"q": "thing"})
    assert "3 things" in page.html.select_one("[data-admin=count]").text


def test_search_reaches_a_related_rows_field(
    admin: Any, make_things: Any, auth_make_user: Any
) -> None:
    owner = auth_make_user("Ada", email="ada.lovelace@example.com")
    make_things(2)
    make_things(1, start=2, name="analytical engine", owner_id=owner.id)
    assert names(admin.get(THINGS, params={"q": "LOVELACE"})) == ["analytical engine"]


def test_search_keeps_to_its_pages(admin: Any, make_things: Any) -> None:
    make_things(8)
    make_things(4, start=8, name="other")
    first = admin.get(THINGS, params={"q": "thing"})
    assert "q=thing" in link(first, "next")
    assert len(names(first)) + len(names(admin.get(link(first, "next")))) == 8


def test_filters_by_boolean_choice_date_and_relation(
    admin: Any, make_things: Any, auth_make_user: Any
) -> None:
    from pyramidion_admin_example.models import Kind

    owner = auth_make_user("Grace Hopper", email="grace@example.com")
    make_things(2)
    make_things(1, start=2, name="toy", kind=Kind.TOY)
    make_things(1, start=3, name="off", active=False)
    make_things(1, start=4, name="owned", owner_id=owner.id)
    assert names(admin.get(THINGS, params={"f.active": "0"})) == ["off"]
    assert names(admin.get(THINGS, params={"f.kind": "TOY"})) == ["toy"]
    assert names(admin.get(THINGS, params={"f.owner": "GRACE@"})) == ["owned"]
    assert names(admin.get(THINGS, params={"f.owner": str(owner.id)})) == ["owned"]
    assert names(admin.get(THINGS, params={"f.owner": "nobody"})) == []
    # The things are a minute apart from 2026-01-01 12:00.
    day = admin.get(
        THINGS, params={"f.created_at.from": "2026-01-01", "f.created_at.to": "2026-01-01"}
    )
    assert len(names(day)) == 5
    assert names(admin.get(THINGS, params={"f.created_at.from": "2026-01-02"})) == []
    page = admin.get(THINGS, params={"f.kind": "TOY"})
    assert page.html.select_one("#admin-f-kind option[selected]")["value"] == "TOY"
    # The owner filter is a text input, never a select of every user.
    assert page.html.select_one("#admin-f-owner").name == "input"


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"f.active": "maybe"}, "choose 1 (yes) or 0 (no)"),
        ({"f.kind": "SHIP"}, "choose one of TOOL, TOY, FOOD"),
        ({"f.created_at.from": "yesterday"}, "write it as YYYY-MM-DD"),
        ({"sort": "secret_token"}, "cannot be sorted by"),
        ({"after": "not-a-cursor"}, "open the list again from its first page"),
        ({"q": "x" * 201}, "at most 200 characters"),
    ],
)
def test_bad_list_input_is_a_400_with_a_sentence(
    admin: Any, make_things: Any, params: dict[str, str], says: str
) -> None:
    make_things(1)
    response = admin.get(THINGS, params=params, status=400)
    assert says in response.text


def test_a_cursor_made_for_another_order_is_refused(admin: Any, make_things: Any) -> None:
    make_things(7)
    cursor = link(admin.get(THINGS), "next").split("after=")[1]
    response = admin.get(THINGS, params={"sort": "name", "after": cursor}, status=400)
    assert "first page" in response.text


def test_relationships_are_loaded_with_the_rows(
    admin: Any, dbsession: Any, tm: Any, make_things: Any, pyramidion_app: Any
) -> None:
    from pyramidion_admin_example.models import Part

    def statements_for(count: int) -> int:
        thing = make_things(1, start=count)[0]
        dbsession.add_all(Part(thing_id=thing.id, label=f"part {i}") for i in range(count))
        dbsession.flush()
        tm.commit()
        statements: list[str] = []
        engine = get_database(pyramidion_app.registry).engine

        def count_statement(*args: Any) -> None:
            statements.append(args[2])

        event.listen(engine, "before_cursor_execute", count_statement)
        try:
            page = admin.get("/admin/admintest/part/", params={"q": ""})
        finally:
            event.remove(engine, "before_cursor_execute", count_statement)
        assert len(page.html.select("[data-admin=row]")) >= count
        assert f"thing {count:03d}" in page.text
        return len(statements)

    assert statements_for(2) == statements_for(50)


def test_the_exact_count_is_there_on_request(admin: Any, make_things: Any) -> None:
    make_things(2)
    page = admin.get(THINGS, params={"count": "exact"})
    assert "2 things" in page.html.select_one("[data-admin=count]").text


def test_a_big_table_on_postgresql_shows_an_estimate(
    admin: Any, dbsession: Any, tm: Any, make_things: Any
) -> None:
    from pyramidion_admin_example.models import Thing
    from sqlalchemy import insert, text

    if dbsession.get_bind().dialect.name != "postgresql":
        pytest.skip("the estimate is PostgreSQL's; SQLite lists count exactly")
    make_things(1)
    base = datetime.datetime(2026, 1, 1)
    dbsession.execute(
        insert(Thing),
        [{"name": f"bulk {i}", "code": "", "created_at": base} for i in range(1500)],
    )
    dbsession.execute(text("ANALYZE admintest_things"))
    tm.commit()
    count = admin.get(THINGS).html.select_one("[data-admin=count]")
    assert "about" in count.text
    exact = admin.get(count.select_one("a")["href"])
    assert "1501 things" in exact.html.select_one("[data-admin=count]").text
    # A filtered list shows the planner's estimate of its own rows.
    filtered = admin.get(THINGS, params={"f.active": "1", "q": "bulk"})
    assert "about" in filtered.html.select_one("[data-admin=count]").text


def test_full_text_search_on_postgresql(
    make_pyramidion_app: Any,
    db_connection: Any,
    dbsession: Any,
    make_things: Any,
    auth_make_user: Any,
    auth_logged_in: Any,
) -> None:
    from pyramidion.testing import PyramidionTestApp

    if dbsession.get_bind().dialect.name != "postgresql":
        pytest.skip("full-text search is PostgreSQL's")
    make_things(2)
    make_things(1, start=2, name="cordless drill", code="D-1")
    app = PyramidionTestApp(
        make_pyramidion_app({"admin.fulltext": "true"}, connection=db_connection)
    )
    auth_logged_in(app, auth_make_user("Root", admin=True))
    # Whole words, in any order and case: "drill" matches, "dri" does not.
    assert names(app.get(THINGS, params={"q": "Drill CORDLESS"})) == ["cordless drill"]
    assert names(app.get(THINGS, params={"q": "dri"})) == []
