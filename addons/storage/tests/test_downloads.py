"""Downloads: permissions, safe headers, ETag, ranges."""

from __future__ import annotations

import os
from typing import Any

import pytest

from pyramidion.testing import PyramidionTestApp

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")


def upload(
    testapp: PyramidionTestApp, filename: str, data: bytes, content_type: str, user: str = "alice"
) -> dict[str, Any]:
    response = testapp.post(
        "/storage/files",
        upload_files=[("file", filename, data, content_type)],
        headers={**testapp.csrf_headers(), "X-User": user},
        status=201,
    )
    body: dict[str, Any] = response.json
    return body


def test_the_etag_answers_conditional_requests(testapp: PyramidionTestApp) -> None:
    stored = upload(testapp, "notes.txt", b"some notes", "text/plain")
    alice = {"X-User": "alice"}

    first = testapp.get(stored["url"], headers=alice)
    again = testapp.get(stored["url"], headers={**alice, "If-None-Match": first.etag}, status=304)

    assert first.body == b"some notes"
    assert first.headers["ETag"] == f'"{stored["sha256"]}"'
    assert again.body == b""


def test_ranges_are_served_partially(testapp: PyramidionTestApp) -> None:
    data = os.urandom(90_000)
    stored = upload(testapp, "big.bin", data, "application/octet-stream")

    response = testapp.get(
        stored["url"], headers={"X-User": "alice", "Range": "bytes=1000-1999"}, status=206
    )

    assert response.body == data[1000:2000]
    assert response.headers["Content-Range"] == "bytes 1000-1999/90000"
    assert response.headers["Accept-Ranges"] == "bytes"


@pytest.mark.parametrize(
    ("filename", "data", "content_type"),
    [
        ("page.html", b"<script>alert(document.cookie)</script>", "text/html"),
        (
            "logo.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
            "image/svg+xml",
        ),
        ("feed.xml", b"<?xml version='1.0'?><a/>", "application/xml"),
        ("app.js", b"alert(1)", "text/javascript"),
    ],
)
def test_what_a_browser_could_run_is_an_attachment(
    testapp: PyramidionTestApp, filename: str, data: bytes, content_type: str
) -> None:
    stored = upload(testapp, filename, data, content_type)

    response = testapp.get(stored["url"], headers={"X-User": "alice"})

    assert response.headers["Content-Disposition"].startswith(f'attachment; filename="{filename}"')
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.body == data


def test_images_are_shown_inline(testapp: PyramidionTestApp) -> None:
    stored = upload(testapp, "pixel.png", PNG, "image/png")

    response = testapp.get(stored["url"], headers={"X-User": "alice"})

    assert response.content_type == "image/png"
    assert response.headers["Content-Disposition"] == (
        "inline; filename=\"pixel.png\"; filename*=UTF-8''pixel.png"
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_private_file_is_its_owners(testapp: PyramidionTestApp) -> None:
    stored = upload(testapp, "diary.txt", b"dear diary", "text/plain", user="alice")

    testapp.get(stored["url"], headers={"X-User": "bob"}, status=403)
    forbidden = testapp.get(stored["url"], status=403)
    assert "dear diary" not in forbidden.text
    assert testapp.get(stored["url"], headers={"X-User": "alice"}).body == b"dear diary"
    assert testapp.get(stored["url"], headers={"X-User": "root"}).body == b"dear diary"


def test_public_files_and_realms(app_storage: Any, testapp: PyramidionTestApp) -> None:
    public = app_storage.save(b"for all", filename="public.txt", owner_id="alice", public=True)
    folder = app_storage.save(
        b"for carol", filename="folder.txt", owner_id="alice", realm="storagetest.folder"
    )
    app_storage.request.tm.commit()

    assert testapp.get(app_storage.url(public)).body == b"for all"
    assert testapp.get(app_storage.url(folder), headers={"X-User": "carol"}).body == b"for carol"
    # The realm's context decides, not the owner.
    testapp.get(app_storage.url(folder), headers={"X-User": "alice"}, status=403)


def test_unknown_and_temporary_files_are_not_found(
    app_storage: Any, testapp: PyramidionTestApp
) -> None:
    temporary = app_storage.save_temporary(b"in a form", filename="draft.txt")
    app_storage.request.tm.commit()

    testapp.get(app_storage.url(temporary), headers={"X-User": "root"}, status=404)
    testapp.get("/storage/files/" + "0" * 32, status=404)
    testapp.get("/storage/files/..%2F..%2Fetc%2Fpasswd", status=404)
