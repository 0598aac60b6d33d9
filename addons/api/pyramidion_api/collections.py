"""Collections: the query string a list accepts, cursors, and the keyset SELECT.

Conventions (the OpenAPI document lists them per resource):

- ``?limit=N``: items on the page, 1 to the resource's maximum.
- ``?sort=-created_at,title``: declared sortable fields, ``-`` for
  descending; the primary key always ends the order.
- ``?FIELD=value``: equality on a declared filter field; repeat the
  parameter for "any of" (``?status=draft&status=review``); ``null``
  matches a missing value of a nullable field.
- ``?fields=id,title``: only these fields of each item.
- ``?cursor=...``: the page after the one whose ``next`` gave it. A cursor
  holds the ordering values of the last item and the sort it was made for,
  signed with the key of ``api.cursor_secret``; one whose signature does
  not match (made up, or changed), that does not decode, or that was made
  for another sort, is a 400.

Anything else in the query string is a 400 that names what is allowed.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import decimal
import hashlib
import hmac
import json
import math
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pyramid.httpexceptions import HTTPBadRequest

from pyramidion import integer_bounds

from .representation import jsonable

if TYPE_CHECKING:
    from webob.multidict import MultiDict

    from .resources import ApiResource

__all__ = ["ListQuery", "decode_cursor", "encode_cursor", "parse_list_query", "parse_value"]

#: Bytes of HMAC-SHA256 a cursor carries: 128 bits, beyond guessing.
CURSOR_TAG_BYTES = 16

#: Query parameters every collection accepts, besides its filters.
RESERVED = ("cursor", "limit", "sort", "fields")


@dataclass(frozen=True)
class ListQuery:
    """A collection request's parameters, checked."""

    limit: int
    #: ``(attribute, descending)`` pairs, the primary key last.
    order: tuple[tuple[str, bool], ...]
    #: The sort as the client gave it (or the default), to pin cursors to.
    sort: str
    filters: tuple[tuple[str, tuple[Any, ...]], ...]
    fields: tuple[str, ...] | None
    #: The ordering values of the item the page starts after.
    after: tuple[Any, ...] | None


def _bad(detail: str) -> HTTPBadRequest:
    return HTTPBadRequest(detail)


def parse_list_query(
    resource: ApiResource,
    params: MultiDict,
    *,
    page_size: int,
    max_page_size: int,
    cursor_key: bytes,
) -> ListQuery:
    """The checked parameters of a list request, or a 400 naming what is wrong."""
    mapper = sa.inspect(resource.model)
    extra = tuple(p["name"] for p in resource.parameters if p.get("in") == "query")
    allowed = (*RESERVED, *resource.filters, *extra)
    unknown = sorted({key for key in params if key not in allowed})
    if unknown:
        raise _bad(
            f"Unknown query parameter {', '.join(unknown)}; this collection accepts "
            f"{', '.join(allowed)}."
        )
    for key in RESERVED:
        if len(params.getall(key)) > 1:
            raise _bad(f"Give the query parameter {key} once.")

    limit = page_size
    raw_limit = params.get("limit")
    if raw_limit is not None:
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= max_page_size:
            raise _bad(f"limit must be a whole number from 1 to {max_page_size}.")
        limit = int(raw_limit)

    sort = params.get("sort")
    if sort is None:
        sort_keys = list(resource.ordering)
        sort = ",".join(resource.ordering)
    else:
        sort_keys = [key.strip() for key in sort.split(",")]
        wrong = [key for key in sort_keys if key.lstrip("-") not in resource.sort]
        if wrong or not sort_keys:
            sortable = ", ".join(resource.sort) or "nothing (the order is fixed)"
            raise _bad(
                f"Cannot sort by {', '.join(wrong) or 'nothing'}; this collection sorts by "
                f"{sortable}, each optionally preceded by '-' for descending."
            )
    pk = resource.pk
    order: list[tuple[str, bool]] = []
    for key in sort_keys:
        name = key.lstrip("-")
        if name not in (n for n, _ in order):
            order.append((name, key.startswith("-")))
    if pk not in (n for n, _ in order):
        order.append((pk, False))

    filters: list[tuple[str, tuple[Any, ...]]] = []
    for name in resource.filters:
        raws = params.getall(name)
        if not raws:
            continue
        column = mapper.columns[name]
        values = []
        for raw in raws:
            try:
                values.append(parse_value(column, raw))
            except ValueError as exc:
                raise _bad(f"{name}={raw!r} is not a valid value: {exc}") from None
        filters.append((name, tuple(values)))

    fields = None
    raw_fields = params.get("fields")
    if raw_fields is not None:
        fields = tuple(f.strip() for f in raw_fields.split(",") if f.strip())
        wrong = [f for f in fields if f not in resource.fields]
        if wrong or not fields:
            raise _bad(
                f"Unknown field {', '.join(wrong) or '(none given)'} in fields; the fields "
                f"are {', '.join(resource.fields)}."
            )

    after = None
    cursor = params.get("cursor")
    if cursor is not None:
        after = decode_cursor(resource, cursor, tuple(order), sort, cursor_key)
    return ListQuery(
        limit=limit,
        order=tuple(order),
        sort=sort,
        filters=tuple(filters),
        fields=fields,
        after=after,
    )


def parse_value(column: sa.Column[Any], raw: Any) -> Any:
    """A query-string (or cursor) value converted for ``column``.

    Raises ValueError with a sentence when it cannot be: a value the
    column's type does not parse, an integer outside its range, text with
    a NUL character. ``null`` (or JSON null) is None for a nullable column.
    """
    if raw is None or raw == "null":
        if column.nullable:
            return None
        raise ValueError("this field always has a value")
    coltype = column.type
    if isinstance(coltype, sa.Enum):
        if coltype.enum_class is not None:
            try:
                return coltype.enum_class[str(raw)]
            except KeyError:
                names = ", ".join(m.name for m in coltype.enum_class)
                raise ValueError(f"expected one of {names}") from None
        if raw not in coltype.enums:
            raise ValueError(f"expected one of {', '.join(coltype.enums)}")
        return raw
    if isinstance(coltype, sa.Boolean):
        if raw in (True, "true", "1"):
            return True
        if raw in (False, "false", "0"):
            return False
        raise ValueError("expected true or false")
    if isinstance(coltype, sa.Integer):
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise ValueError("expected a whole number")
        try:
            value = int(raw)
        except ValueError:
            raise ValueError("expected a whole number") from None
        bounds = integer_bounds(coltype)
        if bounds is not None and not bounds[0] <= value <= bounds[1]:
            raise ValueError(f"expected a number from {bounds[0]} to {bounds[1]}")
        return value
    if isinstance(coltype, sa.Float):
        # A cursor holds a float column's value as a JSON number.
        if isinstance(raw, bool):
            raise ValueError("expected a number")
        try:
            number = float(raw)
        except (TypeError, ValueError):
            raise ValueError("expected a number") from None
        if not math.isfinite(number):
            raise ValueError("expected a finite number")
        return number
    if not isinstance(raw, str):
        raise ValueError("expected text")
    if "\x00" in raw:
        raise ValueError("text may not hold a NUL character")
    if isinstance(coltype, sa.DateTime):
        try:
            moment = datetime.datetime.fromisoformat(raw)
        except ValueError:
            raise ValueError("expected a date and time in ISO 8601") from None
        if moment.tzinfo is not None and not coltype.timezone:
            moment = moment.astimezone(datetime.UTC).replace(tzinfo=None)
        return moment
    if isinstance(coltype, sa.Date):
        try:
            return datetime.date.fromisoformat(raw)
        except ValueError:
            raise ValueError("expected a date in ISO 8601 (YYYY-MM-DD)") from None
    if isinstance(coltype, sa.Time):
        try:
            return datetime.time.fromisoformat(raw)
        except ValueError:
            raise ValueError("expected a time in ISO 8601 (HH:MM:SS)") from None
    if isinstance(coltype, sa.Numeric):
        try:
            amount = decimal.Decimal(raw)
        except decimal.InvalidOperation:
            raise ValueError("expected a number") from None
        if not amount.is_finite():
            raise ValueError("expected a finite number")
        return amount
    if isinstance(coltype, sa.Uuid):
        try:
            return uuid.UUID(raw)
        except ValueError:
            raise ValueError("expected a UUID") from None
    if isinstance(coltype, sa.String):
        if coltype.length and len(raw) > coltype.length:
            raise ValueError(f"longer than this field holds ({coltype.length} characters)")
        return raw
    raise ValueError("this field cannot be compared with a value from the query string")


def _signature(key: bytes, payload: str) -> str:
    mac = hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest()[:CURSOR_TAG_BYTES]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def encode_cursor(values: tuple[Any, ...], sort: str, key: bytes) -> str:
    """An opaque cursor for the item with ordering ``values`` under ``sort``,
    signed with ``key`` (the API's ``cursor_key``): ``PAYLOAD.SIGNATURE``."""
    data = json.dumps({"s": sort, "k": [jsonable(v) for v in values]}, separators=(",", ":"))
    payload = base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")
    return f"{payload}.{_signature(key, payload)}"


_BAD_CURSOR = (
    "The cursor is not one this collection gave out (or was made for another sort). "
    "Start again from the first page, without cursor."
)


def decode_cursor(
    resource: ApiResource,
    cursor: str,
    order: tuple[tuple[str, bool], ...],
    sort: str,
    key: bytes,
) -> tuple[Any, ...]:
    """The ordering values a cursor holds, checked against its signature
    (made with ``key``) and the order; 400 if it is not one."""
    if len(cursor) > 2048:
        raise _bad(_BAD_CURSOR)
    payload, _, signature = cursor.partition(".")
    # Only the signature is checked before the payload is decoded: what a
    # client made up, or changed, is refused without being read.
    if not payload.isascii() or not hmac.compare_digest(
        signature.encode("ascii", "replace"), _signature(key, payload).encode()
    ):
        raise _bad(_BAD_CURSOR)
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        data = json.loads(raw.decode())
    except (binascii.Error, ValueError, UnicodeError):
        raise _bad(_BAD_CURSOR) from None
    if (
        not isinstance(data, dict)
        or data.get("s") != sort
        or not isinstance(data.get("k"), list)
        or len(data["k"]) != len(order)
    ):
        raise _bad(_BAD_CURSOR)
    columns = sa.inspect(resource.model).columns
    values = []
    for (name, _), raw_value in zip(order, data["k"], strict=True):
        try:
            values.append(parse_value(columns[name], raw_value))
        except ValueError:
            raise _bad(_BAD_CURSOR) from None
    return tuple(values)


def keyset_condition(
    model: type[Any], order: tuple[tuple[str, bool], ...], after: tuple[Any, ...]
) -> Any:
    """The WHERE clause of the rows that come after ``after`` in ``order``.

    NULLs sort last in both directions (nullable columns are ordered with
    NULLS LAST), so a NULL value has nothing after it but rows equal so far.
    """
    mapper = sa.inspect(model)
    alternatives = []
    equal_so_far: list[Any] = []
    for (name, descending), value in zip(order, after, strict=True):
        column = getattr(model, name)
        nullable = bool(mapper.columns[name].nullable)
        if value is None:
            beyond: Any = sa.false()
            equal: Any = column.is_(None)
        else:
            beyond = column < value if descending else column > value
            if nullable:
                beyond = sa.or_(beyond, column.is_(None))
            equal = column == value
        alternatives.append(sa.and_(*equal_so_far, beyond))
        equal_so_far.append(equal)
    return sa.or_(*alternatives)


def order_clauses(model: type[Any], order: tuple[tuple[str, bool], ...]) -> list[Any]:
    """ORDER BY clauses for ``order``; nullable columns put NULLs last."""
    mapper = sa.inspect(model)
    clauses = []
    for name, descending in order:
        column = getattr(model, name)
        clause = column.desc() if descending else column.asc()
        if mapper.columns[name].nullable:
            clause = clause.nulls_last()
        clauses.append(clause)
    return clauses


def filter_clauses(
    model: type[Any], filters: tuple[tuple[str, tuple[Any, ...]], ...]
) -> list[Any]:
    """WHERE clauses of the filters: equality, "any of" for repeated values."""
    clauses = []
    for name, values in filters:
        column = getattr(model, name)
        present = [v for v in values if v is not None]
        options = []
        if present:
            options.append(column.in_(present) if len(present) > 1 else column == present[0])
        if len(present) < len(values):
            options.append(column.is_(None))
        clauses.append(sa.or_(*options))
    return clauses
