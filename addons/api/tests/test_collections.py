"""Collections: cursor pages, declared filters and sorts, sparse fields, no N+1."""

from __future__ import annotations

import base64
import datetime
import json
import logging
from typing import Any
from urllib.parse import urlsplit

import pytest

from pyramidion.testing import PyramidionTestApp

START = datetime.datetime(2026, 1, 1, 12, 0)


@pytest.fixture
def author(auth_make_user: Any) -> Any:
    return auth_make_user("Ada")


@pytest.fixture
def auth(author: Any, token_for: Any) -> dict[str, str]:
    return token_for(author)


def notes(make_note: Any, author: Any, count: int, **columns: Any) -> list[Any]:
    return [
        make_note(
            author,
            title=f"Note {i:03d}",
            created_at=START + datetime.timedelta(minutes=i % 7),  # ties on purpose
            rating=(i % 5) + 1 if i % 3 else None,
            **columns,
        )
        for i in range(count)
    ]


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_paging_by_cursor_visits_every_item_once_in_order(
    testapp: Any, make_note: Any, author: Any, auth: dict[str, str]
) -> None:
    made = notes(make_note, author, 23)
    expected = [n.id for n in sorted(made, key=lambda n: (-n.created_at.timestamp(), n.id))]
    seen: list[int] = []
    url: str | None = "/api/v1/notes?limit=5"
    pages = 0
    while url is not None:
        response = testapp.get(url, headers=auth)
        body = response.json
        seen.extend(item["id"] for item in body["items"])
        pages += 1
        if body["next"] is None:
            assert "Link" not in response.headers
            assert body["next_cursor"] is None
            url = None
        else:
            assert response.headers["Link"] == f'<{body["next"]}>; rel="next"'
            assert f"cursor={body['next_cursor']}" in body["next"]
            url = path_of(body["next"])
    assert seen == expected
    assert pages == 5


@pytest.mark.parametrize("sort", ["rating", "-rating", "title,-created_at", "-title"])
def test_every_declared_sort_pages_exactly(
    testapp: Any, make_note: Any, author: Any, auth: dict[str, str], sort: str
) -> None:
    made = notes(make_note, author, 12)
    first = testapp.get(f"/api/v1/notes?sort={sort}&limit=100", headers=auth).json["items"]
    assert sorted(item["id"] for item in first) == sorted(n.id for n in made)
    paged: list[int] = []
    url: str | None = f"/api/v1/notes?sort={sort}&limit=4"
    while url is not None:
        body = testapp.get(url, headers=auth).json
        paged.extend(item["id"] for item in body["items"])
        url = path_of(body["next"]) if body["next"] else None
    assert paged == [item["id"] for item in first]
    if sort == "rating":
        ratings = [item["rating"] for item in first]
        present = [r for r in ratings if r is not None]
        assert present == sorted(present)
        assert ratings[len(present) :] == [None] * (len(ratings) - len(present))  # NULLs last


def test_filters_on_declared_fields(
    testapp: Any, make_note: Any, author: Any, auth: dict[str, str]
) -> None:
    from pyramidion_api_example.models import Status

    notes(make_note, author, 10)
    make_note(author, title="Published", status=Status.published)
    published = testapp.get("/api/v1/notes?status=published", headers=auth).json["items"]
    assert [item["title"] for item in published] == ["Published"]
    both = testapp.get("/api/v1/notes?rating=1&rating=2&limit=100", headers=auth).json["items"]
    assert {item["rating"] for item in both} == {1, 2}
    unrated = testapp.get("/api/v1/notes?rating=null&limit=100", headers=auth).json["items"]
    assert unrated
    assert all(item["rating"] is None for item in unrated)


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("body=x", ["body", "cursor, limit, sort, fields, status, rating, author_id"]),
        ("sort=body", ["body", "created_at, title, rating"]),
        ("sort=-", ["created_at, title, rating"]),
        ("fields=id,secret", ["secret", "id, title, body"]),
        ("limit=0", ["1 to 100"]),
        ("limit=101", ["1 to 100"]),
        ("limit=ten", ["1 to 100"]),
        ("limit=5&limit=6", ["once"]),
        ("rating=many", ["rating", "whole number"]),
        ("rating=99999999999", ["rating"]),
        ("status=lost", ["draft, published"]),
        ("author_id=null", ["always has a value"]),
        ("cursor=nonsense", ["cursor"]),
        ("cursor=eyJzIjoiLWNyZWF0ZWRfYXQiLCJrIjpbMV19", ["cursor"]),
    ],
)
def test_anything_undeclared_is_a_400_naming_what_is_allowed(
    testapp: Any, auth: dict[str, str], query: str, names: list[str]
) -> None:
    response = testapp.get(f"/api/v1/notes?{query}", headers=auth, status=400)
    assert response.content_type == "application/problem+json"
    for name in names:
        assert name in response.json["detail"]


def test_a_cursor_of_another_sort_is_refused(
    testapp: Any, make_note: Any, author: Any, auth: dict[str, str]
) -> None:
    notes(make_note, author, 3)
    cursor = testapp.get("/api/v1/notes?limit=1", headers=auth).json["next_cursor"]
    assert testapp.get(f"/api/v1/notes?limit=1&cursor={cursor}", headers=auth).json["items"]
    refused = testapp.get(f"/api/v1/notes?sort=title&cursor={cursor}", headers=auth, status=400)
    assert "Start again" in refused.json["detail"]


def test_sparse_fieldsets(testapp: Any, make_note: Any, author: Any, auth: dict[str, str]) -> None:
    note = make_note(author, title="Sparse")
    items = testapp.get("/api/v1/notes?fields=id,title", headers=auth).json["items"]
    assert items == [{"id": note.id, "title": "Sparse"}]
    item = testapp.get(f"/api/v1/notes/{note.id}?fields=title", headers=auth).json
    assert item == {"title": "Sparse"}


def test_a_page_costs_the_same_statements_for_2_items_as_for_50(
    testapp: Any,
    make_note: Any,
    author: Any,
    auth: dict[str, str],
    dbsession: Any,
    tm: Any,
    queries: list[str],
) -> None:
    from pyramidion_api_example.models import Note, Tag

    tags = [Tag(name=f"tag-{i}") for i in range(3)]
    dbsession.add_all(tags)
    made = notes(make_note, author, 50)
    for note in made:
        dbsession.get(Note, note.id).tags = tags[: note.id % 3 + 1]
    dbsession.flush()
    tm.commit()

    def statements(limit: int) -> int:
        testapp.get(f"/api/v1/notes?limit={limit}", headers=auth)  # warm: token, user
        queries.clear()
        items = testapp.get(f"/api/v1/notes?limit={limit}", headers=auth).json["items"]
        assert len(items) == limit
        assert all(item["tags"] for item in items)
        return len(queries)

    assert statements(2) == statements(50)


def first_cursor(testapp: Any, make_note: Any, author: Any, auth: dict[str, str]) -> str:
    notes(make_note, author, 3)
    cursor: str = testapp.get("/api/v1/notes?limit=1", headers=auth).json["next_cursor"]
    return cursor


def unsigned(data: dict[str, Any]) -> str:
    """A cursor as a client would make one up: the payload, without a signature."""
    text = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


def test_a_changed_or_made_up_cursor_is_refused(
    testapp: Any, make_note: Any, author: Any, auth: dict[str, str]
) -> None:
    cursor = first_cursor(testapp, make_note, author, auth)
    payload, _, signature = cursor.partition(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["k"][-1] = data["k"][-1] + 1000  # another position, same shape
    forged = [
        unsigned(data),
        f"{unsigned(data)}.{signature}",
        f"{payload}.",
        payload,
        f"{payload}.{signature[:-2]}",
        f"{payload}.{'A' * len(signature)}",
        f"{payload}.{signature}é",
    ]
    assert testapp.get(f"/api/v1/notes?limit=1&cursor={cursor}", headers=auth).json["items"]
    for bad in forged:
        refused = testapp.get(
            "/api/v1/notes", {"limit": 1, "cursor": bad}, headers=auth, status=400
        )
        assert refused.content_type == "application/problem+json"
        assert "Start again" in refused.json["detail"]


def test_processes_with_the_same_cursor_secret_accept_each_others_cursors(
    make_pyramidion_app: Any, db_connection: Any, make_note: Any, author: Any, auth: dict[str, str]
) -> None:
    def app(secret: str) -> PyramidionTestApp:
        made = make_pyramidion_app({"api.cursor_secret": secret}, connection=db_connection)
        return PyramidionTestApp(made)

    shared = "Zq8-Wm3kR1vT0yL5nB7cX2dF9gH4jK6p"
    one, two, other = app(shared), app(shared), app("Pu7tN2sE9aQ4wR1yU6iO3pA8sD5fG0hJ")
    cursor = first_cursor(one, make_note, author, auth)

    page = two.get(f"/api/v1/notes?limit=1&cursor={cursor}", headers=auth).json
    assert (
        page["items"]
        == one.get(f"/api/v1/notes?limit=1&cursor={cursor}", headers=auth).json["items"]
    )
    other.get(f"/api/v1/notes?limit=1&cursor={cursor}", headers=auth, status=400)


def test_a_production_app_without_a_cursor_secret_says_so_at_start_up(
    make_pyramidion_app: Any, db_connection: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="pyramidion_api.operations"):
        make_pyramidion_app({"pyramidion.environment": "production"}, connection=db_connection)
    assert any("api.cursor_secret is not set" in r.getMessage() for r in caplog.records)

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="pyramidion_api.operations"):
        make_pyramidion_app(
            {
                "pyramidion.environment": "production",
                "api.cursor_secret": "Zq8-Wm3kR1vT0yL5nB7cX2dF9gH4jK6p",
            },
            connection=db_connection,
        )
    assert not any("cursor_secret" in r.getMessage() for r in caplog.records)
