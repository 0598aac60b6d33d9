"""Items as JSON, and the ETags that name their states."""

from __future__ import annotations

import datetime
import decimal
import enum
import hashlib
import json
import uuid
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from pyramid.request import Request

    from .resources import ApiResource

__all__ = ["etag_of", "jsonable", "serialize", "strong_etags"]


def jsonable(value: Any) -> Any:
    """``value`` as JSON can hold it.

    Dates and times in ISO 8601 (a naive date-time is UTC, as Pyramidion
    stores them, and is written with its offset), decimals as strings (no
    precision lost), enum members by name (as the forms' ``EnumType``
    reads them), rows by their primary key, lists item by item.
    """
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        return value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    mapper = sa.inspect(type(value), raiseerr=False)
    if mapper is not None:
        return jsonable(mapper.primary_key_from_instance(value)[0])
    return str(value)


def serialize(request: Request, resource: ApiResource, obj: Any) -> dict[str, Any]:
    """The JSON object of one item: the resource's serializer, or its fields."""
    if resource.serializer is not None:
        return resource.serializer(request, obj)
    return {name: jsonable(getattr(obj, name)) for name in resource.fields}


def etag_of(resource: ApiResource, obj: Any, representation: dict[str, Any]) -> str:
    """The strong ETag of an item: its version counter when the model has
    one, else a hash of its full JSON representation."""
    version = resource.version_column
    if version is not None:
        return f'"v{getattr(obj, version)}"'
    canonical = json.dumps(representation, sort_keys=True, separators=(",", ":"))
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:32] + '"'


def strong_etags(header: str) -> tuple[bool, list[str]]:
    """``(any, tags)`` of an ``If-Match``/``If-None-Match`` header value.

    ``any`` is True for ``*``; weak tags (``W/"..."``) are left out of
    ``tags``, since If-Match compares strongly.
    """
    tags: list[str] = []
    for part in header.split(","):
        part = part.strip()
        if part == "*":
            return True, []
        if part.startswith('"') and part.endswith('"') and len(part) >= 2:
            tags.append(part)
    return False, tags


def weak_etags(header: str) -> tuple[bool, list[str]]:
    """As :func:`strong_etags` for ``If-None-Match``, which compares weakly:
    ``W/"x"`` counts as ``"x"``."""
    tags: list[str] = []
    for part in header.split(","):
        part = part.strip()
        if part == "*":
            return True, []
        if part.startswith("W/"):
            part = part[2:]
        if part.startswith('"') and part.endswith('"') and len(part) >= 2:
            tags.append(part)
    return False, tags
