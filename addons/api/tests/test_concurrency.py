"""ETags and conditional requests: nothing is lost when two clients edit one item."""

from __future__ import annotations

from typing import Any


def test_the_second_of_two_clients_editing_a_note_gets_412_and_the_first_change_stays(
    testapp: Any, auth_make_user: Any, token_for: Any, make_note: Any
) -> None:
    ada = auth_make_user()
    note = make_note(ada, title="Draft")
    url = f"/api/v1/notes/{note.id}"
    laptop, phone = token_for(ada), token_for(ada)

    etag = testapp.get(url, headers=laptop).headers["ETag"]
    assert testapp.get(url, headers=phone).headers["ETag"] == etag

    first = testapp.patch_json(url, {"title": "Laptop"}, headers={**laptop, "If-Match": etag})
    assert first.headers["ETag"] != etag
    second = testapp.patch_json(
        url, {"title": "Phone"}, headers={**phone, "If-Match": etag}, status=412
    )
    assert second.content_type == "application/problem+json"
    assert second.headers["ETag"] == first.headers["ETag"]
    assert testapp.get(url, headers=phone).json["title"] == "Laptop"
    for refused in (
        testapp.put_json(url, {"title": "x"}, headers={**phone, "If-Match": etag}, status=412),
        testapp.delete(url, headers={**phone, "If-Match": etag}, status=412),
    ):
        assert refused.json["status"] == 412
    retried = testapp.patch_json(
        url, {"title": "Phone"}, headers={**phone, "If-Match": second.headers["ETag"]}
    )
    assert retried.json["title"] == "Phone"


def test_if_match_star_and_lists_and_weak_tags(
    testapp: Any, auth_make_user: Any, token_for: Any, make_note: Any
) -> None:
    ada = auth_make_user()
    note = make_note(ada)
    url = f"/api/v1/notes/{note.id}"
    auth = token_for(ada)
    etag = testapp.get(url, headers=auth).headers["ETag"]

    testapp.patch_json(url, {"rating": 1}, headers={**auth, "If-Match": "*"})
    etag = testapp.get(url, headers=auth).headers["ETag"]
    testapp.patch_json(url, {"rating": 2}, headers={**auth, "If-Match": f'"old", {etag}'})
    etag = testapp.get(url, headers=auth).headers["ETag"]
    # If-Match compares strongly: a weak tag never matches.
    testapp.patch_json(url, {"rating": 3}, headers={**auth, "If-Match": f"W/{etag}"}, status=412)


def test_a_conditional_get_is_304_while_the_item_is_unchanged(
    testapp: Any, auth_make_user: Any, token_for: Any, make_note: Any
) -> None:
    ada = auth_make_user()
    note = make_note(ada)
    url = f"/api/v1/notes/{note.id}"
    auth = token_for(ada)
    etag = testapp.get(url, headers=auth).headers["ETag"]

    cached = testapp.get(url, headers={**auth, "If-None-Match": etag}, status=304)
    assert cached.body == b""
    assert cached.headers["ETag"] == etag
    testapp.get(url, headers={**auth, "If-None-Match": f"W/{etag}"}, status=304)
    testapp.patch_json(url, {"title": "Changed"}, headers=auth)
    fresh = testapp.get(url, headers={**auth, "If-None-Match": etag}, status=200)
    assert fresh.json["title"] == "Changed"


def test_a_resource_can_require_if_match(
    testapp: Any, auth_make_user: Any, token_for: Any
) -> None:
    auth = token_for(auth_make_user())
    created = testapp.post_json("/api/v1/tags", {"name": "blue"}, headers=auth, status=201)
    url = created.headers["Location"]
    # Tags have no version counter: the ETag is a hash of the item's JSON.
    etag = created.headers["ETag"]
    assert etag.startswith('"')
    assert len(etag) == 34

    for call in (
        lambda: testapp.patch_json(url, {"name": "red"}, headers=auth, status=428),
        lambda: testapp.put_json(url, {"name": "red"}, headers=auth, status=428),
        lambda: testapp.delete(url, headers=auth, status=428),
    ):
        refused = call()
        assert refused.content_type == "application/problem+json"
        assert "If-Match" in refused.json["detail"]
    changed = testapp.patch_json(url, {"name": "red"}, headers={**auth, "If-Match": etag})
    assert changed.headers["ETag"] != etag
    testapp.delete(url, headers={**auth, "If-Match": etag}, status=412)
    testapp.delete(url, headers={**auth, "If-Match": changed.headers["ETag"]}, status=204)


def test_a_value_that_must_be_unique_is_a_409(
    testapp: Any, auth_make_user: Any, token_for: Any
) -> None:
    auth = token_for(auth_make_user())
    testapp.post_json("/api/v1/tags", {"name": "green"}, headers=auth, status=201)
    taken = testapp.post_json("/api/v1/tags", {"name": "green"}, headers=auth, status=409)
    assert taken.content_type == "application/problem+json"
    assert "unique" in taken.json["detail"]
    assert len(testapp.get("/api/v1/tags?name=green", headers=auth).json["items"]) == 1
