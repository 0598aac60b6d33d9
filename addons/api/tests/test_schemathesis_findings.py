"""What Schemathesis found, pinned so that it stays fixed: a write the
database refuses for a constraint is a 409 problem, never a 500 (a second
tag of the same name); an item read with unknown ``?fields=`` is a 400
that the document lists."""

from __future__ import annotations

import uuid
from typing import Any

from pyramidion_auth.tokens import create_api_token


def test_a_taken_unique_value_is_a_409_problem_and_nothing_is_written(
    testapp: Any, dbsession: Any, tm: Any, auth_make_user: Any
) -> None:
    user = auth_make_user()
    token = create_api_token(testapp.app.registry, dbsession, user, "test")[1]
    tm.commit()
    headers = {"Authorization": f"Bearer {token}"}
    # Unique: the live server's tests commit tags to the same database.
    name = f"once-{uuid.uuid4().hex[:8]}"
    testapp.post_json("/api/v1/tags", {"name": name}, headers=headers, status=201)

    response = testapp.post_json("/api/v1/tags", {"name": name}, headers=headers, status=409)

    assert response.content_type == "application/problem+json"
    assert "must be unique" in response.json["detail"]
    listed = testapp.get(f"/api/v1/tags?name={name}", headers=headers, status=200).json
    assert [tag["name"] for tag in listed["items"]] == [name]


def test_an_item_read_with_unknown_fields_is_a_documented_400(
    testapp: Any, dbsession: Any, tm: Any, auth_make_user: Any
) -> None:
    user = auth_make_user()
    token = create_api_token(testapp.app.registry, dbsession, user, "test")[1]
    tm.commit()
    headers = {"Authorization": f"Bearer {token}"}
    tag = testapp.post_json(
        "/api/v1/tags", {"name": f"read-{uuid.uuid4().hex[:8]}"}, headers=headers
    ).json

    refused = testapp.get(f"/api/v1/tags/{tag['id']}?fields=", headers=headers, status=400)

    assert "the fields are id, name" in refused.json["detail"]
    document = testapp.get("/api/v1/openapi.json").json
    assert "400" in document["paths"]["/api/v1/tags/{id}"]["get"]["responses"]
