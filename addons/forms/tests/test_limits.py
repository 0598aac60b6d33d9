"""The size limits are settings, enforced with a clear message before parsing."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import Connection, func, select

from pyramidion import SettingsError
from pyramidion.testing import MakeApp, PyramidionTestApp

LIMITS = {
    "forms.max_body_size": "2048",
    "forms.max_fields": "8",
    "forms.max_field_length": "100",
}


@pytest.fixture
def limited(make_pyramidion_app: MakeApp, db_connection: Connection) -> PyramidionTestApp:
    return PyramidionTestApp(make_pyramidion_app(LIMITS, connection=db_connection))


def messages(connection: Connection, models: ModuleType) -> int:
    return int(connection.scalar(select(func.count()).select_from(models.Message)) or 0)


def contact(limited: PyramidionTestApp, **extra: str) -> dict[str, str]:
    limited.get("/formstest/contact")
    return {
        "csrf_token": limited.csrf_token(),
        "name": "Ann",
        "email": "ann@example.com",
        "body": "Hello",
        **extra,
    }


def test_a_form_within_the_limits_is_accepted(
    limited: PyramidionTestApp, models: ModuleType, db_connection: Connection
) -> None:
    limited.post("/formstest/contact", contact(limited), status=303)

    assert messages(db_connection, models) == 1


def test_a_body_over_the_limit_is_refused_with_413_before_anything_reads_it(
    limited: PyramidionTestApp, models: ModuleType, db_connection: Connection
) -> None:
    # No CSRF token: the size is checked first, so the body is never parsed.
    response = limited.post("/formstest/contact", {"body": "x" * 3000}, status=413)

    assert "larger than this site accepts (at most 2048 bytes)" in response.text
    assert messages(db_connection, models) == 0


def test_too_many_fields_are_refused_with_400(
    limited: PyramidionTestApp, models: ModuleType, db_connection: Connection
) -> None:
    fields = contact(limited, **{f"extra{i}": "1" for i in range(5)})

    response = limited.post("/formstest/contact", fields, status=400)

    assert "The form has 9 fields; this site accepts at most 8." in response.text
    assert messages(db_connection, models) == 0


def test_a_field_over_the_length_limit_is_refused_with_400_naming_it(
    limited: PyramidionTestApp, models: ModuleType, db_connection: Connection
) -> None:
    response = limited.post("/formstest/contact", contact(limited, body="y" * 101), status=400)

    assert response.html.select_one("main p").text == (
        "The field 'body' is 101 characters long; this site accepts at most 100."
    )
    assert messages(db_connection, models) == 0


def test_json_bodies_get_the_same_limits(
    limited: PyramidionTestApp, models: ModuleType, db_connection: Connection
) -> None:
    headers = {**limited.csrf_headers(), "Accept": "application/json"}
    url = "/formstest/messages"
    ok = {"name": "Ann", "email": "ann@example.com", "body": "Hello"}

    too_big = limited.post_json(url, {**ok, "body": "z" * 3000}, headers=headers, status=413)
    too_long = limited.post_json(url, {**ok, "body": "z" * 101}, headers=headers, status=422)
    too_many = limited.post_json(url, {**ok, "more": list(range(6))}, headers=headers, status=422)

    assert too_big.content_type == "application/problem+json"
    assert "at most 2048 bytes" in too_big.json["detail"]
    assert too_long.json["errors"] == {"body": "Longer than this site accepts (100 characters)."}
    assert too_many.json["errors"] == {"": "Too many fields (9); this site accepts at most 8."}
    assert messages(db_connection, models) == 0


def test_a_limit_out_of_range_stops_start_up(make_pyramidion_app: MakeApp) -> None:
    with pytest.raises(SettingsError, match=r"forms\.max_fields"):
        make_pyramidion_app({"forms.max_fields": "0"})


def test_the_defaults_are_documented_settings(pyramidion_app: Any) -> None:
    from pyramidion import get_settings
    from pyramidion_forms import FormsSettings

    settings = get_settings(pyramidion_app.registry, FormsSettings)

    assert (settings.max_body_size, settings.max_fields, settings.max_field_length) == (
        1_048_576,
        200,
        65_536,
    )
