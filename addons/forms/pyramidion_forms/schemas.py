"""Schemas bound to a request, and JSON validated by the same schemas.

Schemas are bound per request with ``request`` and ``dbsession``, so
``colander.deferred`` choices and validators can read the database::

    @colander.deferred
    def category_choices(node, kw):
        rows = kw["dbsession"].scalars(select(Category).order_by(Category.name))
        return [(str(c.id), c.name) for c in rows]
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

import colander
from pyramid.httpexceptions import HTTPBadRequest

from .limits import check_body_size, forms_settings

if TYPE_CHECKING:
    from pyramid.request import Request
    from pyramid.response import Response

__all__ = ["SchemaSource", "ValidationFailed", "bind_schema", "validate_json"]

#: What a form or JSON view may name as its schema: a schema node, a
#: ``colander.Schema`` subclass, or a function of the request returning a
#: node. (colander has no type hints, so to mypy this is ``Any``.)
SchemaSource: TypeAlias = Any


def bind_schema(schema: SchemaSource, request: Request, **kw: Any) -> colander.SchemaNode:
    """A copy of ``schema`` bound with ``request``, ``dbsession`` and ``kw``.

    The original is never changed, so one schema may serve every request.
    """
    if isinstance(schema, type):
        node = schema()
    elif isinstance(schema, colander.SchemaNode):
        node = schema
    else:
        node = schema(request)
    return node.bind(request=request, dbsession=request.dbsession, **kw)


class ValidationFailed(Exception):
    """Data did not validate; answered as 422 ``application/problem+json``.

    ``errors`` maps each field's dotted path to its message (the schema's
    own errors use the key ``""``).
    """

    def __init__(self, errors: Mapping[str, str], detail: str = "") -> None:
        super().__init__(detail or "The data did not validate.")
        self.errors = dict(errors)
        self.detail = detail or "The data did not validate: see errors for each field."

    @classmethod
    def from_invalid(cls, exc: colander.Invalid, request: Request) -> ValidationFailed:
        """The failure for colander's ``exc``, its messages translated for ``request``."""
        return cls(exc.asdict(translate=request.localizer.translate))


def validation_failed_view(exc: ValidationFailed, request: Request) -> Response:
    """Exception view: the errors per field as RFC 9457 problem details."""
    from pyramidion.web import problem_response

    return problem_response(request, 422, "Unprocessable Content", exc.detail, errors=exc.errors)


def validate_json(request: Request, schema: SchemaSource, **bind: Any) -> Any:
    """The request's JSON body, validated and converted by ``schema``.

    The body must be a JSON object within the add-on's limits. Raises
    400 for a body that is not JSON, 413 for one over
    ``forms.max_body_size``, and :class:`ValidationFailed` (422, errors
    per field) for too many fields, a string longer than
    ``forms.max_field_length`` or anything the schema refuses. ``null``
    counts as missing, so optional fields may be sent as ``null``. The
    schema is bound as by :func:`bind_schema` (``bind`` adds names).
    """
    check_body_size(request)
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise HTTPBadRequest("The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ValidationFailed({"": "Send a JSON object."})
    settings = forms_settings(request)
    count = 0
    too_long: dict[str, str] = {}
    for path, value in _leaves(data, ""):
        count += 1
        if isinstance(value, str) and len(value) > settings.max_field_length:
            too_long[path] = (
                f"Longer than this site accepts ({settings.max_field_length} characters)."
            )
    if count > settings.max_fields:
        raise ValidationFailed(
            {"": f"Too many fields ({count}); this site accepts at most {settings.max_fields}."}
        )
    if too_long:
        raise ValidationFailed(too_long)
    node = bind_schema(schema, request, **bind)
    try:
        return node.deserialize(_nulls(data))
    except colander.Invalid as exc:
        raise ValidationFailed.from_invalid(exc, request) from None


def _leaves(value: Any, path: str) -> Any:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}.{index}" if path else str(index))
    else:
        yield path, value


def _nulls(value: Any) -> Any:
    """JSON ``null`` as colander's missing value, at any depth."""
    if value is None:
        return colander.null
    if isinstance(value, dict):
        return {key: _nulls(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_nulls(item) for item in value]
    return value
