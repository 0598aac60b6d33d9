"""colander schemas as the API uses them: field names, partial copies for
PATCH, and JSON Schema (OpenAPI 3.1's dialect) for the document."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

import colander

from pyramidion import json_body

if TYPE_CHECKING:
    from pyramid.request import Request

__all__ = ["instantiate", "partial_schema", "schema_field_names"]


def instantiate(schema: Any, request: Request | None = None) -> colander.SchemaNode | None:
    """The schema node of a node, a ``colander.Schema`` class or ``schema(request)``.

    A function of the request gives None when there is no request (while
    the app is configured).
    """
    if isinstance(schema, colander.SchemaNode):
        return schema
    if isinstance(schema, type):
        return schema()
    if callable(schema) and request is not None:
        return schema(request)
    return None


def schema_field_names(schema: Any) -> list[str]:
    """The names of the top-level fields of ``schema`` (none for a function of the request)."""
    node = instantiate(schema)
    if node is None:
        return []
    return [child.name for child in node.children]


def partial_schema(schema: Any) -> Any:
    """For PATCH: a schema function that keeps only the fields the body holds.

    Passed to :func:`pyramidion_forms.validate_json`, which parses the body
    before it builds the schema, so the fields sent are known; a field
    left out keeps its value, one sent as ``null`` is cleared (or refused
    when it is required).
    """

    def partial(request: Request) -> colander.SchemaNode:
        node = instantiate(schema, request)
        assert node is not None
        body = json_body(request)
        sent = set(body) if isinstance(body, dict) else set()
        clone = node.clone()
        clone.children = [child for child in clone.children if child.name in sent]
        return clone

    return partial


def enum_names(enum_class: type[enum.Enum]) -> list[str]:
    """The names a forms ``EnumType`` accepts for ``enum_class``."""
    return [member.name for member in enum_class]
