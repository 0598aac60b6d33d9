"""Checks over the whole route table: CSRF on every unsafe route, an
explicit permission on every view, security headers on every response."""

from __future__ import annotations

from typing import Any

import pytest
from pyramid.router import Router
from sqlalchemy import Connection

from pyramidion.testing import PyramidionTestApp

from .conftest import SECURITY_HEADERS, all_views, route_views, row_counts

#: Views that turn Pyramid's CSRF check off and make their own, and where.
OWN_CSRF_CHECK = {
    # Checks the X-CSRF-Token header before reading a (large) body:
    # pyramidion_storage.views.upload.
    "storage.upload",
    # The same, over the API: pyramidion_storage.api.upload.
    "api.files",
}


def test_the_route_table_is_walked(pyramidion_app: Router) -> None:
    views = route_views(pyramidion_app)
    names = {v.route for v in views}
    assert {"auth.login", "pyramidion.healthz", "storage.upload"} <= names
    assert any(v.unsafe_methods for v in views)


def test_no_unsafe_view_turns_csrf_off_unreviewed(pyramidion_app: Router) -> None:
    unchecked = {
        v.route
        for v in route_views(pyramidion_app)
        if v.unsafe_methods and v.require_csrf is False
    }
    assert unchecked <= OWN_CSRF_CHECK


@pytest.mark.parametrize("token", [None, "forged-token"], ids=["missing", "wrong"])
def test_every_unsafe_route_refuses_a_missing_or_wrong_csrf_token(
    admin_app: PyramidionTestApp, db_connection: Connection, token: str | None
) -> None:
    views = [v for v in route_views(admin_app.app) if v.unsafe_methods]
    admin_app.csrf_token()  # the real token is in the cookie jar, as in a browser
    before = row_counts(db_connection)
    refused = {}
    for view in views:
        for method in view.unsafe_methods:
            headers = {"X-CSRF-Token": token} if token else {}
            response = admin_app.request(
                view.path(),
                method=method,
                headers=headers,
                body=b"title=x&body=y&email=a%40example.com&password=p",
                content_type="application/x-www-form-urlencoded",
                expect_errors=True,
            )
            refused[(view.route, method)] = response.status_int
    # 400 is the CSRF refusal; 404 means the route's object (id 1) does
    # not exist, so no view ran at all.
    assert {k: s for k, s in refused.items() if s not in (400, 404)} == {}
    assert [k for k, s in refused.items() if s == 400]
    assert row_counts(db_connection) == before


def test_every_view_has_an_explicit_permission_or_is_explicitly_public(
    pyramidion_app: Router,
) -> None:
    missing = []
    for view in all_views(pyramidion_app):
        introspector = pyramidion_app.registry.introspector
        permissions = [
            r["value"] for r in introspector.related(view) if r.category_name == "permissions"
        ]
        if not permissions or permissions[0] is None:
            missing.append((view["route_name"], view["name"], view["callable"]))
    assert missing == []


def _assert_security_headers(response: Any, where: str) -> None:
    missing = [h for h in SECURITY_HEADERS if h not in response.headers]
    assert missing == [], f"{where} ({response.status}) lacks {missing}"


def test_every_route_answers_with_the_security_headers(
    admin_app: PyramidionTestApp,
) -> None:
    anonymous = PyramidionTestApp(admin_app.app)
    for view in route_views(admin_app.app):
        if view.methods is not None and "GET" not in view.methods:
            continue
        for client in (anonymous, admin_app):
            response = client.get(view.path(), expect_errors=True)
            _assert_security_headers(response, f"GET {view.path()}")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/no/such/page"),  # 404
        ("GET", "/auth/account"),  # 401 for JSON, 303 to the login page for HTML
        ("POST", "/auth/login"),  # 400: no CSRF token
        ("DELETE", "/healthz"),  # refused
        ("GET", "/forms/static/../../etc/passwd"),
    ],
)
def test_error_pages_carry_the_security_headers(
    testapp: PyramidionTestApp, method: str, path: str
) -> None:
    for accept in ("text/html", "application/json"):
        response = testapp.request(
            path, method=method, headers={"Accept": accept}, expect_errors=True
        )
        assert response.status_int >= 300
        _assert_security_headers(response, f"{method} {path}")
