"""A generated form in a real browser: refused with a message, corrected, saved."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from pyramid.router import Router
from sqlalchemy import delete

from pyramidion import get_database
from pyramidion.testing import LiveServer


@pytest.fixture
def names(pyramidion_app: Router, models: ModuleType) -> Iterator[dict[str, str]]:
    """Unique names for what the live server commits, deleted afterwards.

    The live server's writes outlive the test, and the other tests count rows.
    """
    token = uuid.uuid4().hex[:8]
    made = {"author": f"Author {token}", "book": f"Book {token}"}
    yield made
    with get_database(pyramidion_app.registry).engine.begin() as connection:
        connection.execute(delete(models.Book).where(models.Book.title == made["book"]))
        connection.execute(delete(models.Author).where(models.Author.name == made["author"]))


def test_a_generated_form_shows_the_error_then_saves_the_corrected_book(
    pyramidion_live_server: LiveServer, pyramidion_page: Any, names: dict[str, str]
) -> None:
    pyramidion_page.set_extra_http_headers({"X-User": "root"})
    pyramidion_page.goto(pyramidion_live_server.url + "/formstest/authors/new")
    pyramidion_page.get_by_label("Name").fill(names["author"])
    pyramidion_page.get_by_role("button", name="Add").click()
    pyramidion_page.wait_for_url("**/formstest/authors/*")

    pyramidion_page.goto(pyramidion_live_server.url + "/formstest/books/new")
    pyramidion_page.get_by_label("Title").fill(names["book"])
    pyramidion_page.get_by_label("Isbn").fill("97800000000001")
    pyramidion_page.get_by_label("Genre").select_option(label="Poetry")
    pyramidion_page.get_by_label("Author").select_option(label=names["author"])
    pyramidion_page.get_by_role("button", name="Add").click()

    message = pyramidion_page.locator("#item-deformField2 .invalid-feedback")
    assert message.inner_text() == "Longer than maximum length 13"
    assert message.is_visible()
    assert pyramidion_page.get_by_label("Title").input_value() == names["book"]
    assert pyramidion_page.get_by_label("Author").input_value() != ""

    pyramidion_page.get_by_label("Isbn").fill("9780000000001")
    pyramidion_page.get_by_role("button", name="Add").click()

    pyramidion_page.wait_for_url("**/formstest/books/*")
    assert pyramidion_page.locator("main h1").inner_text() == names["book"]
    assert pyramidion_page.locator("dd").nth(1).inner_text() == "9780000000001"
