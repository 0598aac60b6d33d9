"""CSRF over the whole route table, both ways: a request authenticated by
an API token is exempt on every unsafe route (whichever add-on made it,
and however the route checks CSRF, the API's routes included); a browser
session never is, not even with a wrong token beside its cookie."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from pyramidion.testing import PyramidionTestApp
from pyramidion_auth.accounts import create_user
from pyramidion_auth.tokens import create_api_token

from .conftest import route_views

#: What the core answers when a CSRF check fails (HTML and problem+json).
CSRF_REFUSAL = "This form has expired or was not sent from this site."

BODY = b"title=x&body=y&name=t&email=a%40example.com&password=p"


def send(app: PyramidionTestApp, path: str, method: str, headers: dict[str, str]) -> Any:
    return app.request(
        path,
        method=method,
        headers=headers,
        body=BODY,
        content_type="application/x-www-form-urlencoded",
        expect_errors=True,
    )


def test_a_token_request_is_never_refused_for_csrf(
    testapp: PyramidionTestApp, dbsession: Session, tm: Any
) -> None:
    admin = create_user(
        testapp.app.registry,
        dbsession,
        email=f"api-{uuid.uuid4().hex[:8]}@example.com",
        password=None,
        admin=True,
    )
    tm.commit()
    client = PyramidionTestApp(testapp.app)  # no cookies at all, as an API client

    refused = {}
    tried = 0
    api_routes = set()
    for view in route_views(testapp.app):
        for method in view.unsafe_methods:
            if view.route.startswith("api."):
                api_routes.add(view.route)
            # A new token each time: one of the routes revokes tokens.
            _row, token = create_api_token(testapp.app.registry, dbsession, admin, "ci")
            tm.commit()
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            tried += 1
            response = send(client, view.path(), method, headers)
            if CSRF_REFUSAL in response.text:
                refused[(view.route, method)] = response.status_int

    assert tried
    assert {"api.posts", "api.files", "api.tokens"} <= api_routes
    assert refused == {}


def test_a_session_with_a_bad_bearer_header_is_still_checked(
    admin_app: PyramidionTestApp,
) -> None:
    """A wrong token makes the request anonymous and not exempt: it is
    refused (CSRF, or sent to log in), cookies or not."""
    admin_app.csrf_token()  # the real token is in the cookie jar, as in a browser

    let_through = {}
    api_routes = set()
    for view in route_views(admin_app.app):
        for method in view.unsafe_methods:
            if view.route.startswith("api."):
                api_routes.add(view.route)
            response = send(
                admin_app,
                view.path(),
                method,
                {"Authorization": "Bearer pyr_not-a-token", "Accept": "application/json"},
            )
            to_login = response.status_int == 303 and "/auth/login" in response.location
            if response.status_int not in (400, 401, 403, 404) and not to_login:
                let_through[(view.route, method)] = response.status_int

    assert api_routes
    assert let_through == {}


def test_an_api_client_uploads_a_file_with_its_token(
    testapp: PyramidionTestApp, dbsession: Session, tm: Any
) -> None:
    """Before, the storage API refused it: "This form has expired"."""
    user = create_user(
        testapp.app.registry,
        dbsession,
        email=f"uploader-{uuid.uuid4().hex[:8]}@example.com",
        password=None,
    )
    _row, token = create_api_token(testapp.app.registry, dbsession, user, "uploads")
    tm.commit()
    client = PyramidionTestApp(testapp.app)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    stored = client.post(
        "/storage/files",
        upload_files=[("file", "notes.txt", b"helix, 3.4 nm\n", "text/plain")],
        headers=headers,
        status=201,
    )

    assert client.get(stored.json["url"], headers=headers).body == b"helix, 3.4 nm\n"


def test_a_session_is_checked_for_csrf_on_every_unsafe_api_route(
    admin_app: PyramidionTestApp,
) -> None:
    """A logged-in browser sending JSON to the API without its CSRF token is
    refused (400 problem+json) before any view runs, on every unsafe API
    route; a token request is not (see above)."""
    admin_app.csrf_token()  # the real token is in the cookie jar, as in a browser

    answers = {}
    for view in route_views(admin_app.app):
        if not view.route.startswith("api."):
            continue
        for method in view.unsafe_methods:
            response = admin_app.request(
                view.path(),
                method=method,
                headers={"Accept": "application/json"},
                body=b'{"title": "x", "body": "y", "name": "t"}',
                content_type="application/json",
                expect_errors=True,
            )
            answers[(view.route, method)] = (response.status_int, response.content_type)

    assert answers
    # 404: the route's object (id 1) does not exist, so no view ran.
    refused = {k for k, a in answers.items() if a == (400, "application/problem+json")}
    assert {k: a for k, a in answers.items() if k not in refused and a[0] != 404} == {}
    assert ("api.posts", "POST") in refused
