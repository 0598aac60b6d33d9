"""Keyset pages over nullable sort columns and mixed directions: walking
every page, forwards and back, shows each row once, in the list's order
(NULLs after every value ascending, before them descending), ties broken
by the primary key. Run on SQLite and on PostgreSQL."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import pytest
from pyramid.request import Request
from pyramid.scripting import prepare
from pyramidion_admin.listing import ListPage, list_page
from pyramidion_admin.options import ModelAdmin, build_model_admin

pytestmark = pytest.mark.usefixtures("admintest_site")

RANKS = [3, None, 1, 3, None, 2, 1, None, 3, 2, None, 1, 2, 3, None, 1, 2, 2]
ORDERINGS = [
    ("rank",),
    ("-rank",),
    ("rank", "-id"),
    ("-rank", "id"),
    ("kind", "-rank", "name"),
    ("-kind", "rank", "-created_at"),
    ("active", "-rank"),
    ("-active", "rank", "code"),
]


@pytest.fixture
def things(make_things: Any, dbsession: Any, tm: Any) -> list[Any]:
    """Things with ranks that tie and are NULL, three kinds, some inactive."""
    from pyramidion_admin_example.models import Kind

    made = make_things(len(RANKS))
    kinds = list(Kind)
    for n, (thing, rank) in enumerate(zip(made, RANKS, strict=True)):
        thing.rank = rank
        thing.kind = kinds[n % 3]
        thing.active = n % 4 != 0
    dbsession.flush()
    tm.commit()
    return made


@pytest.fixture
def request_(pyramidion_app: Any) -> Iterator[Request]:
    request = Request.blank("/admin/")
    env = prepare(request=request, registry=pyramidion_app.registry)
    request.tm.begin()
    yield request
    request.tm.abort()
    env["closer"]()


def expected(rows: list[Any], ordering: tuple[str, ...]) -> list[int]:
    """Ids in ``ordering`` (then the key, in the first column's direction),
    NULLs greatest, as the list promises."""
    specs = list(ordering)
    if "id" not in {s.lstrip("-") for s in specs}:
        specs.append("-id" if specs[0].startswith("-") else "id")

    def compare(a: Any, b: Any) -> int:
        for spec in specs:
            name = spec.lstrip("-")
            x, y = getattr(a, name), getattr(b, name)
            if x == y:
                continue
            # NULL is greater than every value.
            greater = y is not None and (x is None or x > y)
            result = 1 if greater else -1
            return -result if spec.startswith("-") else result
        return 0

    return [row.id for row in sorted(rows, key=functools.cmp_to_key(compare))]


def registration(ordering: tuple[str, ...]) -> ModelAdmin:
    from pyramidion_admin_example.models import Thing

    return build_model_admin(Thing, addon="admintest", ordering=ordering, page_size=3)


def walk(request: Request, model_admin: ModelAdmin, direction: str, start: str) -> list[ListPage]:
    pages = []
    params = {direction: start} if start else {}
    while True:
        page = list_page(request, model_admin, params)
        pages.append(page)
        cursor = page.next_cursor if direction == "after" else page.previous_cursor
        if cursor is None or len(pages) > 50:
            return pages
        params = {direction: cursor}


@pytest.mark.parametrize("ordering", ORDERINGS, ids=",".join)
def test_every_row_once_in_order_both_ways(
    request_: Request, things: list[Any], ordering: tuple[str, ...]
) -> None:
    model_admin = registration(ordering)
    wanted = expected(things, ordering)

    forwards = walk(request_, model_admin, "after", "")
    seen = [row.id for page in forwards for row in page.rows]
    assert seen == wanted
    assert all(len(page.rows) == 3 for page in forwards[:-1])

    # From the last page back to the first by the "previous" links.
    last = forwards[-1]
    assert last.previous_cursor is not None
    backwards = walk(request_, model_admin, "before", last.previous_cursor)
    seen_back = [row.id for page in reversed(backwards) for row in page.rows]
    assert seen_back + [row.id for row in last.rows] == wanted
    assert backwards[-1].previous_cursor is None


def test_one_page_holds_the_last_values_and_the_first_nulls(
    request_: Request, things: list[Any]
) -> None:
    model_admin = registration(("rank",))
    wanted = expected(things, ("rank",))
    nulls = [thing.id for thing in things if thing.rank is None]
    assert wanted[-len(nulls) :] == sorted(nulls)

    pages = walk(request_, model_admin, "after", "")
    # 13 values: the fifth page is the last value and the first two NULLs,
    # read by two queries, the NULLs' beginning with no cursor among them.
    mixed = [p for p in pages if {r.rank is None for r in p.rows} == {True, False}]
    assert len(mixed) == 1
    assert [row.id for page in pages for row in page.rows] == wanted
