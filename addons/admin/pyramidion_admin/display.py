"""How the admin shows a field's name and value as text."""

from __future__ import annotations

import datetime
import enum
from typing import Any

__all__ = ["display_value", "field_label"]


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
        return ", ".join(str(v) for v in value)
    return str(value)
