"""Web plumbing: request ids, the access log, security headers, error pages,
the host allowlist and the health endpoint."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import warnings
from typing import Any

import pytest
from pyramid.request import Request
from pyramid.router import Router
from sqlalchemy import Connection

from pyramidion.logging import JsonFormatter, RequestIdFilter
from pyramidion.testing import MakeApp, PyramidionTestApp
from tests.conftest import Notes
from tests.distributions import Distributions

GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


def test_healthz(testapp: PyramidionTestApp) -> None:
    response = testapp.get("/healthz")

    assert response.content_type == "application/json"
    assert response.json == {"status": "ok"}


def test_request_id_is_taken_from_the_header_and_logged(
    notes_app: PyramidionTestApp, notes: Notes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.INFO):
        response = notes_app.get("/notes/logs", headers={"X-Request-ID": "edge-42.a:b"})

    assert response.headers["X-Request-ID"] == "edge-42.a:b"
    handled = [r for r in caplog.records if r.name == notes.package.__name__]
    assert [(r.getMessage(), r.request_id) for r in handled] == [  # type: ignore[attr-defined]
        ("handling /notes/logs", "edge-42.a:b")
    ]


@pytest.mark.parametrize("incoming", [None, "", "has spaces", "<script>", "x" * 129])
def test_request_id_is_generated_when_missing_or_unsafe(
    testapp: PyramidionTestApp, incoming: str | None
) -> None:
    headers = {} if incoming is None else {"X-Request-ID": incoming}

    first = testapp.get("/healthz", headers=headers).headers["X-Request-ID"]
    second = testapp.get("/healthz", headers=headers).headers["X-Request-ID"]

    assert GENERATED_ID.match(first)
    assert first != second


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_workers_generate_different_request_ids() -> None:
    from pyramidion.tweens import _new_request_id

    _new_request_id()
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns about forking a process that has threads; the
        # child only writes to a pipe and exits.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: one id to the parent, then out
        os.write(write_end, _new_request_id().encode())
        os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    with os.fdopen(read_end) as pipe:
        child = pipe.read()

    assert GENERATED_ID.match(child)
    assert child != _new_request_id()


def test_access_log_line(notes_app: PyramidionTestApp, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="pyramidion.access"):
        notes_app.get(
            "/notes/ping?token=s3cret-token",
            headers={"X-Request-ID": "req-1", "Authorization": "Bearer abc.def"},
            extra_environ={"REMOTE_ADDR": "192.0.2.7"},
        )

    (record,) = [r for r in caplog.records if r.name == "pyramidion.access"]
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["logger"] == "pyramidion.access"
    assert entry["level"] == "INFO"
    assert entry["message"].startswith("GET /notes/ping 200 ")
    assert {k: entry[k] for k in ("request_id", "method", "path", "status", "client_addr")} == {
        "request_id": "req-1",
        "method": "GET",
        "path": "/notes/ping",
        "status": 200,
        "client_addr": "192.0.2.7",
    }
    assert entry["user_id"] is None
    assert isinstance(entry["duration_ms"], float)
    assert "s3cret" not in line
    assert "token=" not in line
    assert "abc.def" not in line


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/notes/ping", 200),
        ("/no/such/page", 404),
        ("/notes/private", 403),
    ],
)
def test_security_headers_on_every_response(
    notes_app: PyramidionTestApp, path: str, status: int
) -> None:
    response = notes_app.get(path, status=status)

    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    if status >= 400:
        assert response.headers["Cache-Control"] == "no-store"


def test_security_headers_on_server_errors(notes_app: PyramidionTestApp) -> None:
    response = notes_app.post(
        "/notes/add-then-raise", {"text": "x"}, headers=notes_app.csrf_headers(), status=500
    )

    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value


def test_an_error_raised_while_committing_is_an_error_page_with_the_headers(
    distributions: Distributions, make_pyramidion_app: MakeApp
) -> None:
    # pyramid_tm commits after every view and error view has run, and
    # renders a failed commit with the app's error views itself.
    distributions.addon(
        "committer",
        preamble="""
        from pyramidion import PUBLIC

        def refuse(ok):
            raise RuntimeError("the commit failed: swordfish")

        def view(request):
            request.tm.get().addBeforeCommitHook(refuse)
            return {"ok": True}
        """,
        includeme="""
        config.add_route("committer.go", "/go")
        config.add_view(view, route_name="committer.go", renderer="json", permission=PUBLIC)
        """,
    )
    testapp = PyramidionTestApp(make_pyramidion_app(addons=["committer"]))

    response = testapp.get("/committer/go", headers={"Accept": "application/json"}, status=500)

    assert response.json["title"] == "Internal Server Error"
    assert response.json["request_id"] == response.headers["X-Request-ID"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert "swordfish" not in response.text


def test_hsts_only_over_https_in_production(notes: Notes, make_pyramidion_app: MakeApp) -> None:
    production = PyramidionTestApp(
        make_pyramidion_app({"pyramidion.environment": "production"}, addons=["notes"])
    )
    development = PyramidionTestApp(make_pyramidion_app(addons=["notes"]))

    https = {"wsgi.url_scheme": "https"}
    assert production.get("/notes/ping", extra_environ=https).headers[
        "Strict-Transport-Security"
    ] == ("max-age=31536000; includeSubDomains")
    assert "Strict-Transport-Security" not in production.get("/notes/ping").headers
    assert (
        "Strict-Transport-Security"
        not in development.get("/notes/ping", extra_environ=https).headers
    )


def test_server_error_page_for_browsers(
    notes_app: PyramidionTestApp, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="pyramidion.error"):
        response = notes_app.post(
            "/notes/add-then-raise",
            {"text": "x"},
            headers={**notes_app.csrf_headers(), "Accept": "text/html,*/*;q=0.8"},
            status=500,
        )

    request_id = response.headers["X-Request-ID"]
    assert response.content_type == "text/html"
    assert "<h1>Internal Server Error</h1>" in response.text
    assert f"<code>{request_id}</code>" in response.text
    assert "Traceback" not in response.text
    assert "swordfish" not in response.text
    # The traceback goes to the log, with the same request id.
    (record,) = [r for r in caplog.records if r.name == "pyramidion.error"]
    assert record.exc_info is not None
    assert "swordfish" in caplog.text


@pytest.mark.parametrize(
    ("method", "path", "status", "title"),
    [
        ("POST", "/notes/add-then-raise", 500, "Internal Server Error"),
        ("GET", "/no/such/page", 404, "Not Found"),
        ("GET", "/notes/private", 403, "Forbidden"),
        ("POST", "/notes/add", 400, "Bad Request"),
    ],
)
def test_error_pages_for_api_clients(
    notes_app: PyramidionTestApp, method: str, path: str, status: int, title: str
) -> None:
    headers = {"Accept": "application/json"}
    if path != "/notes/add":
        headers.update(notes_app.csrf_headers())
    response = notes_app.request(
        path, method=method, headers=headers, body=b"text=x", status=status
    )

    assert response.content_type == "application/problem+json"
    body = response.json
    assert body["status"] == status
    assert body["title"] == title
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert "Traceback" not in response.text
    assert "swordfish" not in response.text


def test_csrf_is_required_on_unsafe_methods(
    notes_app: PyramidionTestApp, notes: Notes, db_connection: Connection
) -> None:
    missing = notes_app.post("/notes/add", {"text": "forged"}, status=400)
    wrong = notes_app.post(
        "/notes/add", {"text": "forged"}, headers={"X-CSRF-Token": "guessed"}, status=400
    )
    assert notes.texts(db_connection) == []
    for response in (missing, wrong):
        assert "This form has expired or was not sent from this site." in response.text
        assert "check_csrf_token" not in response.text

    notes_app.post("/notes/add", {"text": "by header"}, headers=notes_app.csrf_headers())
    notes_app.post("/notes/add", {"text": "by form", "csrf_token": notes_app.csrf_token()})
    assert notes.texts(db_connection) == ["by header", "by form"]


def test_host_allowlist(notes: Notes, make_pyramidion_app: MakeApp) -> None:
    app = PyramidionTestApp(
        make_pyramidion_app(
            {"pyramidion.allowed_hosts": "example.com .example.org"}, addons=["notes"]
        )
    )

    for host in ("example.com", "example.com:8080", "example.org", "www.example.org"):
        assert app.get("/notes/ping", headers={"Host": host}).json == {"pong": True}
    for host in ("evil.com", "example.com.evil.com", "localhost", "user@example.com"):
        response = app.get("/notes/ping", headers={"Host": host}, status=400)
        assert "The Host header names a host this site does not serve." in response.text
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_copy_of_a_large_request_body_is_closed_after_the_response(
    pyramidion_app: Router,
) -> None:
    # pyramid_retry has WebOb copy bodies over 10 KB to a temporary file so
    # that a retry can read them again; that copy must not outlive the request.
    original = io.BytesIO(b"x" * 50_000)
    request = Request.blank("/healthz", method="POST", headers={"Host": "localhost"}, body=b"")
    request.environ["wsgi.input"] = original
    request.environ["CONTENT_LENGTH"] = "50000"
    request.environ.pop("webob.is_body_seekable", None)

    response = request.get_response(pyramidion_app)

    copy = request.environ["wsgi.input"]
    assert response.status_int == 400  # no CSRF token
    assert copy is not original
    assert copy.closed
    assert not original.closed


def _as_waitress_gives_it(path: str, body: Any, **kw: Any) -> Request:
    """A request as waitress hands it over: its input ends where the body
    does (``wsgi.input_terminated``), and a Content-Length only if sent."""
    request = Request.blank(path, headers={"Host": "localhost"}, **kw)
    request.environ["wsgi.input"] = body
    request.environ["wsgi.input_terminated"] = True
    request.environ.pop("CONTENT_LENGTH", None)
    request.environ.pop("webob.is_body_seekable", None)
    return request


@pytest.mark.parametrize(
    "stream",
    [io.BytesIO, lambda data: io.BufferedReader(io.BytesIO(data))],
    ids=["in memory", "a file"],
)
def test_a_body_that_ends_with_the_input_is_read_again_on_a_retry(
    notes_app: PyramidionTestApp, stream: Any
) -> None:
    # No Content-Length, as a server that passes on a chunked body as it
    # comes may send it: the body is whatever the input holds.
    token = notes_app.csrf_token()
    request = _as_waitress_gives_it("/notes/echo-flaky", stream(b"payload"), method="POST")
    request.headers["X-CSRF-Token"] = token
    request.headers["Cookie"] = f"{notes_app.csrf_cookie_name}={token}"

    response = request.get_response(notes_app.app)

    assert response.json == {"attempt": 1, "body": "payload"}
