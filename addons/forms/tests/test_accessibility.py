"""The forms add-on's pages in a browser: no serious or critical axe-core
violation on a generated list, form (with errors), view and delete page,
a form view, and an error page; all in standards mode."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from pyramid.router import Router
from sqlalchemy import delete

from pyramidion import get_database
from pyramidion.testing import LiveServer, axe_violations


@pytest.fixture
def author(pyramidion_app: Router, models: ModuleType) -> Iterator[str]:
    """A unique author name; the live server commits, so it is deleted afterwards."""
    name = f"Author {uuid.uuid4().hex[:8]}"
    yield name
    with get_database(pyramidion_app.registry).engine.begin() as connection:
        connection.execute(delete(models.Author).where(models.Author.name == name))


def test_the_forms_pages_are_accessible(
    pyramidion_live_server: LiveServer, pyramidion_page: Any, author: str
) -> None:
    page = pyramidion_page
    live_server = pyramidion_live_server
    page.set_extra_http_headers({"X-User": "root"})
    found: dict[str, list[dict[str, Any]]] = {}

    def survey(name: str) -> None:
        page.wait_for_load_state("load")
        found[name] = axe_violations(page)
        if page.evaluate("document.compatMode") != "CSS1Compat":
            found[name].append({"id": "quirks-mode", "impact": "serious", "targets": []})

    page.goto(live_server.url + "/formstest/contact")
    survey("form view")
    # Too long a name is refused by the server, not by the browser.
    page.get_by_label("Name").fill("x" * 51)
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Message").fill("x")
    page.get_by_role("button", name="Send").click()
    page.wait_for_selector('[aria-invalid="true"]')
    survey("form view, with errors")

    page.goto(live_server.url + "/formstest/authors/new")
    survey("add form")
    page.get_by_label("Name").fill(author)
    page.get_by_role("button", name="Add").click()
    page.wait_for_url("**/formstest/authors/*")
    survey("view")
    page.goto(live_server.url + "/formstest/authors")
    survey("list")
    page.goto(live_server.url + "/formstest/books/new")
    page.get_by_label("Title").fill("A title")
    page.get_by_label("Isbn").fill("97800000000001")
    page.get_by_label("Genre").select_option(label="Poetry")
    page.get_by_label("Author").select_option(label=author)
    page.get_by_role("button", name="Add").click()
    page.wait_for_selector('[aria-invalid="true"]')
    survey("add form, with errors")
    page.goto(live_server.url + "/formstest/no/such/page")
    survey("not found")

    report = {name: [v["id"] for v in problems] for name, problems in found.items()}
    print("\nserious or critical axe violations per page:", report)
    assert all(not problems for problems in found.values()), report
