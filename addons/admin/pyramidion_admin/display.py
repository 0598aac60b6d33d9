"""How the admin shows a field's name and value as text."""

from __future__ import annotations

import datetime
import enum
from typing import Any

__all__ = ["display_value", "field_label", "object_label"]

#: Attributes that name a row well, tried in order when it has no ``__str__``.
_NAMING = ("display_name", "name", "title", "label", "email", "filename", "slug")


def field_label(name: str) -> str:
    """A field name as a column heading: ``created_at`` -> "Created at"."""
    return name.replace("_", " ").capitalize()


def display_value(obj: Any, name: str) -> str:
    """The value of ``obj.<name>`` as the admin shows it; "" for None."""
    value = getattr(obj, name)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, list | tuple | set):
        return ", ".join(object_label(v) for v in value)
    if hasattr(value, "__table__"):
        return object_label(value)
    return str(value)


def object_label(obj: Any) -> str:
    """What to call a row: its ``__str__`` when its class defines one, else
    its first naming attribute (name, title, email...), else class and key."""
    if getattr(type(obj), "__str__", None) is not getattr(object, "__str__", None):
        return str(obj)
    for name in _NAMING:
        value = getattr(obj, name, None)
        if isinstance(value, str) and value:
            return value
    from sqlalchemy import inspect

    identity = inspect(obj).identity
    key = identity[0] if identity else "(new)"
    return f"{type(obj).__name__} {key}"
