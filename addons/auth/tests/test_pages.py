"""Change password, password reset, registration, verification, and CSRF on
every unsafe route."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import Connection, select

from pyramidion.testing import PyramidionTestApp
from pyramidion_auth.models import ApiToken, User
from pyramidion_auth.services import auth_settings
from pyramidion_auth.tokens import create_api_token

NEW_PASSWORD = "a brand new passphrase"


def without_form_token(page: Any) -> str:
    """The page's HTML with its forms' one-time tokens (each form shown
    has its own) replaced by one placeholder."""
    return re.sub(r'name="idempotency_key" value="[^"]*"', 'name="idempotency_key"', page.text)


def second_client(app: PyramidionTestApp) -> PyramidionTestApp:
    return PyramidionTestApp(app.app)


def token_works(app: PyramidionTestApp, token: str) -> bool:
    response = second_client(app).get(
        "/auth/api/me", headers={"Authorization": f"Bearer {token}"}, expect_errors=True
    )
    return bool(response.status_int == 200)


def test_change_password_ends_other_sessions_and_revokes_api_tokens(
    testapp: PyramidionTestApp,
    auth_make_user: Any,
    auth_log_in: Any,
    password: str,
    dbsession: Any,
    tm: Any,
) -> None:
    user = auth_make_user()
    _row, token = create_api_token(testapp.app.registry, dbsession, user, "made by an intruder")
    tm.commit()
    assert token_works(testapp, token)
    other = second_client(testapp)
    auth_log_in(testapp, user.email)
    auth_log_in(other, user.email)
    before = testapp.cookies["session"]

    form = testapp.get("/auth/password").forms["deform"]
    form["current_password"] = password
    form["new_password"] = NEW_PASSWORD
    form["new_password-confirm"] = NEW_PASSWORD
    page = form.submit("submit").maybe_follow()

    assert "Your password has been changed." in page.text
    assert "your API tokens revoked" in page.text
    assert testapp.cookies["session"] != before
    assert testapp.get("/auth/account").status_int == 200
    other.get("/auth/account", status=303)
    assert not token_works(testapp, token)
    assert auth_log_in(second_client(testapp), user.email, password).status_int == 422
    assert auth_log_in(second_client(testapp), user.email, NEW_PASSWORD).status_int == 303


def test_change_password_needs_the_current_one_and_a_good_new_one(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_log_in: Any, password: str
) -> None:
    user = auth_make_user()
    auth_log_in(testapp, user.email)

    for current, new, message in [
        ("not my password!", NEW_PASSWORD, "This is not your current password."),
        (password, "short", "Use at least 12 characters."),
        (password, "qwerty123456", "one of the most common passwords"),
        (password, "LeaveMeAlone", "one of the most common passwords"),
        (password, "x" * 1025, "Use at most 1024 bytes."),
    ]:
        form = testapp.get("/auth/password").forms["deform"]
        form["current_password"] = current
        form["new_password"] = new
        form["new_password-confirm"] = new
        refused = form.submit("submit", status=422)
        assert message in refused.text

    assert auth_log_in(second_client(testapp), user.email, password).status_int == 303


def request_reset(app: PyramidionTestApp, address: str) -> Any:
    form = app.get("/auth/reset").forms["deform"]
    form["email"] = address
    return form.submit("submit", status="*")


def test_password_reset_by_email(
    testapp: PyramidionTestApp,
    auth_make_user: Any,
    auth_log_in: Any,
    mailbox: Any,
    password: str,
    dbsession: Any,
    tm: Any,
) -> None:
    user = auth_make_user()
    _row, token = create_api_token(testapp.app.registry, dbsession, user, "made by an intruder")
    tm.commit()
    auth_log_in(testapp, user.email)
    anonymous = second_client(testapp)

    response = request_reset(anonymous, user.email)

    assert response.status_int == 303
    (mail,) = mailbox(user.email)
    link = re.search(r"http://localhost(/auth/reset/confirm\?token=\S+)", mail)
    assert link is not None
    form = anonymous.get(link.group(1)).forms["deform"]
    form["new_password"] = NEW_PASSWORD
    form["new_password-confirm"] = NEW_PASSWORD
    done = form.submit("submit").maybe_follow()
    assert "Your password has been set." in done.text

    # The link works once; the new password works; the old session and
    # the API tokens are over.
    used = anonymous.get(link.group(1), status=400)
    assert "It has expired or was already used." in used.text
    testapp.get("/auth/account", status=303)
    assert not token_works(testapp, token)
    assert auth_log_in(second_client(testapp), user.email, password).status_int == 422
    assert auth_log_in(second_client(testapp), user.email, NEW_PASSWORD).status_int == 303


def test_reset_request_answers_the_same_for_unknown_emails(
    testapp: PyramidionTestApp, auth_make_user: Any, mailbox: Any
) -> None:
    user = auth_make_user(email="someone@example.com")

    client = second_client(testapp)
    known = request_reset(client, user.email)
    known_page = known.follow()
    unknown = request_reset(client, "no-one@example.com")

    assert known.status_int == unknown.status_int == 303
    assert known.location == unknown.location
    assert without_form_token(known_page) == without_form_token(unknown.follow())
    assert len(mailbox(user.email)) == 1
    assert mailbox("no-one@example.com") == []


def test_reset_links_expire(
    make_pyramidion_app: Any, db_connection: Connection, auth_make_user: Any, mailbox: Any
) -> None:
    from pyramidion_auth.clock import ManualClock
    from pyramidion_auth.interfaces import Clock
    from pyramidion_auth.services import find

    wsgi = make_pyramidion_app({"auth.reset_token_lifetime": "60"}, connection=db_connection)
    clock = find(wsgi.registry, Clock)
    assert isinstance(clock, ManualClock)
    clock.freeze()
    try:
        app = PyramidionTestApp(wsgi)
        user = auth_make_user()
        request_reset(app, user.email)
        (mail,) = mailbox(user.email)
        link = re.search(r"http://localhost(/auth/reset/confirm\?token=\S+)", mail)
        assert link is not None
        assert app.get(link.group(1)).status_int == 200

        clock.advance(seconds=59)
        assert app.get(link.group(1)).status_int == 200
        clock.advance(seconds=2)

        assert app.get(link.group(1), status=400)
        assert app.get("/auth/reset/confirm?token=made-up", status=400)
    finally:
        clock.release()


def test_reset_emails_per_address_are_limited(
    testapp: PyramidionTestApp, auth_make_user: Any, mailbox: Any
) -> None:
    user = auth_make_user()

    for _ in range(5):
        assert request_reset(second_client(testapp), user.email).status_int == 303

    assert len(mailbox(user.email)) == auth_settings(testapp.app.registry).reset_emails_per_window


def test_registration_is_off_by_default(testapp: PyramidionTestApp) -> None:
    testapp.get("/auth/register", status=404)
    assert "Create an account" not in testapp.get("/auth/login").text


def register(app: PyramidionTestApp, address: str, password: str = NEW_PASSWORD) -> Any:
    form = app.get("/auth/register").forms["deform"]
    form["email"] = address
    form["display_name"] = "Newcomer"
    form["password"] = password
    form["password-confirm"] = password
    return form.submit("submit", status="*")


def test_registration_when_enabled(
    make_pyramidion_app: Any, db_connection: Connection, auth_make_user: Any, auth_log_in: Any
) -> None:
    app = PyramidionTestApp(
        make_pyramidion_app({"auth.allow_registration": "true"}, connection=db_connection)
    )
    assert "Create an account" in app.get("/auth/login").text

    weak = register(app, "new@example.com", "1qaz2wsx3edc")
    assert weak.status_int == 422
    assert "one of the most common passwords" in weak.text

    page = register(app, "new@example.com").maybe_follow()
    assert "If this address had no account, it has one now" in page.text
    assert auth_log_in(app, "new@example.com", NEW_PASSWORD).status_int == 303
    assert "Newcomer" in app.get("/auth/account").text


def test_registration_with_email_verification(
    make_pyramidion_app: Any,
    db_connection: Connection,
    auth_make_user: Any,
    mailbox: Any,
    auth_log_in: Any,
) -> None:
    app = PyramidionTestApp(
        make_pyramidion_app(
            {"auth.allow_registration": "true", "auth.require_email_verification": "true"},
            connection=db_connection,
        )
    )
    existing = auth_make_user(email="taken@example.com")

    client = second_client(app)
    fresh = register(client, "fresh@example.com")
    fresh_page = fresh.follow()
    taken = register(client, existing.email)

    assert fresh.status_int == taken.status_int == 303
    assert without_form_token(fresh_page) == without_form_token(taken.follow())
    assert "Someone, perhaps you" in mailbox(existing.email)[0]
    refused = auth_log_in(app, "fresh@example.com", NEW_PASSWORD)
    assert refused.status_int == 422
    assert "Confirm your email address first" in refused.text

    (mail,) = mailbox("fresh@example.com")
    link = re.search(r"http://localhost(/auth/verify\?token=\S+)", mail)
    assert link is not None
    confirmed = app.get(link.group(1)).forms["deform"].submit("submit").maybe_follow()
    assert "Your email address is confirmed." in confirmed.text
    assert auth_log_in(app, "fresh@example.com", NEW_PASSWORD).status_int == 303


def unsafe_requests(app: PyramidionTestApp, token_id: int) -> list[tuple[str, str]]:
    """(method, path) for every auth route, from the route introspector."""
    introspector = app.app.registry.introspector
    requests = []
    for item in introspector.get_category("routes"):
        route = item["introspectable"]
        name = route["name"]
        if not name.startswith("auth."):
            continue
        path = "/" + route["pattern"].lstrip("/").replace("{id:\\d+}", str(token_id))
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            requests.append((method, path))
    return requests


def test_csrf_is_required_on_every_unsafe_route(
    make_pyramidion_app: Any,
    db_connection: Connection,
    auth_make_user: Any,
    auth_log_in: Any,
    snapshot: Any,
    dbsession: Any,
    tm: Any,
) -> None:
    app = PyramidionTestApp(
        make_pyramidion_app({"auth.allow_registration": "true"}, connection=db_connection)
    )
    user = auth_make_user()
    token, _secret = create_api_token(app.app.registry, dbsession, user, "kept")
    token_id = token.id
    tm.commit()
    auth_log_in(app, user.email)
    before = snapshot()
    requests = unsafe_requests(app, token_id)
    assert len(requests) >= 4 * 13

    refused = []
    for method, path in requests:
        for headers in ({}, {"X-CSRF-Token": "forged"}):
            response = app.request(path, method=method, headers=headers, expect_errors=True)
            assert response.status_int in (400, 404, 405), (method, path, response.status)
            if response.status_int == 400:
                refused.append((method, path))

    assert snapshot() == before
    assert ("POST", "/auth/login") in refused
    assert ("POST", "/auth/logout") in refused
    assert ("DELETE", f"/auth/api/tokens/{token_id}") in refused
    assert ("POST", f"/auth/tokens/{token_id}/revoke") in refused
    assert app.get("/auth/account").status_int == 200


def test_token_page_creates_lists_and_revokes(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_log_in: Any, dbsession: Any
) -> None:
    user = auth_make_user()
    auth_log_in(testapp, user.email)

    form = testapp.get("/auth/tokens").forms["deform"]
    form["name"] = "laptop"
    created = form.submit("submit")
    token = created.html.select_one('[data-auth="new-token"]').text
    assert token.startswith("pyr_")

    me = PyramidionTestApp(testapp.app).get(
        "/auth/api/me", headers={"Authorization": f"Bearer {token}"}
    )
    assert me.json["email"] == user.email
    listing = testapp.get("/auth/tokens")
    assert "laptop" in listing.text
    assert token not in listing.text

    revoke = next(f for f in listing.forms.values() if "/revoke" in f.action)
    revoke.submit().maybe_follow()
    PyramidionTestApp(testapp.app).get(
        "/auth/api/me", headers={"Authorization": f"Bearer {token}"}, status=401
    )
    assert dbsession.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).all() == []


@pytest.mark.parametrize("path", ["/auth/account", "/auth/password", "/auth/tokens"])
def test_account_pages_send_anonymous_browsers_to_login(
    testapp: PyramidionTestApp, path: str
) -> None:
    response = testapp.get(path, status=303)
    assert response.location == f"http://localhost/auth/login?came_from={path.replace('/', '%2F')}"


def test_unique_email_in_the_database(dbsession: Any, auth_make_user: Any) -> None:
    from sqlalchemy.exc import IntegrityError

    auth_make_user(email="once@example.com")
    dbsession.add(User(email="ONCE@example.com", display_name="twin"))
    with pytest.raises(IntegrityError):
        dbsession.flush()
