"""Files over the API, as a script with a token uses them: upload
(multipart or a raw body), read, download, delete; too large is a 413
problem, someone else's file is not yours to read or delete."""

from __future__ import annotations

from typing import Any

import pytest

from pyramidion.testing import PyramidionTestApp
from pyramidion_auth.tokens import create_api_token

LIMIT = 1000


@pytest.fixture(scope="module")
def pyramidion_addons() -> list[str]:
    return ["storage", "api"]


@pytest.fixture(scope="module")
def pyramidion_extra_settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from pyramidion_auth.testing import AUTH_TEST_SETTINGS

    return {
        **AUTH_TEST_SETTINGS,
        "auth.mail_directory": str(tmp_path_factory.mktemp("mail")),
        "storage.max_upload_size": str(LIMIT),
    }


@pytest.fixture
def backend_name() -> str:
    return "local"


@pytest.fixture
def token_of(testapp: PyramidionTestApp, dbsession: Any, tm: Any) -> Any:
    def make(user: Any, scope: str = "write") -> dict[str, str]:
        _row, token = create_api_token(testapp.app.registry, dbsession, user, "t", scope=scope)
        tm.commit()
        return {"Authorization": f"Bearer {token}"}

    return make


def test_upload_read_download_and_delete_with_a_token(
    testapp: PyramidionTestApp, auth_make_user: Any, token_of: Any
) -> None:
    api = PyramidionTestApp(testapp.app)
    headers = token_of(auth_make_user())

    multipart = api.post(
        "/api/v1/files",
        upload_files=[("file", "a.txt", b"first\n", "text/plain")],
        headers=headers,
        status=201,
    )
    raw = api.post(
        "/api/v1/files?filename=b.txt",
        b"second\n",
        headers={**headers, "Content-Type": "text/plain"},
        status=201,
    )

    assert multipart.json["filename"] == "a.txt"
    assert (raw.json["filename"], raw.json["size"]) == ("b.txt", 7)
    described = api.get(raw.location, headers=headers, status=200).json
    assert described["sha256"] == raw.json["sha256"]
    content = api.get(f"{raw.location}/content", headers=headers, status=200)
    assert content.body == b"second\n"
    assert content.headers["X-Content-Type-Options"] == "nosniff"
    api.delete(raw.location, headers=headers, status=204)
    api.get(raw.location, headers=headers, status=404)


def test_too_large_is_a_413_problem_and_nothing_is_kept(
    testapp: PyramidionTestApp, auth_make_user: Any, token_of: Any, db_connection: Any
) -> None:
    from sqlalchemy import func, select

    from pyramidion_storage.models import StoredFile

    api = PyramidionTestApp(testapp.app)
    headers = token_of(auth_make_user())
    before = db_connection.execute(select(func.count()).select_from(StoredFile)).scalar_one()

    raw = api.post(
        "/api/v1/files?filename=big.bin",
        b"x" * (LIMIT + 1),
        headers={**headers, "Content-Type": "application/octet-stream"},
        status=413,
    )
    multipart = api.post(
        "/api/v1/files",
        upload_files=[("file", "big.txt", b"y" * (LIMIT + 1), "text/plain")],
        headers=headers,
        status=413,
    )

    for refused in (raw, multipart):
        assert refused.content_type == "application/problem+json"
        assert "limit" in refused.json["detail"]
    after = db_connection.execute(select(func.count()).select_from(StoredFile)).scalar_one()
    assert after == before


def test_someone_elses_file_is_not_yours(
    testapp: PyramidionTestApp, auth_make_user: Any, token_of: Any
) -> None:
    api = PyramidionTestApp(testapp.app)
    owner, other = token_of(auth_make_user()), token_of(auth_make_user())
    location = api.post(
        "/api/v1/files",
        upload_files=[("file", "private.txt", b"mine\n", "text/plain")],
        headers=owner,
        status=201,
    ).location

    api.get(location, headers=other, status=403)
    api.delete(location, headers=other, status=403)
    api.get(location, status=401)
    assert api.get(location, headers=owner).json["filename"] == "private.txt"


def test_a_read_token_cannot_upload(
    testapp: PyramidionTestApp, auth_make_user: Any, token_of: Any
) -> None:
    api = PyramidionTestApp(testapp.app)
    refused = api.post(
        "/api/v1/files",
        upload_files=[("file", "a.txt", b"a\n", "text/plain")],
        headers=token_of(auth_make_user(), "read"),
        status=403,
    )

    assert refused.json["scope"] == "read"


def test_a_session_sends_its_csrf_token_in_the_header(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_logged_in: Any
) -> None:
    auth_logged_in(testapp, auth_make_user())
    files = [("file", "a.txt", b"a\n", "text/plain")]

    forged = testapp.post("/api/v1/files", upload_files=files, expect_errors=True)
    sent = testapp.post(
        "/api/v1/files", upload_files=files, headers=testapp.csrf_headers(), status=201
    )

    assert forged.status_int == 400
    assert forged.content_type == "application/problem+json"
    assert sent.json["filename"] == "a.txt"


def test_the_document_says_a_download_is_the_file_s_own_type(
    testapp: PyramidionTestApp,
) -> None:
    from openapi_spec_validator import validate

    document = testapp.get("/api/v1/openapi.json").json
    validate(document)
    answer = document["paths"]["/api/v1/files/{key}/content"]["get"]["responses"]["200"]
    assert answer["content"] == {"*/*": {}}
