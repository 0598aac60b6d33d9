"""Body size and JSON depth under /api: 413 and 400 as problem+json, whatever
the client accepts, before any view changes anything."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pyramidion.testing import PyramidionTestApp
from pyramidion_auth.tokens import create_api_token

BODY_LIMIT = 2000


@pytest.fixture(scope="module")
def pyramidion_extra_settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from pyramidion_auth.testing import AUTH_TEST_SETTINGS

    return {
        **AUTH_TEST_SETTINGS,
        "auth.mail_directory": str(tmp_path_factory.mktemp("mail")),
        "forms.max_body_size": str(BODY_LIMIT),
        "pyramidion.max_json_depth": "8",
    }


@pytest.fixture
def token(testapp: PyramidionTestApp, auth_make_user: Any, dbsession: Any, tm: Any) -> str:
    _row, token = create_api_token(testapp.app.registry, dbsession, auth_make_user(), "ci")
    tm.commit()
    return token


@pytest.mark.parametrize("accept", ["application/json", "text/html", "*/*"])
def test_a_body_over_the_limit_is_a_413_problem(
    testapp: PyramidionTestApp, token: str, snapshot_notes: Any, accept: str
) -> None:
    body = json.dumps({"title": "t", "body": "x" * BODY_LIMIT})

    refused = testapp.post(
        "/api/v1/notes",
        body,
        headers={"Authorization": f"Bearer {token}", "Accept": accept},
        content_type="application/json",
        status=413,
    )

    assert refused.content_type == "application/problem+json"
    assert f"at most {BODY_LIMIT} bytes" in refused.json["detail"]
    assert snapshot_notes() == 0


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('{"title": ' + "[" * 9 + "]" * 9 + "}", "nested"),
        ('{"title": "unterminated', "not valid JSON"),
    ],
    ids=["too deep", "malformed"],
)
def test_json_too_deep_or_malformed_is_a_400_problem(
    testapp: PyramidionTestApp, token: str, snapshot_notes: Any, body: str, says: str
) -> None:
    refused = testapp.post(
        "/api/v1/notes",
        body,
        headers={"Authorization": f"Bearer {token}", "Accept": "text/html"},
        content_type="application/json",
        status=400,
    )

    assert refused.content_type == "application/problem+json"
    assert says in refused.json["detail"]
    assert snapshot_notes() == 0


@pytest.fixture
def snapshot_notes(db_connection: Any) -> Any:
    from pyramidion_api_example.models import Note
    from sqlalchemy import func, select

    return lambda: db_connection.execute(select(func.count()).select_from(Note)).scalar_one()
