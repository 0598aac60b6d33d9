"""The list page and the form, through WebTest, inside a rolled-back transaction."""

from __future__ import annotations

import pytest
from pyramidion import PyramidionError
from pyramidion.testing import MakeApp, PyramidionTestApp
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from {{ cookiecutter.package }}.models import Item


def test_the_list_page_shows_items_in_the_forms_layout(
    testapp: PyramidionTestApp, dbsession: Session
) -> None:
    dbsession.add(Item(title="First", notes="Some notes"))
    dbsession.flush()

    page = testapp.get("/{{ cookiecutter.name }}/")

    assert page.html.select_one("main h1").text == "{{ cookiecutter.title }}"
    assert [li.strong.text for li in page.html.select("main li")] == ["First"]
    assert "Some notes" in page.text
    nav = [a.text.strip() for a in page.html.select("nav a")]
    assert "{{ cookiecutter.title }}" in nav


def test_the_list_page_says_when_there_is_nothing_yet(testapp: PyramidionTestApp) -> None:
    assert "No items yet." in testapp.get("/{{ cookiecutter.name }}/").text


def test_the_form_adds_an_item_and_goes_back_to_the_list(
    testapp: PyramidionTestApp, dbsession: Session
) -> None:
    form = testapp.get("/{{ cookiecutter.name }}/new").forms["deform"]
    form["title"] = "Written in a form"

    response = form.submit("submit", status=303)

    assert response.location == "http://localhost/{{ cookiecutter.name }}/"
    assert "Written in a form" in response.follow().text
    item = dbsession.scalars(select(Item)).one()
    assert (item.title, item.notes) == ("Written in a form", None)


def test_a_form_without_a_title_is_shown_again_and_nothing_is_written(
    testapp: PyramidionTestApp, db_connection: Connection
) -> None:
    form = testapp.get("/{{ cookiecutter.name }}/new").forms["deform"]
    form["notes"] = "No title"

    page = form.submit("submit", status=422)

    assert page.forms["deform"]["notes"].value == "No title"
    assert db_connection.execute(select(Item.id)).all() == []


def test_per_page_limits_the_list(
    make_pyramidion_app: MakeApp, db_connection: Connection, dbsession: Session
) -> None:
    dbsession.add_all([Item(title="Older"), Item(title="Newer")])
    dbsession.flush()
    app = make_pyramidion_app(
        {"{{ cookiecutter.name }}.per_page": "1"},
        connection=db_connection,
    )

    page = PyramidionTestApp(app).get("/{{ cookiecutter.name }}/")

    assert [li.strong.text for li in page.html.select("main li")] == ["Newer"]


def test_a_per_page_of_zero_stops_start_up(make_pyramidion_app: MakeApp) -> None:
    with pytest.raises(PyramidionError, match="per_page"):
        make_pyramidion_app({"{{ cookiecutter.name }}.per_page": "0"})
