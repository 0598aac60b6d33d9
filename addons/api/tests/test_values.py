"""Values from query strings and cursors, converted for their columns or refused
with a sentence (a 400), never passed to the database to fail there."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

import pytest
import sqlalchemy as sa

from pyramidion_api.collections import parse_value


def column(coltype: Any, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column("value", coltype, nullable=nullable)


@pytest.mark.parametrize(
    ("coltype", "raw", "expected"),
    [
        (sa.Integer(), "42", 42),
        (sa.Integer(), 42, 42),
        (sa.Float(), 1.5, 1.5),
        (sa.Float(), "2.25", 2.25),
        (sa.Numeric(10, 2), "12.50", decimal.Decimal("12.50")),
        (sa.Boolean(), "true", True),
        (sa.Boolean(), False, False),
        (sa.Date(), "2026-12-24", datetime.date(2026, 12, 24)),
        (sa.Time(), "09:30:00", datetime.time(9, 30)),
        (sa.DateTime(), "2026-12-24T10:00:00+01:00", datetime.datetime(2026, 12, 24, 9, 0)),
        (sa.Enum("a", "b", name="ab"), "b", "b"),
        (sa.String(5), "short", "short"),
    ],
)
def test_values_are_converted_for_their_column(coltype: Any, raw: Any, expected: Any) -> None:
    assert parse_value(column(coltype), raw) == expected


@pytest.mark.parametrize(
    ("coltype", "raw", "message"),
    [
        (sa.Integer(), "4.5", "whole number"),
        (sa.Integer(), True, "whole number"),
        (sa.Integer(), "99999999999", "from -2147483648 to 2147483647"),
        (sa.Float(), "nan", "finite"),
        (sa.Float(), [1], "number"),
        (sa.Numeric(10, 2), "Infinity", "finite"),
        (sa.Numeric(10, 2), "ten", "number"),
        (sa.Boolean(), "maybe", "true or false"),
        (sa.Date(), "soon", "YYYY-MM-DD"),
        (sa.Time(), "noon", "HH:MM:SS"),
        (sa.DateTime(), 12, "text"),
        (sa.Enum("a", "b", name="ab"), "c", "one of a, b"),
        (sa.String(5), "too long", "5 characters"),
        (sa.String(), "nul\x00", "NUL"),
        (sa.LargeBinary(), "bytes", "cannot be compared"),
        (sa.String(), "null", "always has a value"),
    ],
)
def test_values_a_column_cannot_hold_are_refused_with_a_sentence(
    coltype: Any, raw: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        parse_value(column(coltype), raw)


def test_null_is_none_for_a_nullable_column() -> None:
    assert parse_value(column(sa.Integer(), nullable=True), "null") is None
    assert parse_value(column(sa.Integer(), nullable=True), None) is None
