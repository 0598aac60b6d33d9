"""add_crud: list, pagination, sorting, no N+1, view, add, edit, delete, permissions."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
import transaction
from sqlalchemy import Connection, event, select
from sqlalchemy.orm import Session

from pyramidion.testing import PyramidionTestApp

EDITOR = {"X-User": "editor"}
ADMIN = {"X-User": "root"}


@pytest.fixture
def library(
    models: ModuleType, dbsession: Session, tm: transaction.TransactionManager
) -> dict[str, Any]:
    """Two authors and seven books, committed for the requests to see."""
    ursula = models.Author(name="Ursula")
    italo = models.Author(name="Italo")
    titles = ["Earthsea", "Lathe", "Dispossessed", "Tehanu", "Always", "Beginning", "Carrying"]
    books = [
        models.Book(
            title=title,
            genre=models.Genre.novel,
            pages=100 + 10 * i,
            author=ursula if i % 2 == 0 else italo,
        )
        for i, title in enumerate(titles)
    ]
    dbsession.add_all([ursula, italo, *books])
    dbsession.flush()
    ids = {"ursula": ursula.id, "italo": italo.id, **{b.title: b.id for b in books}}
    tm.commit()
    return ids


def rows(page: Any) -> list[list[str]]:
    return [
        [cell.text.strip() for cell in row.select("td")] for row in page.html.select("tbody tr")
    ]


def titles(page: Any) -> list[str]:
    return [row[0] for row in rows(page)]


@pytest.fixture
def selects(db_connection: Connection) -> Iterator[list[str]]:
    """The SELECT statements the requests send, as they happen."""
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(db_connection, "before_cursor_execute", record)
    yield statements
    event.remove(db_connection, "before_cursor_execute", record)


def test_the_list_shows_a_page_of_rows_with_their_related_rows(
    testapp: PyramidionTestApp, library: dict[str, Any]
) -> None:
    page = testapp.get("/formstest/books/")

    assert page.html.select_one("main h1").text == "Books"
    assert [th.text.strip() for th in page.html.select("thead th")] == [
        "Title ▲",
        "Genre",
        "Author",
        "Pages",
    ]
    assert rows(page) == [
        ["Always", "novel", "Ursula", "140"],
        ["Beginning", "novel", "Italo", "150"],
        ["Carrying", "novel", "Ursula", "160"],
        ["Dispossessed", "novel", "Ursula", "120"],
        ["Earthsea", "novel", "Ursula", "100"],
    ]
    first = page.html.select_one("tbody a")
    assert first["href"] == f"http://localhost/formstest/books/{library['Always']}"
    assert "7 books" in page.text


def test_the_list_is_paginated(testapp: PyramidionTestApp, library: dict[str, Any]) -> None:
    first = testapp.get("/formstest/books/")
    links = [a.text for a in first.html.select(".pagination a")]

    second = first.click(linkid=None, href="page=2")

    assert links == ["1", "2"]
    assert titles(second) == ["Lathe", "Tehanu"]
    testapp.get("/formstest/books/?page=3", status=404)
    testapp.get("/formstest/books/?page=two", status=404)


def test_the_list_sorts_by_whitelisted_columns_only(
    testapp: PyramidionTestApp, library: dict[str, Any]
) -> None:
    by_pages = testapp.get("/formstest/books/?sort=-pages")
    assert titles(by_pages) == ["Carrying", "Beginning", "Always", "Tehanu", "Dispossessed"]
    assert by_pages.html.select_one("a[aria-sort]").text.strip() == "Pages ▼"

    page_two = by_pages.click(href="page=2")
    assert titles(page_two) == ["Lathe", "Earthsea"]

    # "genre" is shown but not sortable, and "author_id" is not even shown:
    # both get the default order.
    for column in ("genre", "-author_id", "nonsense"):
        assert titles(testapp.get(f"/formstest/books/?sort={column}"))[0] == "Always"


def test_the_list_costs_the_same_queries_for_any_number_of_rows(
    testapp: PyramidionTestApp,
    library: dict[str, Any],
    selects: list[str],
    models: ModuleType,
    dbsession: Session,
    tm: transaction.TransactionManager,
) -> None:
    testapp.get("/formstest/books/?page=2")
    with_two_rows = len(selects)
    selects.clear()

    testapp.get("/formstest/books/")

    # One count and one query for the books with their authors.
    assert len(selects) == with_two_rows == 2


def test_a_row_has_its_own_page(testapp: PyramidionTestApp, library: dict[str, Any]) -> None:
    page = testapp.get(f"/formstest/books/{library['Earthsea']}")

    fields = dict(
        zip(
            [dt.text for dt in page.html.select("dt")],
            [dd.text for dd in page.html.select("dd")],
            strict=True,
        )
    )
    assert page.html.select_one("main h1").text == "Earthsea"
    assert fields["Title"] == "Earthsea"
    assert fields["Author"] == "Ursula"
    assert fields["In print"] == "Yes"
    assert fields["Isbn"] == "—"
    # Anonymous users may look, not change.
    assert [a.text for a in page.html.select(".pyramidion-actions a")] == ["All books"]
    testapp.get("/formstest/books/999999", status=404)
    testapp.get("/formstest/books/abc", status=404)


def test_an_editor_adds_a_book_from_a_form_generated_from_the_model(
    testapp: PyramidionTestApp,
    library: dict[str, Any],
    models: ModuleType,
    db_connection: Connection,
) -> None:
    form = testapp.get("/formstest/books/new", headers=EDITOR).forms["deform"]
    assert [o[2] for o in form["author_id"].options] == ["—", "Italo", "Ursula"]
    assert [o[2] for o in form["genre"].options] == ["—", "Novel", "Poetry", "Essay"]
    assert form["in_print"].checked, "the column's default"
    form["in_print"] = False
    form["title"] = "The Word for World"
    form["genre"] = "essay"
    form["author_id"] = str(library["ursula"])
    form["pages"] = "189"
    form["published"] = "1972-03-01"

    created = form.submit("submit", headers=EDITOR, status=303)

    book = db_connection.execute(
        select(models.Book.__table__).where(models.Book.title == "The Word for World")
    ).one()
    assert (book.genre, book.pages, str(book.published), book.in_print) == (
        models.Genre.essay,
        189,
        "1972-03-01",
        False,
    )
    assert created.location == f"http://localhost/formstest/books/{book.id}"


def test_the_generated_form_checks_types_lengths_choices_and_unique_constraints(
    testapp: PyramidionTestApp, library: dict[str, Any], db_connection: Connection
) -> None:
    form = testapp.get("/formstest/books/new", headers=EDITOR).forms["deform"]
    form["title"] = "Earthsea II"
    form["author_id"] = str(library["ursula"])
    form["pages"] = "many"
    form["isbn"] = "9" * 14
    form["published"] = "someday"

    page = form.submit("submit", headers=EDITOR, status=422)

    errors = {
        item.select_one("[name]")["name"]: item.select_one(".invalid-feedback").text.strip()
        for item in page.html.select("div.mb-3[id^=item-]")
        if item.select_one(".invalid-feedback")
    }
    assert errors == {
        "isbn": "Longer than maximum length 13",
        "genre": "Required",
        "pages": '"many" is not a number',
        "published": "Invalid date",
    }
    assert page.forms["deform"]["title"].value == "Earthsea II"

    # Once every field is valid, the unique constraints are checked.
    form = page.forms["deform"]
    form["title"] = "Earthsea"
    form["genre"] = "novel"
    form["pages"] = form["isbn"] = form["published"] = ""
    page = form.submit("submit", headers=EDITOR, status=422)
    assert page.html.select_one(".invalid-feedback").text.strip() == (
        "Another book with the same author already has this title."
    )


def test_a_foreign_key_must_name_an_existing_row(
    testapp: PyramidionTestApp, library: dict[str, Any]
) -> None:
    page = testapp.post(
        "/formstest/books/new",
        {
            "title": "Ghost",
            "genre": "novel",
            "author_id": "999999",
            "csrf_token": testapp.csrf_token(),
        },
        headers=EDITOR,
        status=422,
    )

    assert "Choose one of the listed options." in page.text


def test_editing_keeps_the_row_itself_out_of_the_unique_check(
    testapp: PyramidionTestApp,
    library: dict[str, Any],
    models: ModuleType,
    db_connection: Connection,
) -> None:
    url = f"/formstest/books/{library['Earthsea']}/edit"
    form = testapp.get(url, headers=EDITOR).forms["deform"]
    assert form["title"].value == "Earthsea"
    assert form["genre"].value == "novel"
    assert form["in_print"].checked
    form["pages"] = "250"

    saved = form.submit("submit", headers=EDITOR, status=303)

    assert saved.location == f"http://localhost/formstest/books/{library['Earthsea']}"
    pages = db_connection.scalar(
        select(models.Book.pages).where(models.Book.id == library["Earthsea"])
    )
    assert pages == 250

    form = testapp.get(url, headers=EDITOR).forms["deform"]
    form["title"] = "Always"  # another of Ursula's books
    page = form.submit("submit", headers=EDITOR, status=422)
    assert "Another book with the same author already has this title." in page.text


def test_delete_asks_for_confirmation_then_deletes_on_post(
    testapp: PyramidionTestApp,
    library: dict[str, Any],
    models: ModuleType,
    db_connection: Connection,
) -> None:
    url = f"/formstest/books/{library['Lathe']}/delete"

    confirm = testapp.get(url, headers=ADMIN)

    assert confirm.html.select_one("main h1").text == "Delete Lathe"
    assert "This cannot be undone." in confirm.text
    assert db_connection.scalar(select(models.Book.id).where(models.Book.title == "Lathe"))

    done = confirm.forms[0].submit(headers=ADMIN, status=303)

    assert done.location == "http://localhost/formstest/books/"
    assert db_connection.scalar(select(models.Book.id).where(models.Book.title == "Lathe")) is None


def test_a_row_others_refer_to_is_not_deleted(
    testapp: PyramidionTestApp,
    library: dict[str, Any],
    models: ModuleType,
    db_connection: Connection,
) -> None:
    confirm = testapp.get(f"/formstest/authors/{library['italo']}/delete", headers=ADMIN)

    refused = confirm.forms[0].submit(headers=ADMIN, status=409)

    assert "cannot be deleted while other records refer to it" in refused.text
    assert db_connection.scalar(select(models.Author.name).where(models.Author.name == "Italo"))


def test_deleting_without_the_csrf_token_is_refused(
    testapp: PyramidionTestApp,
    library: dict[str, Any],
    models: ModuleType,
    db_connection: Connection,
) -> None:
    testapp.post(f"/formstest/books/{library['Lathe']}/delete", headers=ADMIN, status=400)

    assert db_connection.scalar(select(models.Book.id).where(models.Book.title == "Lathe"))


@pytest.mark.parametrize(
    ("method", "path", "anonymous", "editor"),
    [
        ("GET", "/formstest/books/new", 403, 200),
        ("GET", "/formstest/books/{Lathe}/edit", 403, 200),
        ("GET", "/formstest/books/{Lathe}/delete", 403, 403),
        ("POST", "/formstest/books/{Lathe}/delete", 403, 403),
        ("GET", "/formstest/authors/new", 403, 403),
        ("GET", "/formstest/authors/", 200, 200),
        ("GET", "/formstest/books/", 200, 200),
    ],
)
def test_each_page_has_its_own_permission(
    testapp: PyramidionTestApp,
    library: dict[str, Any],
    method: str,
    path: str,
    anonymous: int,
    editor: int,
) -> None:
    url = path.format(**library)
    headers = {"X-CSRF-Token": testapp.csrf_token()}

    testapp.request(url, method=method, headers=headers, status=anonymous)
    testapp.request(url, method=method, headers={**headers, **EDITOR}, status=editor)
    # The admin group may do everything, through the root's rule.
    testapp.request(url, method="GET", headers=ADMIN, status=200)


def test_the_pages_permissions_are_declared(pyramidion_app: Any) -> None:
    from pyramidion.security import declared_permissions

    declared = declared_permissions(pyramidion_app.registry)

    assert declared["formstest.book.delete"] == "Delete books"
    assert declared["formstest.author.add"] == "Add authors"
    assert "formstest.author.list" not in declared  # it is public


def test_the_list_is_in_the_navigation_for_those_who_may_see_it(
    testapp: PyramidionTestApp,
) -> None:
    page = testapp.get("/formstest/thanks")

    assert [a.text for a in page.html.select("nav a.nav-link")] == ["Contact", "Books", "Authors"]
