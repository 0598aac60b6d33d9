"""colander nodes as JSON Schema, node type by node type."""

from __future__ import annotations

import enum

import colander

from pyramidion_api.openapi import json_schema


class Colour(enum.Enum):
    red = "r"
    green = "g"


def node(typ: colander.SchemaType, **kw: object) -> colander.SchemaNode:
    return colander.SchemaNode(typ, name="field", **kw)


def test_formats_and_validators() -> None:
    from pyramidion_forms.schemas import EnumType

    assert json_schema(node(colander.DateTime())) == {
        "type": "string",
        "format": "date-time",
        "title": "Field",
    }
    assert json_schema(node(colander.String(), validator=colander.url))["format"] == "uri"
    assert json_schema(node(colander.String(), validator=colander.Email()))["format"] == "email"
    assert json_schema(node(colander.Time()))["format"] == "time"
    assert (
        json_schema(node(colander.String(), validator=colander.Regex(r"^[a-z]+$")))["pattern"]
        == "^[a-z]+$"
    )
    assert json_schema(node(colander.String(), validator=colander.OneOf(["a", "b"])))["enum"] == [
        "a",
        "b",
    ]
    assert json_schema(node(EnumType(Colour)))["enum"] == ["red", "green"]
    bounded = json_schema(
        node(colander.Float(), validator=colander.All(colander.Range(0, 1), colander.Range(0.5)))
    )
    assert (bounded["type"], bounded["minimum"], bounded["maximum"]) == ("number", 0.5, 1)
    assert json_schema(node(colander.Boolean()))["type"] == "boolean"
    assert json_schema(node(colander.Decimal()))["type"] == ["number", "string"]
    assert json_schema(node(colander.Decimal()), for_response=True)["format"] == "decimal"


def test_optional_fields_may_be_null_and_document_their_default() -> None:
    schema = json_schema(node(colander.Integer(), missing=3, description="How many."))
    assert schema == {
        "type": ["integer", "null"],
        "title": "Field",
        "description": "How many.",
        "default": 3,
    }
    assert "default" not in json_schema(node(colander.Integer(), missing=3), for_response=True)


def test_containers() -> None:
    mapping = colander.SchemaNode(colander.Mapping())
    mapping.add(colander.SchemaNode(colander.String(), name="name"))
    mapping.add(colander.SchemaNode(colander.String(), name="note", missing=""))
    words = colander.SchemaNode(
        colander.Sequence(),
        colander.SchemaNode(colander.String(), name="word"),
        name="words",
        validator=colander.Length(max=3),
    )
    mapping.add(words)
    pair = colander.SchemaNode(
        colander.Tuple(),
        colander.SchemaNode(colander.Integer(), name="x"),
        colander.SchemaNode(colander.Integer(), name="y"),
        name="pair",
        missing=None,
    )
    mapping.add(pair)
    schema = json_schema(mapping)
    assert schema["required"] == ["name", "words"]
    assert schema["properties"]["words"]["items"]["type"] == "string"
    assert schema["properties"]["words"]["maxItems"] == 3
    assert schema["properties"]["pair"]["prefixItems"][1]["type"] == "integer"
    assert schema["properties"]["pair"]["type"] == ["array", "null"]
    # A response lists the fields it holds, without requiring them.
    assert "required" not in json_schema(mapping, for_response=True)
