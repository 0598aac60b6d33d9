"""Hostile input: fuzzed forms and JSON on every route that takes input,
malformed headers, cookies and multipart bodies. Nothing may answer 5xx or
show a traceback."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyramidion.testing import LiveServer, PyramidionTestApp

from .conftest import RouteView, route_views

pytestmark = pytest.mark.slow

FIELD_NAMES = st.sampled_from(
    ["title", "body", "email", "password", "name", "came_from", "text", "file", "id",
     "csrf_token", "__formid__", "_charset_", "submit", "__start__", "__end__", "hidden"]
) | st.text(min_size=0, max_size=20)  # fmt: skip
HOSTILE_TEXT = st.text(max_size=300) | st.sampled_from(
    ["\x00", "'; DROP TABLE x; --", "<script>alert(1)</script>", "\ud7ff" * 50, "9" * 400,
     "-1", "1e309", "NaN", "../../etc/passwd", "%00", "\r\nSet-Cookie: x=y", " " * 5000]
)  # fmt: skip
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | HOSTILE_TEXT,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(FIELD_NAMES, children, max_size=4)
    ),
    max_leaves=12,
)


def _input_routes(app: Any) -> list[RouteView]:
    return [v for v in route_views(app) if v.unsafe_methods or v.methods is None]


def _check(response: Any, where: str) -> None:
    assert response.status_int < 500, f"{where} answered {response.status}"
    assert b"Traceback" not in response.body, where


SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


@SETTINGS
@given(data=st.data())
def test_fuzzed_forms_never_break_a_page(admin_app: PyramidionTestApp, data: Any) -> None:
    view = data.draw(st.sampled_from(_input_routes(admin_app.app)))
    fields = data.draw(st.dictionaries(FIELD_NAMES, HOSTILE_TEXT, max_size=6))
    fields["csrf_token"] = admin_app.csrf_token()
    method = (view.unsafe_methods or ["POST"])[0]
    response = admin_app.request(
        view.path(),
        method=method,
        body="&".join(f"{k}={v}" for k, v in fields.items()).encode("utf-8", "surrogatepass"),
        content_type="application/x-www-form-urlencoded",
        headers=admin_app.csrf_headers(),
        expect_errors=True,
    )
    _check(response, f"{method} {view.path()} form {fields!r}")


@SETTINGS
@given(data=st.data())
def test_fuzzed_json_never_breaks_an_endpoint(admin_app: PyramidionTestApp, data: Any) -> None:
    view = data.draw(st.sampled_from(_input_routes(admin_app.app)))
    value = data.draw(JSON_VALUES)
    method = (view.unsafe_methods or ["POST"])[0]
    response = admin_app.request(
        view.path(),
        method=method,
        body=json.dumps(value).encode(),
        content_type="application/json",
        headers={**admin_app.csrf_headers(), "Accept": "application/json"},
        expect_errors=True,
    )
    _check(response, f"{method} {view.path()} JSON {value!r}")


MULTIPART_BODIES = [
    b"garbage without a boundary",
    b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nno end',
    b"--xyz\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--xyz--\r\n",
    b"--xyz\r\n" + b"X-Header: " + b"a" * 20000 + b"\r\n\r\nbody\r\n--xyz--\r\n",
    b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="../../../etc/passwd"\r\n'
    b"Content-Type: text/plain\r\n\r\nroot:x\r\n--xyz--\r\n",
    b"--xyz--\r\n",
    b"",
]


@pytest.mark.parametrize("body", MULTIPART_BODIES)
@pytest.mark.parametrize("boundary", ["xyz", "", '"unterminated', "x" * 500])
def test_malformed_multipart_is_refused_cleanly(
    admin_app: PyramidionTestApp, body: bytes, boundary: str
) -> None:
    for view in _input_routes(admin_app.app):
        response = admin_app.request(
            view.path(),
            method=(view.unsafe_methods or ["POST"])[0],
            body=body,
            content_type=f"multipart/form-data; boundary={boundary}",
            headers=admin_app.csrf_headers(),
            expect_errors=True,
        )
        _check(response, f"multipart to {view.path()}")


@pytest.mark.parametrize(
    "headers",
    [
        {"Cookie": 'session=\x7f\x01; csrf_token="unterminated; =; ;;;'},
        {"Cookie": "session=" + "a" * 5000},
        {"Accept": "text/html;q=nope, */*;q=2, ;;"},
        {"Accept-Language": "*;q=x, \u00e9\u00e9-??"},
        {"Content-Type": "application/json; charset=no-such-charset"},
        {"Range": "bytes=99999999999999999999-1, -, x"},
        {"If-None-Match": '"unterminated, W/'},
        {"If-Modified-Since": "the day after tomorrow"},
        {"X-Request-ID": "\u2603" * 300},
        {"X-CSRF-Token": "\u0000"},
        {"Authorization": "Bearer \u00ff\u00fe"},
        {"Authorization": "Basic !!!"},
    ],
)
def test_malformed_headers_and_cookies_are_answered_cleanly(
    admin_app: PyramidionTestApp, headers: dict[str, str]
) -> None:
    for view in route_views(admin_app.app):
        method = "GET" if view.methods is None or "GET" in view.methods else view.methods[0]
        response = admin_app.request(
            view.path(), method=method, headers=headers, expect_errors=True
        )
        _check(response, f"{method} {view.path()} with {headers!r}")


RAW_REQUESTS = [
    b"GET /%ff%fe/\xff HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"GET /auth/login HTTP/1.1\r\nHost: localhost\r\nCookie: \xff\xfe=\x00\r\n\r\n",
    b"POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Length: abc\r\n\r\n",
    b"POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Length: -5\r\n\r\n",
    b"POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST /storage/files HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"
    b"Content-Type: multipart/form-data; boundary=x\r\n\r\nzz\r\n",
    b"GET / HTTP/1.1\r\nHost: \xc3\xa9vil\r\nX-Header-\xff: \xff\r\n\r\n",
    b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"GARBAGE\r\n\r\n",
]


@pytest.mark.parametrize("raw", RAW_REQUESTS)
def test_raw_malformed_requests_over_http(pyramidion_live_server: LiveServer, raw: bytes) -> None:
    host, port = pyramidion_live_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(raw)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    if not received:
        return  # the server closed the connection: a refusal, not an error
    status = int(received.split(b" ", 2)[1])
    assert status < 500, received[:200]
    assert b"Traceback" not in received
