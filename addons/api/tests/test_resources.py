"""A resource as a client sees it: create, read, change and delete, with
the same schemas and ACLs as the HTML pages."""

from __future__ import annotations

import datetime
from typing import Any

JSON = "application/json"


def test_a_token_creates_reads_changes_and_deletes_a_note(
    testapp: Any, auth_make_user: Any, token_for: Any
) -> None:
    ada = auth_make_user("Ada")
    auth = token_for(ada)

    created = testapp.post_json(
        "/api/v1/notes",
        {"title": "First", "rating": 4, "due": "2026-12-24"},
        headers=auth,
        status=201,
    )
    note = created.json
    assert note["title"] == "First"
    assert note["status"] == "draft"  # the schema's default
    assert note["rating"] == 4
    assert note["due"] == "2026-12-24"
    assert note["author_id"] == ada.id
    assert note["tags"] == []
    assert datetime.datetime.fromisoformat(note["created_at"]).tzinfo is not None
    location = created.headers["Location"]
    assert location == f"http://localhost/api/v1/notes/{note['id']}"
    assert created.headers["ETag"] == '"v1"'

    fetched = testapp.get(location, headers=auth, status=200)
    assert fetched.json == note
    assert fetched.headers["ETag"] == '"v1"'

    changed = testapp.patch_json(location, {"status": "published"}, headers=auth, status=200)
    assert changed.json["status"] == "published"
    assert changed.json["title"] == "First"  # PATCH keeps what was not sent
    assert changed.json["rating"] == 4
    assert changed.headers["ETag"] == '"v2"'

    replaced = testapp.put_json(location, {"title": "Second"}, headers=auth, status=200)
    # PUT replaces: what was not sent takes the schema's default.
    assert replaced.json["title"] == "Second"
    assert replaced.json["rating"] is None
    assert replaced.json["status"] == "draft"

    deleted = testapp.delete(location, headers=auth, status=204)
    assert deleted.body == b""
    missing = testapp.get(location, headers=auth, status=404)
    assert missing.content_type == "application/problem+json"


def test_invalid_input_is_422_with_an_entry_per_field(
    testapp: Any, auth_make_user: Any, token_for: Any
) -> None:
    auth = token_for(auth_make_user())
    response = testapp.post_json(
        "/api/v1/notes", {"rating": 9, "status": "lost", "due": "soon"}, headers=auth, status=422
    )
    assert response.content_type == "application/problem+json"
    errors = response.json["errors"]
    assert set(errors) == {"title", "rating", "status", "due"}
    assert "5" in errors["rating"]


def test_patch_validates_only_the_fields_it_is_sent(
    testapp: Any, auth_make_user: Any, token_for: Any, make_note: Any
) -> None:
    ada = auth_make_user()
    note = make_note(ada, title="Kept")
    auth = token_for(ada)
    url = f"/api/v1/notes/{note.id}"

    assert testapp.patch_json(url, {"rating": 2}, headers=auth).json["title"] == "Kept"
    refused = testapp.patch_json(url, {"title": ""}, headers=auth, status=422)
    assert set(refused.json["errors"]) == {"title"}
    cleared = testapp.patch_json(url, {"rating": None}, headers=auth)
    assert cleared.json["rating"] is None
    required = testapp.patch_json(url, {"title": None}, headers=auth, status=422)
    assert set(required.json["errors"]) == {"title"}


def test_a_body_that_is_not_json_is_415(
    testapp: Any, auth_make_user: Any, token_for: Any, make_note: Any
) -> None:
    ada = auth_make_user()
    auth = token_for(ada)
    response = testapp.post(
        "/api/v1/notes", "title=Form", headers=auth, content_type="text/plain", status=415
    )
    assert response.content_type == "application/problem+json"
    assert "application/json" in response.json["detail"]
    note = make_note(ada)
    merge = testapp.patch(
        f"/api/v1/notes/{note.id}",
        '{"title": "Merged"}',
        headers=auth,
        content_type="application/merge-patch+json",
        status=200,
    )
    assert merge.json["title"] == "Merged"


def test_a_body_that_is_not_valid_json_is_400(
    testapp: Any, auth_make_user: Any, token_for: Any
) -> None:
    auth = token_for(auth_make_user())
    response = testapp.post(
        "/api/v1/notes", '{"title": ', headers=auth, content_type=JSON, status=400
    )
    assert response.content_type == "application/problem+json"
    assert "JSON" in response.json["detail"]


def test_the_items_acl_decides_as_for_the_html_pages(
    testapp: Any, auth_make_user: Any, token_for: Any, make_note: Any
) -> None:
    ada, bob = auth_make_user("Ada"), auth_make_user("Bob")
    note = make_note(ada)
    url = f"/api/v1/notes/{note.id}"
    bob_auth = token_for(bob)

    assert testapp.get(url, headers=bob_auth).json["id"] == note.id  # everyone logged in reads
    for call in (
        lambda: testapp.patch_json(url, {"title": "Mine"}, headers=bob_auth, status=403),
        lambda: testapp.put_json(url, {"title": "Mine"}, headers=bob_auth, status=403),
        lambda: testapp.delete(url, headers=bob_auth, status=403),
    ):
        refused = call()
        assert refused.content_type == "application/problem+json"
        assert refused.json["status"] == 403
    assert testapp.get(url, headers=token_for(ada)).json["title"] == "A note"


def test_anonymous_clients_get_401_with_a_bearer_challenge(testapp: Any) -> None:
    for headers in ({}, {"Accept": "text/html"}, {"Authorization": "Bearer pyr_nothing"}):
        response = testapp.get("/api/v1/notes", headers=headers, status=401)
        assert response.content_type == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_session_works_and_still_needs_csrf_for_writes(
    testapp: Any, auth_make_user: Any, auth_logged_in: Any
) -> None:
    auth_logged_in(testapp, auth_make_user())
    assert testapp.get("/api/v1/notes").json["items"] == []
    refused = testapp.post_json("/api/v1/notes", {"title": "No token"}, status=400)
    assert refused.content_type == "application/problem+json"
    assert "X-CSRF-Token" in refused.json["detail"]
    created = testapp.post_json(
        "/api/v1/notes", {"title": "With token"}, headers=testapp.csrf_headers(), status=201
    )
    assert created.json["title"] == "With token"


def test_unknown_paths_and_methods_are_problems(
    testapp: Any, auth_make_user: Any, token_for: Any
) -> None:
    auth = token_for(auth_make_user())
    missing = testapp.get("/api/v1/nothing-here", headers={"Accept": "text/html"}, status=404)
    assert missing.content_type == "application/problem+json"
    assert testapp.get("/api/v1/notes/abc", headers=auth, status=404).json["status"] == 404
    wrong = testapp.request("/api/v1/notes", method="DELETE", headers=auth, status=405)
    assert wrong.content_type == "application/problem+json"
    assert wrong.headers["Allow"] == "GET, POST, HEAD"


def test_an_add_ons_own_view_validates_its_body(
    testapp: Any, auth_make_user: Any, token_for: Any, make_note: Any
) -> None:
    ada = auth_make_user()
    note = make_note(ada)
    auth = token_for(ada)
    url = f"/api/v1/notes/{note.id}/publish"

    published = testapp.post_json(url, {"message": "Out now"}, headers=auth, status=200)
    assert published.json == {"id": note.id, "status": "published", "message": "Out now"}
    refused = testapp.post_json(url, {"notify": "nobody"}, headers=auth, status=422)
    assert set(refused.json["errors"]) == {"message", "notify"}
    assert testapp.post(url, "x", headers=auth, content_type="text/plain", status=415)
    assert testapp.get("/api/v1/ping").json == {"pong": True}


def test_a_path_that_is_not_text_is_a_400_problem(testapp: Any) -> None:
    response = testapp.get("/api/v1/notes/%ff", status=400)
    assert response.content_type == "application/problem+json"
