"""The blog over the API, as a client with a plain HTTP library uses it:
upload a file, create a post that references it, edit with the author's
token, search, moderate, delete; under the same rules as the pages."""

from __future__ import annotations

from typing import Any

import pytest

from pyramidion.testing import PyramidionTestApp
from pyramidion_auth.tokens import create_api_token


@pytest.fixture(scope="module")
def pyramidion_addons() -> list[str]:
    return ["blog", "api"]


@pytest.fixture
def token_of(testapp: PyramidionTestApp, dbsession: Any, tm: Any) -> Any:
    """``token_of(user, scope="write")``: headers with a new API token of ``user``."""

    def make(user: Any, scope: str = "write") -> dict[str, str]:
        _row, token = create_api_token(testapp.app.registry, dbsession, user, "t", scope=scope)
        tm.commit()
        return {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
def api(testapp: PyramidionTestApp) -> PyramidionTestApp:
    """A client without cookies, as a script would be."""
    return PyramidionTestApp(testapp.app)


def upload(api: PyramidionTestApp, headers: dict[str, str], content: bytes) -> str:
    stored = api.post(
        "/api/v1/files",
        upload_files=[("file", "notes.txt", content, "text/plain")],
        headers=headers,
        status=201,
    ).json
    return str(stored["key"])


def test_a_token_user_posts_with_an_attachment_that_readers_download(
    api: PyramidionTestApp, auth_make_user: Any, token_of: Any
) -> None:
    ada = token_of(auth_make_user("Ada"))
    key = upload(api, ada, b"helix, 3.4 nm\n")

    created = api.post_json(
        "/api/v1/posts",
        {"title": "DNA", "body": "A double helix.", "attachments": [key]},
        headers=ada,
        status=201,
    )

    post = api.get(created.location, status=200).json
    assert (post["title"], post["hidden"]) == ("DNA", False)
    (attachment,) = post["attachments"]
    assert (attachment["key"], attachment["filename"]) == (key, "notes.txt")
    anonymous = PyramidionTestApp(api.app)
    assert anonymous.get(attachment["url"]).body == b"helix, 3.4 nm\n"
    # Adopted by the post, the file follows the post's rules: not the
    # uploader's to delete any more (and not even an admin's, there).
    api.delete(f"/api/v1/files/{key}", headers=ada, status=403)
    admin = token_of(auth_make_user("Admin", admin=True))
    conflict = api.delete(f"/api/v1/files/{key}", headers=admin, status=409)
    assert "remove it there" in conflict.json["detail"]


def test_a_file_is_attached_only_by_its_uploader(
    api: PyramidionTestApp, auth_make_user: Any, token_of: Any
) -> None:
    ada, bob = token_of(auth_make_user("Ada")), token_of(auth_make_user("Bob"))
    key = upload(api, ada, b"mine\n")

    refused = api.post_json(
        "/api/v1/posts",
        {"title": "Stolen", "body": "Not mine.", "attachments": [key]},
        headers=bob,
        status=422,
    )

    assert refused.content_type == "application/problem+json"
    assert "attachments.0" in refused.json["errors"]
    assert api.get("/api/v1/posts", headers=bob).json["items"] == []


def test_only_the_author_edits_and_a_read_token_changes_nothing(
    api: PyramidionTestApp, auth_make_user: Any, token_of: Any
) -> None:
    ada = auth_make_user("Ada")
    write, read = token_of(ada), token_of(ada, "read")
    bob = token_of(auth_make_user("Bob"))
    url = api.post_json(
        "/api/v1/posts", {"title": "Mine", "body": "Text."}, headers=write, status=201
    ).location

    by_bob = api.patch_json(url, {"title": "Bob's now"}, headers=bob, status=403)
    by_read = api.patch_json(url, {"title": "Read"}, headers=read, status=403)
    api.post_json("/api/v1/posts", {"title": "R", "body": "R."}, headers=read, status=403)
    edited = api.patch_json(url, {"title": "Still mine"}, headers=write, status=200).json
    api.delete(url, headers=bob, status=403)

    assert by_bob.content_type == "application/problem+json"
    assert by_read.json["scope"] == "read"
    assert edited["title"] == "Still mine"
    assert api.get(url, headers=read).json["title"] == "Still mine"


def test_search_and_attachments_replaced_on_edit(
    api: PyramidionTestApp, auth_make_user: Any, token_of: Any
) -> None:
    ada = token_of(auth_make_user("Ada"))
    first, second = upload(api, ada, b"one\n"), upload(api, ada, b"two\n")
    url = api.post_json(
        "/api/v1/posts",
        {"title": "Helix", "body": "About DNA.", "attachments": [first]},
        headers=ada,
        status=201,
    ).location
    api.post_json("/api/v1/posts", {"title": "Other", "body": "Nothing."}, headers=ada)

    found = api.get("/api/v1/posts", params={"q": "dna"}).json["items"]
    edited = api.patch_json(url, {"attachments": [second]}, headers=ada, status=200).json

    assert [p["title"] for p in found] == ["Helix"]
    assert [a["key"] for a in edited["attachments"]] == [second]
    api.get(f"/storage/files/{first}", status=404)
    refused = api.get("/api/v1/posts", params={"search": "x"}, status=400)
    assert "q" in refused.json["detail"]


def test_moderators_hide_posts_and_hidden_posts_answer_404(
    api: PyramidionTestApp, auth_make_user: Any, token_of: Any
) -> None:
    author = token_of(auth_make_user("Ada"))
    moderator = token_of(auth_make_user("Mod", admin=True))
    reader = token_of(auth_make_user("Bob"))
    url = api.post_json(
        "/api/v1/posts", {"title": "Spam?", "body": "Maybe."}, headers=author, status=201
    ).location

    api.post_json(f"{url}/hide", {"reason": "Off topic"}, headers=reader, status=403)
    hidden = api.post_json(f"{url}/hide", {"reason": "Off topic"}, headers=moderator).json

    assert (hidden["hidden"], hidden["hidden_reason"]) == (True, "Off topic")
    api.get(url, headers=reader, status=404)
    assert api.get("/api/v1/posts", headers=reader).json["items"] == []
    assert api.get(url, headers=author).json["hidden"] is True
    api.post(f"{url}/unhide", headers=moderator, status=200)
    assert api.get(url, headers=reader).json["hidden"] is False


def test_the_author_deletes_the_post_and_its_files(
    api: PyramidionTestApp, auth_make_user: Any, token_of: Any
) -> None:
    ada = token_of(auth_make_user("Ada"))
    key = upload(api, ada, b"bytes\n")
    url = api.post_json(
        "/api/v1/posts", {"title": "T", "body": "B.", "attachments": [key]}, headers=ada
    ).location

    api.delete(url, headers=ada, status=204)

    api.get(url, status=404)
    api.get(f"/storage/files/{key}", status=404)


def test_a_session_needs_its_csrf_token_and_a_token_does_not(
    testapp: PyramidionTestApp,
    api: PyramidionTestApp,
    auth_make_user: Any,
    auth_logged_in: Any,
    token_of: Any,
) -> None:
    user = auth_make_user("Ada")
    auth_logged_in(testapp, user)
    post = {"title": "From a browser", "body": "Text."}

    forged = testapp.post_json("/api/v1/posts", post, expect_errors=True)
    sent = testapp.post_json("/api/v1/posts", post, headers=testapp.csrf_headers(), status=201)
    by_token = api.post_json("/api/v1/posts", post, headers=token_of(user), status=201)

    assert forged.status_int == 400
    assert forged.content_type == "application/problem+json"
    assert sent.json["author_id"] == by_token.json["author_id"] == user.id


def test_the_document_lists_the_blog_files_and_account_operations(
    api: PyramidionTestApp,
) -> None:
    from openapi_spec_validator import validate

    document = api.get("/api/v1/openapi.json", status=200).json
    validate(document)

    paths = document["paths"]
    expected = {"/posts", "/posts/{id}", "/posts/{id}/hide", "/files", "/files/{key}", "/me"}
    assert expected | {"/tokens", "/tokens/{id}"} <= {
        path.removeprefix("/api/v1") for path in paths
    }
    listing = next(v["get"] for k, v in paths.items() if k.endswith("/posts"))
    assert "q" in [p["name"] for p in listing["parameters"]]


def test_a_post_and_a_page_of_posts_bring_their_attachments_in_their_own_select(
    api: PyramidionTestApp, auth_make_user: Any, token_of: Any, queries: list[str]
) -> None:
    ada = token_of(auth_make_user("Ada"))
    key = upload(api, ada, b"attached\n")
    created = api.post_json(
        "/api/v1/posts", {"title": "T", "body": "B", "attachments": [key]}, headers=ada
    )

    for url in (created.location, "/api/v1/posts?limit=20"):
        queries.clear()
        answer = api.get(url, headers=ada, status=200).json
        (post,) = answer.get("items", [answer])
        assert [a["key"] for a in post["attachments"]] == [key]
        # One SELECT reads the posts with their attachments and files: no
        # second query for the attachments, however many posts there are.
        reads = [q for q in queries if "blog_posts" in q or "blog_attachments" in q]
        assert len(reads) == 1, "\n\n".join(reads)
        assert "blog_attachments" in reads[0]
        assert "storage_files" in reads[0]
