"""Token scopes over the whole route table: a read-scoped API token is
refused every unsafe method on every route (whichever add-on made it, public
or not) with a 403 problem that names the scope, and changes nothing; it
still reads."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from pyramidion.testing import PyramidionTestApp
from pyramidion_auth.accounts import create_user
from pyramidion_auth.tokens import create_api_token

from .conftest import route_views, row_counts

BODY = b"title=x&body=y&name=t&email=a%40example.com&password=p"


def test_a_read_token_is_refused_every_unsafe_route(
    testapp: PyramidionTestApp, dbsession: Session, tm: Any, db_connection: Connection
) -> None:
    # An admin: no ACL refuses it anything, so only the scope can.
    admin = create_user(
        testapp.app.registry,
        dbsession,
        email=f"reader-{uuid.uuid4().hex[:8]}@example.com",
        password=None,
        admin=True,
    )
    _row, token = create_api_token(testapp.app.registry, dbsession, admin, "ro", scope="read")
    tm.commit()
    client = PyramidionTestApp(testapp.app)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    before = row_counts(db_connection)

    answers = {}
    for view in route_views(testapp.app):
        for method in view.unsafe_methods:
            response = client.request(
                view.path(),
                method=method,
                headers=headers,
                body=BODY,
                content_type="application/x-www-form-urlencoded",
                expect_errors=True,
            )
            scope = response.json.get("scope") if response.content_type.endswith("json") else None
            answers[(view.route, method)] = (response.status_int, scope)

    # 404 means the route's object (id 1) does not exist, so no view ran.
    assert {k: a for k, a in answers.items() if a not in ((403, "read"), (404, None))} == {}
    assert [k for k, a in answers.items() if a == (403, "read")]
    # The API's routes are walked too (the api add-on is enabled here).
    assert [k for k, a in answers.items() if k[0].startswith("api.") and a == (403, "read")]
    assert row_counts(db_connection) == before
    assert client.get("/auth/api/me", headers=headers).json["id"] == admin.id
