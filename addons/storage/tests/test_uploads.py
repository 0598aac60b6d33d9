"""Uploads: size limit, filenames and content types."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from pyramid.request import Request
from sqlalchemy import Connection

from pyramidion.testing import MakeApp, PyramidionTestApp
from pyramidion_storage.backends import LocalBackend, StorageBackend
from pyramidion_storage.uploads import (
    ContentTypeMismatch,
    ContentTypeNotAllowed,
    check_content_type,
    sanitize_filename,
)

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 100


def everything(backend: StorageBackend) -> set[str]:
    published = {obj.key for obj in backend.objects()}
    if isinstance(backend, LocalBackend) and backend.root.exists():
        published |= {str(p) for p in backend.root.rglob("*") if p.is_file()}
    return published


def temp_dir() -> set[str]:
    return set(os.listdir(tempfile.gettempdir()))


def post_file(
    testapp: PyramidionTestApp, filename: str, data: bytes, content_type: str, **kw: Any
) -> Any:
    return testapp.post(
        "/storage/files",
        upload_files=[("file", filename, data, content_type)],
        headers={**testapp.csrf_headers(), "X-User": "alice", "Accept": "application/json"},
        **kw,
    )


class CountingReader(io.BytesIO):
    """A request body that records how much of it the app read."""

    consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk


def multipart_body(filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = "testboundary1234"
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def raw_upload(testapp: PyramidionTestApp, body: bytes, content_type: str) -> Any:
    token = testapp.csrf_token()
    reader = CountingReader(body)
    request = Request.blank(
        "/storage/files",
        method="POST",
        headers={
            "Host": "localhost",
            "X-User": "alice",
            "X-CSRF-Token": token,
            "Cookie": f"{testapp.csrf_cookie_name}={token}",
            "Content-Type": content_type,
            "Accept": "application/json",
        },
    )
    request.environ["wsgi.input"] = reader
    request.environ["CONTENT_LENGTH"] = str(len(body))
    request.environ.pop("webob.is_body_seekable", None)
    return request.get_response(testapp.app), reader


def test_an_oversize_upload_is_refused_with_nothing_left(
    testapp: PyramidionTestApp, backend: StorageBackend
) -> None:
    before, before_tmp = everything(backend), temp_dir()
    body, content_type = multipart_body("big.bin", os.urandom(300_000))

    response, _reader = raw_upload(testapp, body, content_type)

    assert response.status_int == 413
    assert response.json["detail"] == "The file is larger than the limit of 97.7 KiB."
    assert everything(backend) == before
    assert temp_dir() == before_tmp


@pytest.mark.parametrize(("size", "most_read"), [(300_000, 0), (150_000, 100_000 + 2 * 65536)])
def test_reading_stops_at_the_limit_for_bodies_too_large_to_retry(
    make_pyramidion_app: MakeApp,
    db_connection: Connection,
    backend: StorageBackend,
    size: int,
    most_read: int,
) -> None:
    # To retry a request, pyramid_retry copies its whole body first; the
    # core gives bodies above pyramidion.retry_max_body_size one attempt, so
    # the view reads the body itself and stops at the limit. Retries stay on.
    settings = {"pyramidion.retry_max_body_size": "65536"}
    app = PyramidionTestApp(make_pyramidion_app(settings, connection=db_connection))
    before = everything(backend)
    body, content_type = multipart_body("big.bin", os.urandom(size))

    response, reader = raw_upload(app, body, content_type)

    assert response.status_int == 413
    assert reader.consumed <= most_read
    assert everything(backend) == before


def test_an_upload_over_the_limit_is_stopped_at_the_limit(
    testapp: PyramidionTestApp, backend: StorageBackend
) -> None:
    before, before_tmp = everything(backend), temp_dir()
    # Within the multipart allowance, so the limit applies while streaming.
    body, content_type = multipart_body("big.bin", os.urandom(150_000))

    response, _reader = raw_upload(testapp, body, content_type)

    assert response.status_int == 413
    assert response.json["detail"] == "The file is larger than the limit of 97.7 KiB."
    assert everything(backend) == before
    assert temp_dir() == before_tmp


def test_an_upload_at_the_limit_is_stored(testapp: PyramidionTestApp) -> None:
    response = post_file(testapp, "exact.bin", b"x" * 100_000, "application/octet-stream")

    assert response.status_int == 201
    assert response.json["size"] == 100_000


def test_a_path_traversal_filename_cannot_leave_the_storage_root(
    testapp: PyramidionTestApp, backend: StorageBackend, local_root: Path
) -> None:
    outside = local_root.parent
    before_outside = {p for p in outside.rglob("*") if not p.is_relative_to(local_root)}

    response = post_file(testapp, "../../../../escaped.txt", b"hello", "text/plain", status=201)

    assert response.json["filename"] == "escaped.txt"
    assert {p for p in outside.rglob("*") if not p.is_relative_to(local_root)} == before_outside
    assert not list(Path("/").glob("escaped.txt"))
    assert response.json["key"] in {obj.key for obj in backend.objects()}


def test_an_executable_claiming_to_be_an_image_is_refused(
    testapp: PyramidionTestApp, backend: StorageBackend
) -> None:
    before = everything(backend)

    response = post_file(testapp, "cat.png", EXE, "image/png", status=415)

    assert response.json["detail"] == (
        "The file is sent as image/png, but its content is application/x-msdownload."
    )
    assert everything(backend) == before


def test_the_content_type_is_the_one_the_content_shows(testapp: PyramidionTestApp) -> None:
    png = post_file(testapp, "pixel.png", PNG, "application/octet-stream", status=201)
    text = post_file(testapp, "notes.txt", b"just text", "", status=201)

    assert png.json["content_type"] == "image/png"
    assert text.json["content_type"] == "text/plain"


def test_uploads_need_a_user_and_a_csrf_token(testapp: PyramidionTestApp) -> None:
    upload = [("file", "a.txt", b"a", "text/plain")]

    testapp.post("/storage/files", upload_files=upload, headers=testapp.csrf_headers(), status=403)
    testapp.post("/storage/files", upload_files=upload, headers={"X-User": "a"}, status=400)


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\report.pdf", "report.pdf"),
        ("..", "file"),
        ("  .hidden  ", "hidden"),
        ("evil\x00name\x1b.txt", "evilname.txt"),
        ("invoice\u202egnp.exe", "invoicegnp.exe"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ('a<b>c:"d|e?f*.txt', "a_b_c__d_e_f_.txt"),
        ("résumé.pdf", "résumé.pdf"),
        ("x" * 300 + ".txt", "x" * 196 + ".txt"),
    ],
)
def test_filenames_are_sanitised(name: str, safe: str) -> None:
    assert sanitize_filename(name) == safe


def test_content_checks() -> None:
    assert check_content_type("a.png", "image/png", PNG) == "image/png"
    assert check_content_type("a.svg", "image/svg+xml", b"<svg/>") == "image/svg+xml"
    assert check_content_type("data", None, b"\x00\x01") == "application/octet-stream"
    with pytest.raises(ContentTypeMismatch, match="named application/pdf"):
        check_content_type("a.pdf", None, PNG)
    with pytest.raises(ContentTypeMismatch, match="but its content is not image/png"):
        check_content_type("a.png", "image/png", b"<script>alert(1)</script>")
    with pytest.raises(ContentTypeNotAllowed, match=r"accepted: image/\*"):
        check_content_type("a.txt", "text/plain", b"hi", allowed=["image/*"])


def test_an_upload_limit_the_apps_body_limit_cannot_hold_is_a_start_up_error(
    make_pyramidion_app: MakeApp,
) -> None:
    from pyramidion import SettingsError

    with pytest.raises(SettingsError) as refused:
        make_pyramidion_app(
            {
                "storage.max_upload_size": "200000",
                "pyramidion.max_request_body_size": "200000",
            }
        )

    assert "set pyramidion.max_request_body_size to at least 265536" in str(refused.value)
