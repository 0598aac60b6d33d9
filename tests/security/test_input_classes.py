"""Each class of hostile input, sent to every route the app has: bytes that
are not text, NUL characters, numbers too large for a column, JSON nested
thousands deep, form bodies of a hundred thousand parts. Each is
answered 4xx with a sentence, never 500."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_to_bytes

import pytest
from pyramid.router import Router
from webob import Request

from pyramidion.testing import PyramidionTestApp

from .conftest import RouteView, route_views

NOT_UTF8 = "not UTF-8 text"
NUL = "NUL character"


def _method(view: RouteView) -> str:
    return "GET" if view.methods is None or "GET" in view.methods else view.methods[0]


def _raw(app: Router, path: str, **environ: Any) -> Any:
    """Send a request whose path may hold any bytes (WebTest's cookie jar
    cannot build a URL from a path that is not text)."""
    request = Request.blank("/")
    request.environ["PATH_INFO"] = unquote_to_bytes(path).decode("latin-1")
    request.environ.update(environ)
    return request.get_response(app)


@pytest.mark.parametrize(
    ("query", "message"),
    [("q=%ff", NOT_UTF8), ("%fe%ff=1", NOT_UTF8), ("q=%00", NUL), ("page=%c3", NOT_UTF8)],
)
def test_a_query_string_that_is_not_text_is_refused_on_every_route(
    client: PyramidionTestApp, query: str, message: str
) -> None:
    for view in route_views(client.app):
        method = _method(view)
        response = client.request(f"{view.path()}?{query}", method=method, expect_errors=True)
        assert response.status_int == 400, f"{method} {view.path()}?{query}"
        assert message in response.text


@pytest.mark.parametrize(("segment", "message"), [("%ff", NOT_UTF8), ("%00", NUL)])
def test_a_path_that_is_not_text_is_refused_anywhere(
    pyramidion_app: Router, db_connection: Any, segment: str, message: str
) -> None:
    paths = {"/" + segment, "/auth/" + segment}
    paths.update(f"{v.path().rstrip('/')}/{segment}" for v in route_views(pyramidion_app))
    for path in sorted(paths):
        response = _raw(pyramidion_app, path, HTTP_ACCEPT="application/json")
        assert response.status_int == 400, path
        assert message in response.json["detail"], path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"title=%ff&body=x&email=a%40example.com", NOT_UTF8),
        (b"title=\xff\xfe&body=x", NOT_UTF8),
        (b"title=a%00b&body=x&email=a%00%40example.com", NUL),
        (b"%00=x", NUL),
    ],
)
def test_a_form_body_that_is_not_text_is_refused_on_every_route(
    client: PyramidionTestApp, body: bytes, message: str
) -> None:
    token = client.csrf_token().encode()
    for view in route_views(client.app):
        for method in view.unsafe_methods:
            response = client.request(
                view.path(),
                method=method,
                body=body + b"&csrf_token=" + token,
                content_type="application/x-www-form-urlencoded",
                headers=client.csrf_headers(),
                expect_errors=True,
            )
            where = f"{method} {view.path()}"
            assert response.status_int < 500, where
            if response.status_int == 400:
                assert message in response.text, where
    login = client.request(
        "/auth/login",
        method="POST",
        body=body + b"&password=x&csrf_token=" + token,
        content_type="application/x-www-form-urlencoded",
        expect_errors=True,
    )
    assert login.status_int == 400
    assert message in login.text


def test_a_nul_in_a_multipart_text_field_is_refused(admin_app: PyramidionTestApp) -> None:
    response = admin_app.post(
        "/posts/new",
        {"title": "a\x00b", "body": "text", "csrf_token": admin_app.csrf_token()},
        content_type="multipart/form-data",
        expect_errors=True,
    )
    assert response.status_int == 400
    assert NUL in response.text


@pytest.mark.parametrize("number", ["2147483648", "9223372036854775808", "9" * 40])
def test_a_number_too_large_for_the_column_names_nothing(
    client: PyramidionTestApp, number: str
) -> None:
    routes = [v for v in route_views(client.app) if "{" in v.pattern]
    assert routes
    for view in routes:
        path = "/" + re.sub(r"\{[^}]*\}", number, view.pattern).lstrip("/")
        for method in {_method(view), *view.unsafe_methods}:
            body = b"" if method == "GET" else b"csrf_token=" + client.csrf_token().encode()
            response = client.request(
                path,
                method=method,
                body=body,
                content_type="application/x-www-form-urlencoded" if body else None,
                headers=client.csrf_headers(),
                expect_errors=True,
            )
            assert response.status_int in (303, 401, 403, 404), f"{method} {path}"


def test_json_nested_thousands_deep_is_refused(client: PyramidionTestApp) -> None:
    deep = b"[" * 50_000 + b"]" * 50_000
    wide = b'{"name": ' + b"[" * 100 + b"]" * 100 + b"}"
    for body in (deep, wide):
        for view in route_views(client.app):
            for method in view.unsafe_methods:
                response = client.request(
                    view.path(),
                    method=method,
                    body=body,
                    content_type="application/json",
                    headers={**client.csrf_headers(), "Accept": "application/json"},
                    expect_errors=True,
                )
                assert response.status_int < 500, f"{method} {view.path()}"


def test_json_nested_too_deep_or_holding_nul_gets_a_sentence(
    admin_app: PyramidionTestApp,
) -> None:
    for body, message in [
        (b"[" * 50_000 + b"]" * 50_000, "nested more than 64 levels"),
        (b'{"name": "a\\u0000b"}', NUL),
        (b'{"name": "\xff"}', NOT_UTF8),
    ]:
        response = admin_app.post(
            "/auth/api/tokens",
            body,
            content_type="application/json",
            headers={**admin_app.csrf_headers(), "Accept": "application/json"},
            expect_errors=True,
        )
        assert response.status_int == 400
        assert message in response.json["detail"]


def _tiny_parts(count: int, boundary: bytes = b"b") -> bytes:
    part = b"--" + boundary + b'\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n'
    return part * count + b"--" + boundary + b"--\r\n"


def test_a_body_of_150000_parts_is_refused_even_where_the_body_size_limit_is_relaxed(
    admin_app: PyramidionTestApp,
) -> None:
    # The blog's post form accepts bodies as large as an upload may be,
    # so the forms add-on's own limits are off there.
    body = _tiny_parts(150_000)
    assert len(body) > 1_048_576

    # (WebTest's own post() would encode a multipart body again.)
    response = admin_app.request(
        "/posts/new",
        method="POST",
        body=body,
        content_type="multipart/form-data; boundary=b",
        headers=admin_app.csrf_headers(),
        expect_errors=True,
    )

    assert response.status_int == 400
    assert "more than 1000 fields" in response.text


def test_a_part_with_overlong_headers_is_refused(admin_app: PyramidionTestApp) -> None:
    body = (
        b'--b\r\nContent-Disposition: form-data; name="title"\r\nX-Padding: '
        + b"a" * 20_000
        + b"\r\n\r\nhello\r\n--b--\r\n"
    )
    # (WebTest's own post() would encode a multipart body again.)
    response = admin_app.request(
        "/posts/new",
        method="POST",
        body=body,
        content_type="multipart/form-data; boundary=b",
        headers=admin_app.csrf_headers(),
        expect_errors=True,
    )
    assert response.status_int == 400
    assert "headers longer than 8192 bytes" in response.text


def test_field_limits_apply_to_urlencoded_forms_too(admin_app: PyramidionTestApp) -> None:
    body = b"&".join(b"f%d=x" % n for n in range(1001))
    response = admin_app.post(
        "/posts/new",
        body + b"&csrf_token=" + admin_app.csrf_token().encode(),
        content_type="application/x-www-form-urlencoded",
        expect_errors=True,
    )
    assert response.status_int == 400
    assert "more than 1000 fields" in response.text


def test_a_form_within_the_limits_is_still_served(admin_app: PyramidionTestApp) -> None:
    form = admin_app.get("/posts/new").forms["deform"]
    form["title"] = "Ünïcode title"
    form["body"] = "A body with a file."
    response = form.submit("submit", upload_files=[("attachment", "a.txt", b"\x00\x01binary")])
    assert response.status_int == 303
    assert "Ünïcode title" in response.follow().text


@pytest.mark.parametrize("offset", [65_530, 65_534, 65_535, 131_070])
def test_text_is_judged_whole_however_the_body_is_read(
    admin_app: PyramidionTestApp, offset: int
) -> None:
    # The body is read in chunks of 64 KiB; an escape or a character cut
    # by a chunk's end is still text, and bad bytes after it still are not.
    token = admin_app.csrf_token().encode()
    head = b"csrf_token=" + token + b"&title=x&body="
    good = head + b"a" * (offset - len(head)) + b"%C3%A9" * 4
    bad = good + b"&extra=%ff"

    def post(body: bytes) -> Any:
        return admin_app.post(
            "/posts/new",
            body,
            content_type="application/x-www-form-urlencoded",
            expect_errors=True,
        )

    assert NOT_UTF8 not in post(good).text
    refused = post(bad)
    assert refused.status_int == 400
    assert NOT_UTF8 in refused.text
