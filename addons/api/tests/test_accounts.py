"""The current user and API tokens over the API, as a client uses them:
tokens read and change what their scope allows, only a session creates
tokens (and only with its CSRF token), nobody touches another's tokens."""

from __future__ import annotations

from typing import Any

from pyramidion.testing import PyramidionTestApp
from pyramidion_auth.tokens import create_api_token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_current_user_reads_and_renames_themselves_with_a_write_token(
    testapp: PyramidionTestApp, auth_make_user: Any, dbsession: Any, tm: Any
) -> None:
    user = auth_make_user("Ada")
    _row, write = create_api_token(testapp.app.registry, dbsession, user, "ci")
    _row, read = create_api_token(testapp.app.registry, dbsession, user, "ro", scope="read")
    tm.commit()
    client = PyramidionTestApp(testapp.app)

    me = client.get("/api/v1/me", headers=bearer(read), status=200).json
    refused = client.patch_json(
        "/api/v1/me", {"display_name": "Nope"}, headers=bearer(read), status=403
    )
    renamed = client.patch_json(
        "/api/v1/me", {"display_name": "Ada L."}, headers=bearer(write), status=200
    ).json
    invalid = client.patch_json(
        "/api/v1/me", {"display_name": ""}, headers=bearer(write), status=422
    )

    assert (me["id"], me["display_name"]) == (user.id, "Ada")
    assert refused.json["scope"] == "read"
    assert renamed["display_name"] == "Ada L."
    assert invalid.content_type == "application/problem+json"
    assert client.get("/auth/api/me", headers=bearer(read)).json["display_name"] == "Ada L."
    client.get("/api/v1/me", status=401)


def test_a_token_cannot_create_a_token_and_a_session_needs_its_csrf_token(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_logged_in: Any, dbsession: Any, tm: Any
) -> None:
    user = auth_make_user()
    _row, token = create_api_token(testapp.app.registry, dbsession, user, "ci")
    tm.commit()
    client = PyramidionTestApp(testapp.app)

    by_token = client.post_json(
        "/api/v1/tokens", {"name": "more"}, headers=bearer(token), expect_errors=True
    )
    auth_logged_in(testapp, user)
    no_csrf = testapp.post_json("/api/v1/tokens", {"name": "forged"}, expect_errors=True)
    created = testapp.post_json(
        "/api/v1/tokens",
        {"name": "dashboard", "scope": "read", "days": 30},
        headers=testapp.csrf_headers(),
        status=201,
    ).json

    assert by_token.status_int == 403
    assert by_token.content_type == "application/problem+json"
    assert no_csrf.status_int == 400
    assert no_csrf.content_type == "application/problem+json"
    assert created["token"].startswith("pyr_")
    assert created["scope"] == "read"
    listed = client.get("/api/v1/tokens", headers=bearer(token)).json["tokens"]
    assert sorted(t["name"] for t in listed) == ["ci", "dashboard"]
    assert all("token" not in t for t in listed)
    client.post_json("/api/v1/tokens", {"name": "x"}, headers=bearer(created["token"]), status=403)


def test_tokens_are_revoked_by_their_owner_only(
    testapp: PyramidionTestApp, auth_make_user: Any, dbsession: Any, tm: Any
) -> None:
    owner, other = auth_make_user("Owner"), auth_make_user("Other")
    mine, token = create_api_token(testapp.app.registry, dbsession, owner, "mine")
    theirs, their_token = create_api_token(testapp.app.registry, dbsession, other, "theirs")
    tm.commit()
    client = PyramidionTestApp(testapp.app)

    client.delete(f"/api/v1/tokens/{theirs.id}", headers=bearer(token), status=404)
    client.delete(f"/api/v1/tokens/{mine.id}", headers=bearer(token), status=204)

    client.get("/api/v1/me", headers=bearer(token), status=401)
    assert client.get("/api/v1/me", headers=bearer(their_token)).json["id"] == other.id


def test_a_token_request_loads_its_user_only_when_a_view_reads_it(
    testapp: PyramidionTestApp,
    auth_make_user: Any,
    token_for: Any,
    make_note: Any,
    queries: list[str],
) -> None:
    user = auth_make_user("Ada", groups=["editors"])
    note = make_note(user)
    auth = token_for(user)

    queries.clear()
    testapp.get(f"/api/v1/notes/{note.id}", headers=auth, status=200)
    # The token's lookup reads whether its user is active, not the user.
    assert not any("auth_users.email" in statement for statement in queries)

    me = testapp.get("/api/v1/me", headers=auth, status=200).json
    assert (me["id"], me["display_name"], me["groups"]) == (user.id, "Ada", ["editors"])
