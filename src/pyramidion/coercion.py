"""How settings' ini strings become typed values: the colander types behind
:func:`pyramidion.settings.parse_settings`.

Kept apart from :mod:`pyramidion.settings` so that declaring settings (and
``import pyramidion``) does not import colander; parsing them does.
"""

from __future__ import annotations

import datetime
import re
import types
import typing
from typing import Any, ClassVar, Literal

import colander

__all__ = ["Bool", "Duration", "Str", "Words", "schema_type_of"]


class Bool(colander.SchemaType):  # type: ignore[misc]
    """Booleans as ini files write them."""

    truthy = frozenset({"true", "yes", "on", "1"})
    falsy = frozenset({"false", "no", "off", "0", ""})

    def deserialize(self, node: Any, cstruct: Any) -> Any:
        if cstruct is colander.null:
            return colander.null
        if isinstance(cstruct, bool):
            return cstruct
        value = str(cstruct).strip().lower()
        if value in self.truthy:
            return True
        if value in self.falsy:
            return False
        raise colander.Invalid(node, f"'{cstruct}' is not a boolean (use true or false)")


class Words(colander.SchemaType):  # type: ignore[misc]
    """A tuple of strings separated by whitespace or commas."""

    def deserialize(self, node: Any, cstruct: Any) -> Any:
        if cstruct is colander.null:
            return colander.null
        if isinstance(cstruct, list | tuple):
            return tuple(str(v) for v in cstruct)
        return tuple(w for w in re.split(r"[\s,]+", str(cstruct)) if w)


class Duration(colander.SchemaType):  # type: ignore[misc]
    """A timedelta from seconds or a number with an s/m/h/d suffix."""

    units: ClassVar[dict[str, int]] = {"s": 1, "m": 60, "h": 3600, "d": 86400}

    def deserialize(self, node: Any, cstruct: Any) -> Any:
        if cstruct is colander.null:
            return colander.null
        if isinstance(cstruct, datetime.timedelta):
            return cstruct
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", str(cstruct))
        if not match:
            raise colander.Invalid(
                node,
                f"'{cstruct}' is not a duration (write seconds, or 30s, 15m, 2h, 7d)",
            )
        number, unit = match.groups()
        return datetime.timedelta(seconds=float(number) * self.units[unit or "s"])


class Str(colander.String):  # type: ignore[misc]
    def deserialize(self, node: Any, cstruct: Any) -> Any:
        value = super().deserialize(node, cstruct)
        return value.strip() if isinstance(value, str) else value


def schema_type_of(annotation: Any, where: str) -> tuple[Any, Any, bool]:
    """Return (colander type, validator, optional) for a field annotation."""
    optional = False
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"{where}: only 'X | None' unions are supported")
        annotation, optional = args[0], True
        origin = typing.get_origin(annotation)
    if origin is Literal:
        choices = typing.get_args(annotation)
        return Str(), colander.OneOf([str(c) for c in choices]), optional
    if origin is tuple:
        return Words(), None, optional
    simple = {
        str: Str(),
        int: colander.Integer(strict=True),
        float: colander.Float(),
        bool: Bool(),
        datetime.timedelta: Duration(),
    }
    if annotation in simple:
        return simple[annotation], None, optional
    raise TypeError(f"{where}: settings of type {annotation!r} are not supported")
