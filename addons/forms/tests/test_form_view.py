"""FormView through WebTest: render, validate, succeed, refuse, CSRF."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from pyramidion import Base
from pyramidion.testing import PyramidionTestApp


def messages(connection: Connection) -> list[tuple[str, str, str]]:
    table = Base.metadata.tables["formstest_messages"]
    rows = connection.execute(select(table.c.name, table.c.email, table.c.body).order_by("id"))
    return [(row.name, row.email, row.body) for row in rows]


def contact_form(testapp: PyramidionTestApp, **values: str) -> Any:
    form = testapp.get("/formstest/contact").forms["deform"]
    for name, value in values.items():
        form[name] = value
    return form


def field_errors(page: Any) -> dict[str, str]:
    """Each field's error message, by field name, as the page shows them."""
    errors = {}
    for item in page.html.select("div.mb-3[id^=item-]"):
        message = item.select_one(".invalid-feedback")
        if message is not None:
            errors[item.select_one("[name]")["name"]] = message.text.strip()
    return errors


def test_get_renders_the_form_with_its_fields_and_csrf_token(
    testapp: PyramidionTestApp,
) -> None:
    page = testapp.get("/formstest/contact")

    assert page.html.select_one("main h1").text == "Contact us"
    labels = [label.text for label in page.html.select("form label")]
    assert labels == ["Name", "Email", "Message"]
    assert page.forms["deform"]["csrf_token"].value == testapp.csrf_token()
    assert page.html.select_one("form button[type=submit]").text.strip() == "Send"


def test_invalid_input_is_shown_again_with_a_message_next_to_each_field(
    testapp: PyramidionTestApp, db_connection: Connection
) -> None:
    form = contact_form(testapp, name="A" * 51, email="not an address", body="")

    page = form.submit("submit", status=422)

    assert field_errors(page) == {
        "name": "Longer than maximum length 50",
        "email": "Invalid email address",
        "body": "Required",
    }
    again = page.forms["deform"]
    assert again["name"].value == "A" * 51
    assert again["email"].value == "not an address"
    assert "There was a problem with your submission" in page.text
    assert messages(db_connection) == []


def test_valid_input_runs_the_callback_and_redirects_with_303(
    testapp: PyramidionTestApp, db_connection: Connection
) -> None:
    form = contact_form(testapp, name="Ann", email="ann@example.com", body="Hello")

    response = form.submit("submit", status=303)

    assert messages(db_connection) == [("Ann", "ann@example.com", "Hello")]
    table = Base.metadata.tables["formstest_messages"]
    (message_id,) = db_connection.execute(select(table.c.id)).scalars()
    assert response.location == f"http://localhost/formstest/thanks?id={message_id}"
    assert f"Message number {message_id} is on its way." in response.follow().text


def test_a_callback_refusing_a_field_shows_its_message_and_keeps_nothing(
    testapp: PyramidionTestApp, db_connection: Connection
) -> None:
    form = contact_form(testapp, name="Mallory", email="m@example.com", body="Hi")

    page = form.submit("submit", status=422)

    assert field_errors(page) == {"name": "We do not take messages from Mallory."}
    assert page.forms["deform"]["body"].value == "Hi"
    assert messages(db_connection) == []


def test_a_callback_refusing_the_form_shows_its_message_above_it(
    testapp: PyramidionTestApp, db_connection: Connection
) -> None:
    form = contact_form(testapp, name="Ann", email="ann@example.com", body="spam")

    page = form.submit("submit", status=422)

    assert page.html.select_one("form .alert-danger .error-msg").text == "This looks like spam."
    assert field_errors(page) == {}
    assert messages(db_connection) == []


def test_a_post_without_the_csrf_token_is_refused_and_writes_nothing(
    testapp: PyramidionTestApp, db_connection: Connection
) -> None:
    testapp.get("/formstest/contact")

    response = testapp.post(
        "/formstest/contact",
        {"name": "Ann", "email": "ann@example.com", "body": "Hello"},
        status=400,
    )

    assert response.html.h1.text == "Bad Request"
    assert "This form has expired or was not sent from this site." in response.text
    assert messages(db_connection) == []


def test_a_post_with_a_wrong_csrf_token_is_refused_and_writes_nothing(
    testapp: PyramidionTestApp, db_connection: Connection
) -> None:
    form = contact_form(testapp, name="Ann", email="ann@example.com", body="Hello")
    form["csrf_token"] = "0" * 32

    response = form.submit("submit", status=400)

    assert "This form has expired or was not sent from this site." in response.text
    assert messages(db_connection) == []
