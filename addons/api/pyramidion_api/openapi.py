"""The OpenAPI 3.1 document, generated from the registered operations.

Request and response bodies come from the operations' colander schemas
(:func:`json_schema`) and, for resources, from their models' columns; every
status an operation can answer besides its success is documented as
``application/problem+json``.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

import colander
import sqlalchemy as sa

from pyramidion import PUBLIC, get_settings

from .operations import Operation, api_state
from .schemas import instantiate

if TYPE_CHECKING:
    from pyramid.registry import Registry

    from .resources import ApiResource

__all__ = ["json_schema", "openapi_document"]

REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    304: "Not Modified: the item still has the ETag sent in If-None-Match",
    400: "Bad Request: the query string, body or cursor is not one this operation accepts",
    401: "Unauthorized: log in, or send an API token (Authorization: Bearer)",
    403: "Forbidden: the user may not do this",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed: the item changed since the ETag sent in If-Match",
    413: "Content Too Large",
    415: "Unsupported Media Type: send the body as JSON",
    422: "Unprocessable Content: the body did not validate (errors per field)",
    428: "Precondition Required: send If-Match with the item's ETag",
    429: "Too Many Requests",
}

PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 100, "maximum": 599},
        "detail": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "object",
            "description": "For 422: the message of each invalid field, by its dotted "
            "path in the body ('' for the body as a whole).",
            "additionalProperties": {"type": "string"},
        },
    },
}


# -- colander to JSON Schema ------------------------------------------------------


def json_schema(node: Any, *, for_response: bool = False) -> dict[str, Any]:
    """The JSON Schema (2020-12, as OpenAPI 3.1 uses it) of a colander node.

    Types, required fields (a field without ``missing`` is required in a
    request), enums (``OneOf`` and the forms' ``EnumType``), lengths,
    ranges and the formats date-time, date, time, email and uri. An
    optional field may also be ``null`` (``validate_json`` reads null as
    missing). Deferred validators are left out: they need a request.
    """
    if isinstance(node, dict):
        return node
    node = instantiate(node)
    if node is None:
        return {"type": "object"}
    typ = node.typ
    schema: dict[str, Any]
    if isinstance(typ, colander.Mapping):
        properties = {}
        required = []
        for child in node.children:
            properties[child.name] = json_schema(child, for_response=for_response)
            if child.missing is colander.required and not for_response:
                required.append(child.name)
        schema = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
    elif isinstance(typ, colander.Sequence | colander.List | colander.Set):
        item = json_schema(node.children[0], for_response=for_response) if node.children else {}
        schema = {"type": "array", "items": item}
        if isinstance(typ, colander.Set):
            schema["uniqueItems"] = True
    elif isinstance(typ, colander.Tuple):
        schema = {
            "type": "array",
            "prefixItems": [json_schema(c, for_response=for_response) for c in node.children],
            "minItems": len(node.children),
            "maxItems": len(node.children),
        }
    elif isinstance(typ, colander.Boolean):
        schema = {"type": "boolean"}
    elif isinstance(typ, colander.Integer):
        schema = {"type": "integer"}
    elif isinstance(typ, colander.Decimal):
        # Written as a string, so no precision is lost; read from either.
        schema = (
            {"type": "string", "format": "decimal"}
            if for_response
            else {"type": ["number", "string"]}
        )
    elif isinstance(typ, colander.Number):
        schema = {"type": "number"}
    elif isinstance(typ, colander.DateTime):
        schema = {"type": "string", "format": "date-time"}
    elif isinstance(typ, colander.Date):
        schema = {"type": "string", "format": "date"}
    elif isinstance(typ, colander.Time):
        schema = {"type": "string", "format": "time"}
    elif hasattr(typ, "enum_class"):
        # The forms add-on's EnumType: a member, written as its name.
        schema = {"type": "string", "enum": [m.name for m in typ.enum_class]}
    elif isinstance(typ, colander.String):
        schema = {"type": "string"}
    else:
        schema = {}
    _apply_validators(schema, node.validator)
    title = str(node.title) if node.title else ""
    if title:
        schema["title"] = title
    if node.description:
        schema["description"] = str(node.description)
    optional = node.missing is not colander.required
    if optional and "type" in schema and not isinstance(typ, colander.Mapping):
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        schema["type"] = [*kinds, "null"]
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    if not for_response:
        # What a field left out becomes: its missing value (the schema's
        # default is what a form shows, and usually the same).
        default = node.missing if optional else node.default
        if default not in (colander.null, colander.required, None) and not isinstance(
            default, colander.deferred
        ):
            from .representation import jsonable

            schema["default"] = jsonable(default)
    return schema


def _apply_validators(schema: dict[str, Any], validator: Any) -> None:
    if validator is None or isinstance(validator, colander.deferred):
        return
    if isinstance(validator, colander.All):
        for each in validator.validators:
            _apply_validators(schema, each)
        return
    if isinstance(validator, colander.Length):
        text = schema.get("type") == "string"
        if validator.min is not None:
            schema["minLength" if text else "minItems"] = validator.min
        if validator.max is not None:
            schema["maxLength" if text else "maxItems"] = validator.max
    elif isinstance(validator, colander.Range):
        if validator.min is not None:
            schema["minimum"] = validator.min
        if validator.max is not None:
            schema["maximum"] = validator.max
    elif isinstance(validator, colander.OneOf):
        schema["enum"] = list(validator.choices)
    elif isinstance(validator, colander.Email):
        schema["format"] = "email"
    elif validator is colander.url:
        schema["format"] = "uri"
    elif isinstance(validator, colander.Regex):
        schema["pattern"] = validator.match_object.pattern


def column_schema(column: sa.Column[Any]) -> dict[str, Any]:
    """The JSON Schema of a column's values as :func:`~.representation.jsonable` writes them."""
    coltype = column.type
    schema: dict[str, Any]
    if isinstance(coltype, sa.Enum):
        names = (
            [m.name for m in coltype.enum_class]
            if coltype.enum_class is not None
            else list(coltype.enums)
        )
        schema = {"type": "string", "enum": names}
    elif isinstance(coltype, sa.Boolean):
        schema = {"type": "boolean"}
    elif isinstance(coltype, sa.Integer):
        schema = {"type": "integer"}
    elif isinstance(coltype, sa.Float):
        schema = {"type": "number"}
    elif isinstance(coltype, sa.Numeric):
        schema = {"type": "string", "format": "decimal"}
    elif isinstance(coltype, sa.DateTime):
        schema = {"type": "string", "format": "date-time"}
    elif isinstance(coltype, sa.Date):
        schema = {"type": "string", "format": "date"}
    elif isinstance(coltype, sa.Time):
        schema = {"type": "string", "format": "time"}
    elif isinstance(coltype, sa.Uuid):
        schema = {"type": "string", "format": "uuid"}
    elif isinstance(coltype, sa.String):
        schema = {"type": "string"}
        if coltype.length:
            schema["maxLength"] = coltype.length
    else:
        schema = {}
    if column.nullable and "type" in schema:
        schema["type"] = [schema["type"], "null"]
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    if column.doc or column.comment:
        schema["description"] = column.doc or column.comment
    return schema


def item_schema(resource: ApiResource) -> dict[str, Any]:
    """The JSON Schema of one item of ``resource`` as the API writes it."""
    if resource.response_schema is not None:
        return json_schema(resource.response_schema, for_response=True)
    if resource.serializer is not None:
        return {"type": "object"}
    mapper = sa.inspect(resource.model)
    node = instantiate(resource.schema)
    children = {c.name: c for c in node.children} if node is not None else {}
    properties: dict[str, Any] = {}
    for name in resource.fields:
        if name in mapper.columns:
            column = mapper.columns[name]
            schema = column_schema(column)
            child = children.get(name)
            if child is not None:
                # The schema's title, description and format describe the
                # field; its bounds held only for what was written through
                # it, so the column's type, length and enum say what a
                # stored value may be.
                from_schema = json_schema(child, for_response=True)
                for word in ("title", "description", "format"):
                    if word in from_schema and word not in schema:
                        schema[word] = from_schema[word]
        elif name in mapper.relationships:
            relationship = mapper.relationships[name]
            target = relationship.mapper.primary_key[0]
            key = column_schema(target)
            if relationship.uselist:
                schema = {"type": "array", "items": key}
            else:
                nullable = any(c.nullable for c in relationship.local_columns)
                schema = {**key, "type": [key.get("type", "integer"), "null"]} if nullable else key
        else:
            schema = {}
        properties[name] = schema
    return {
        "type": "object",
        "description": "Every field is present unless the request named some with ?fields=.",
        "properties": properties,
    }


# -- the document -----------------------------------------------------------------


def openapi_document(registry: Registry) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every operation registered with the API
    (``servers`` is left for the view, which knows the request's URL)."""
    from .settings import ApiSettings

    state = api_state(registry)
    settings = get_settings(registry, ApiSettings)
    paths: dict[str, dict[str, Any]] = {}
    tags: dict[str, None] = {}
    for operation in sorted(state.operations, key=lambda op: (op.path, op.method)):
        item = paths.setdefault(state.base + operation.path, {})
        item[operation.method.lower()] = _operation(
            state.resources, operation, settings, state.common_errors
        )
        for tag in operation.tags:
            tags[tag] = None
    return {
        "openapi": "3.1.0",
        "info": {
            "title": settings.title,
            "version": settings.version,
            "description": (
                "Generated from the application's code. Errors are RFC 9457 problem "
                "details (application/problem+json). Collections are paged by cursor: "
                "follow `next` (or the Link header). Items carry an ETag; send it back "
                "in If-Match to change them safely."
            ),
        },
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": {
            "schemas": {"Problem": PROBLEM},
            "securitySchemes": _security_schemes(registry),
        },
    }


def _security_schemes(registry: Registry) -> dict[str, Any]:
    from pyramidion_auth import AuthSettings

    cookie = get_settings(registry, AuthSettings).session_cookie_name
    return {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token (created at /auth/tokens).",
        },
        "cookieAuth": {
            "type": "apiKey",
            "in": "cookie",
            "name": cookie,
            "description": "The browser session; unsafe methods also need the value of "
            "the CSRF cookie in the X-CSRF-Token header.",
        },
    }


def _problem_response(status: int, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"},
                "example": {
                    "type": "about:blank",
                    "title": description.split(":")[0],
                    "status": status,
                    "detail": description,
                    "request_id": "3f2a9c1e5b7d4a60",
                },
            }
        },
    }


_ETAG_HEADER = {
    "description": "The item's strong ETag; send it in If-Match to change the item.",
    "schema": {"type": "string"},
}


def _operation(
    resources: dict[str, ApiResource],
    operation: Operation,
    settings: Any,
    common_errors: dict[int, tuple[str, frozenset[str] | None]],
) -> dict[str, Any]:
    resource = resources.get(operation.resource) if operation.resource else None
    parameters: list[dict[str, Any]] = [
        _path_parameter(name, resource) for name in _placeholders(operation.path)
    ]
    responses: dict[str, Any] = {}
    success: dict[str, Any] = {"description": REASONS.get(operation.status, "Success")}
    body_schema: dict[str, Any] | None = None
    headers: dict[str, Any] = {}
    if resource is not None and operation.action is not None:
        parameters.extend(_resource_parameters(resource, operation.action, settings))
        item = item_schema(resource)
        if operation.action == "list":
            body_schema = {
                "type": "object",
                "required": ["items", "next", "next_cursor"],
                "properties": {
                    "items": {"type": "array", "items": item},
                    "next": {
                        "type": ["string", "null"],
                        "description": "The URL of the next page; null on the last.",
                    },
                    "next_cursor": {
                        "type": ["string", "null"],
                        "description": "The cursor of the next page; null on the last.",
                    },
                },
            }
            headers["Link"] = {
                "description": 'The next page, as <URL>; rel="next" (absent on the last page).',
                "schema": {"type": "string"},
            }
        elif operation.action != "delete":
            body_schema = item
            headers["ETag"] = _ETAG_HEADER
        if operation.action == "create":
            headers["Location"] = {
                "description": "The URL of the new item.",
                "schema": {"type": "string"},
            }
    elif operation.response_schema is not None:
        body_schema = json_schema(operation.response_schema, for_response=True)
    else:
        # A view without a response schema still answers JSON (any JSON).
        body_schema = {}
    if "content_type" in operation.extra:
        # Bytes of their own (a stored file): the type is all there is to say.
        success["content"] = {operation.extra["content_type"]: {}}
    elif body_schema is not None and operation.status != 204:
        success["content"] = {"application/json": {"schema": body_schema}}
        example = example_for(body_schema)
        if example is not None:
            success["content"]["application/json"]["example"] = example
    if headers:
        success["headers"] = headers
    responses[str(operation.status)] = success
    errors = set(operation.errors)
    descriptions = dict(REASONS)
    for status, (description, methods) in common_errors.items():
        if methods is None or operation.method in methods:
            errors.add(status)
            descriptions.setdefault(status, description)
    for status in sorted(errors):
        if status == 304:
            responses["304"] = {"description": REASONS[304], "headers": {"ETag": _ETAG_HEADER}}
        else:
            responses[str(status)] = _problem_response(status, descriptions[status])
    result: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary or operation.operation_id,
        "tags": list(operation.tags),
        "parameters": [*parameters, *operation.parameters],
        "responses": responses,
    }
    if operation.description:
        result["description"] = operation.description
    if operation.request_schema is not None:
        request_schema = json_schema(operation.request_schema)
        if operation.action == "update":
            # PATCH changes the fields sent and keeps the others.
            request_schema = {k: v for k, v in request_schema.items() if k != "required"}
        media: dict[str, Any] = {"schema": request_schema}
        example = example_for(request_schema)
        if example is not None:
            media["example"] = example
        content = {"application/json": media}
        if operation.action == "update":
            content["application/merge-patch+json"] = media
        result["requestBody"] = {"required": True, "content": content}
    if operation.permission == PUBLIC:
        result["security"] = [{}]
    else:
        result["security"] = [{"bearerAuth": []}, {"cookieAuth": []}]
    return result


def _placeholders(path: str) -> list[str]:
    import re

    return [name.split(":", 1)[0] for name in re.findall(r"{([^}]+)}", path)]


def _path_parameter(name: str, resource: ApiResource | None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if resource is not None and name == "id":
        pk = sa.inspect(resource.model).primary_key[0]
        schema = column_schema(pk)
        if isinstance(pk.type, sa.Integer):
            schema["minimum"] = 1
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _resource_parameters(
    resource: ApiResource, action: str, settings: Any
) -> list[dict[str, Any]]:
    if action == "list":
        return _list_parameters(resource, settings)
    fields = _fields_parameter(resource)
    if action == "get":
        return [
            fields,
            {
                "name": "If-None-Match",
                "in": "header",
                "required": False,
                "description": "The ETag you hold: 304 when the item still has it.",
                "schema": {"type": "string"},
            },
        ]
    return [
        {
            "name": "If-Match",
            "in": "header",
            "required": resource.require_if_match,
            "description": "The ETag of the item as you last read it: 412 if it has changed "
            "since" + (" (428 without it)." if resource.require_if_match else "."),
            "schema": {"type": "string"},
        }
    ]


def _choice_pattern(names: list[str], signed: bool) -> str:
    import re

    one = "(" + "|".join(re.escape(n) for n in names) + ")"
    if signed:
        one = "-?" + one
    return f"^{one}(,{one})*$"


def _fields_parameter(resource: ApiResource) -> dict[str, Any]:
    return {
        "name": "fields",
        "in": "query",
        "required": False,
        "description": "Only these fields of each item, comma-separated: "
        + ", ".join(resource.fields)
        + ".",
        "schema": {"type": "string", "pattern": _choice_pattern(list(resource.fields), False)},
    }


def _list_parameters(resource: ApiResource, settings: Any) -> list[dict[str, Any]]:
    mapper = sa.inspect(resource.model)
    max_page_size = resource.max_page_size or settings.max_page_size
    parameters: list[dict[str, Any]] = [
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "description": "Items on the page.",
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": max_page_size,
                "default": min(resource.page_size or settings.page_size, max_page_size),
            },
        },
        {
            "name": "cursor",
            "in": "query",
            "required": False,
            "description": "The next_cursor of the previous page (opaque).",
            "schema": {"type": "string"},
        },
        _fields_parameter(resource),
    ]
    if resource.sort:
        parameters.append(
            {
                "name": "sort",
                "in": "query",
                "required": False,
                "description": "Comma-separated fields to sort by, each optionally preceded by "
                "'-' for descending: "
                + ", ".join(resource.sort)
                + ". Default: "
                + ",".join(resource.ordering)
                + ".",
                "schema": {
                    "type": "string",
                    "pattern": _choice_pattern(list(resource.sort), True),
                },
            }
        )
    for name in resource.filters:
        column = mapper.columns[name]
        schema = column_schema(column)
        schema.pop("description", None)
        if column.nullable:
            schema = {"anyOf": [dict(schema), {"const": "null"}]}
            inner = schema["anyOf"][0]
            if isinstance(inner.get("type"), list):
                inner["type"] = inner["type"][0]
            if "enum" in inner:
                inner["enum"] = [e for e in inner["enum"] if e is not None]
        parameters.append(
            {
                "name": name,
                "in": "query",
                "required": False,
                "description": f"Only items whose {name} is this value; repeat for any of "
                "several" + ("; null for none." if column.nullable else "."),
                "schema": {"type": "array", "items": schema},
                "style": "form",
                "explode": True,
            }
        )
    return parameters


# -- examples -----------------------------------------------------------------------

_EXAMPLE_TIME = datetime.datetime(2026, 1, 15, 9, 30, tzinfo=datetime.UTC)


def example_for(schema: dict[str, Any], depth: int = 0) -> Any:
    """A value that ``schema`` accepts, for the document's examples (None if unsure)."""
    if depth > 5:
        return None
    if "example" in schema:
        return schema["example"]
    if "default" in schema:
        return schema["default"]
    if "enum" in schema:
        choices = [c for c in schema["enum"] if c is not None]
        return choices[0] if choices else None
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object":
        result = {}
        for name, sub in schema.get("properties", {}).items():
            value = example_for(sub, depth + 1)
            if value is not None:
                result[name] = value
        return result
    if kind == "array":
        item = example_for(schema.get("items", {}), depth + 1)
        return [] if item is None else [item]
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return schema.get("minimum", 1.5)
    if kind == "boolean":
        return True
    if kind == "string":
        fmt = schema.get("format")
        value = {
            "date-time": _EXAMPLE_TIME.isoformat(),
            "date": _EXAMPLE_TIME.date().isoformat(),
            "time": "09:30:00",
            "email": "ada@example.com",
            "uri": "https://example.com/",
            "uuid": "0b6d1c1e-8f2a-4a47-9d0f-3a1b2c3d4e5f",
            "decimal": "12.50",
        }.get(str(fmt))
        if value is not None:
            return value
        if "pattern" in schema:
            return None
        text = "Example"
        min_length = schema.get("minLength", 0)
        max_length = schema.get("maxLength")
        if len(text) < min_length:
            text = text + "x" * (min_length - len(text))
        if max_length is not None:
            text = text[:max_length]
        return text
    return None
