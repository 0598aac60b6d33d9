"""validate_json: JSON bodies validated by the same schemas, failures as 422 problem+json."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from pyramidion.testing import PyramidionTestApp


def post_json(testapp: PyramidionTestApp, url: str, data: Any, status: int) -> Any:
    return testapp.post_json(url, data, headers=testapp.csrf_headers(), status=status)


def count(connection: Connection, model: Any) -> int:
    return int(connection.scalar(select(func.count()).select_from(model)) or 0)


def test_valid_json_is_converted_by_the_schema(
    testapp: PyramidionTestApp, models: ModuleType, db_connection: Connection
) -> None:
    response = post_json(
        testapp,
        "/formstest/messages",
        {"name": "Ann", "email": "ann@example.com", "body": "Hello"},
        201,
    )

    assert response.json["name"] == "Ann"
    assert count(db_connection, models.Message) == 1


def test_invalid_json_is_answered_422_with_the_errors_per_field(
    testapp: PyramidionTestApp, models: ModuleType, db_connection: Connection
) -> None:
    response = post_json(
        testapp, "/formstest/messages", {"name": "A" * 51, "email": "nope", "body": None}, 422
    )

    assert response.content_type == "application/problem+json"
    problem = response.json
    assert problem["status"] == 422
    assert problem["title"] == "Unprocessable Content"
    assert problem["errors"] == {
        "name": "Longer than maximum length 50",
        "email": "Invalid email address",
        "body": "Required",
    }
    assert problem["request_id"] == response.headers["X-Request-ID"]
    assert count(db_connection, models.Message) == 0


def test_the_same_model_schema_checks_types_choices_and_uniqueness_in_json(
    testapp: PyramidionTestApp,
    models: ModuleType,
    dbsession: Session,
    tm: Any,
    db_connection: Connection,
) -> None:
    author = models.Author(name="Octavia")
    dbsession.add(author)
    dbsession.flush()
    author_id = author.id
    tm.commit()
    book = {"title": "Kindred", "genre": "novel", "author_id": author_id, "pages": 264}

    created = post_json(testapp, "/formstest/api/books", book, 201)
    assert created.json["genre"] == "novel"

    again = post_json(testapp, "/formstest/api/books", book, 422)
    assert again.json["errors"] == {
        "title": "Another book with the same author already has this title."
    }
    wrong = post_json(
        testapp,
        "/formstest/api/books",
        {"title": "X", "genre": "saga", "author_id": 999999, "pages": 1.5},
        422,
    )
    assert wrong.json["errors"] == {
        "genre": '"saga" is not one of novel, poetry, essay',
        "author_id": "Choose one of the listed options.",
        "pages": '"1.5" is not a number',
    }
    assert count(db_connection, models.Book) == 1


def test_a_body_that_is_not_a_json_object_is_refused(testapp: PyramidionTestApp) -> None:
    not_json = testapp.post(
        "/formstest/messages",
        "{nope",
        headers={
            **testapp.csrf_headers(),
            "Content-Type": "application/json",
            "Accept": "application/json",
        },
        status=400,
    )
    assert not_json.json["detail"] == "The body is not valid JSON."

    a_list = post_json(testapp, "/formstest/messages", ["Ann"], 422)
    assert a_list.json["errors"] == {"": "Send a JSON object."}


def test_json_without_the_csrf_header_is_refused(
    testapp: PyramidionTestApp, models: ModuleType, db_connection: Connection
) -> None:
    testapp.post_json(
        "/formstest/messages",
        {"name": "Ann", "email": "ann@example.com", "body": "Hello"},
        status=400,
    )

    assert count(db_connection, models.Message) == 0
