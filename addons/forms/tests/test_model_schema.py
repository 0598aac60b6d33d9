"""model_schema: fields from columns, each overridable; bound to the request's session."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import colander
import pytest
from pyramid.request import Request
from sqlalchemy.orm import Session

from pyramidion_forms import model_schema


def bound(schema: colander.SchemaNode, dbsession: Session, **kw: Any) -> colander.SchemaNode:
    return schema.bind(request=Request.blank("/"), dbsession=dbsession, **kw)


def test_fields_follow_the_columns(models: ModuleType, dbsession: Session) -> None:
    author = models.Author(name="Italo")
    dbsession.add(author)
    dbsession.flush()
    schema = bound(model_schema(models.Book), dbsession)

    assert [(c.name, c.title, c.required) for c in schema.children] == [
        ("title", "Title", True),
        ("isbn", "Isbn", False),
        ("genre", "Genre", True),
        ("pages", "Pages", False),
        ("published", "Published", False),
        ("in_print", "In print", False),
        ("summary", "Summary", False),
        ("author_id", "Author", True),
    ]
    values = {"title": "T", "genre": "poetry", "author_id": str(author.id)}
    assert schema.deserialize(values) == {
        "title": "T",
        "isbn": None,
        "genre": models.Genre.poetry,
        "pages": None,
        "published": None,
        "in_print": False,
        "summary": None,
        "author_id": author.id,
    }


def test_overrides_change_replace_drop_and_add_fields(
    models: ModuleType, dbsession: Session
) -> None:
    schema = model_schema(
        models.Author,
        overrides={
            "name": {"title": "Full name"},
            "email": colander.SchemaNode(
                colander.String(), name="email", validator=colander.Email()
            ),
            "nickname": colander.SchemaNode(colander.String(), name="nickname", missing=None),
        },
    )

    assert [(c.name, c.title) for c in schema.children] == [
        ("name", "Full name"),
        ("email", "Email"),
        ("nickname", "Nickname"),
    ]
    with pytest.raises(colander.Invalid) as info:
        bound(schema, dbsession).deserialize({"name": "N", "email": "nope"})
    assert info.value.asdict() == {"email": "Invalid email address"}

    dropped = model_schema(models.Author, overrides={"email": None})
    assert [c.name for c in dropped.children] == ["name"]


def test_include_picks_and_orders_fields_and_names_unknown_ones(models: ModuleType) -> None:
    schema = model_schema(models.Book, include=["author_id", "title"])

    assert [c.name for c in schema.children] == ["author_id", "title"]
    with pytest.raises(ValueError, match="include names colour, which are not columns"):
        model_schema(models.Book, include=["colour"])


def test_unique_columns_are_checked_against_the_database_except_the_edited_row(
    models: ModuleType, dbsession: Session
) -> None:
    octavia = models.Author(name="Octavia")
    dbsession.add(octavia)
    dbsession.flush()
    schema = model_schema(models.Author)

    with pytest.raises(colander.Invalid) as info:
        bound(schema, dbsession).deserialize({"name": "Octavia"})
    assert info.value.asdict() == {"name": "Another author already has this name."}
    assert bound(schema, dbsession, obj=octavia).deserialize({"name": "Octavia"}) == {
        "name": "Octavia",
        "email": None,
    }


@pytest.mark.parametrize("number", ["2147483648", "-2147483649", "9" * 40])
def test_a_number_the_column_cannot_hold_is_refused_with_a_message(
    models: ModuleType, dbsession: Session, number: str
) -> None:
    author = models.Author(name="Italo")
    dbsession.add(author)
    dbsession.flush()
    schema = bound(model_schema(models.Book), dbsession)
    values = {"title": "T", "genre": "poetry", "author_id": number, "pages": number}

    with pytest.raises(colander.Invalid) as info:
        schema.deserialize(values)

    errors = info.value.asdict()
    assert errors["pages"].startswith("Enter a number no")
    assert errors["author_id"] == "Choose one of the listed options."
