"""API tokens over JSON, CSRF exemption, password hashing and secrets in logs."""

from __future__ import annotations

import datetime
import logging
import re
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Connection, select

from pyramidion.testing import PyramidionTestApp
from pyramidion_auth.interfaces import PasswordHasher as PasswordHasherService
from pyramidion_auth.models import ApiToken, User
from pyramidion_auth.services import find
from pyramidion_auth.tokens import create_api_token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


@pytest.fixture
def token_user(testapp: PyramidionTestApp, auth_make_user: Any, dbsession: Any, tm: Any) -> Any:
    user = auth_make_user()
    _row, token = create_api_token(testapp.app.registry, dbsession, user, "ci")
    tm.commit()
    return user, token


def test_token_authenticates_without_csrf(
    testapp: PyramidionTestApp, token_user: Any, auth_log_in: Any
) -> None:
    user, token = token_user

    assert testapp.get("/auth/api/me", headers=bearer(token)).json["id"] == user.id
    listed = testapp.get("/auth/api/tokens", headers=bearer(token)).json["tokens"]
    assert [t["name"] for t in listed] == ["ci"]
    assert "token" not in listed[0]

    # An unsafe request with the token and no CSRF token is accepted...
    testapp.delete(f"/auth/api/tokens/{listed[0]['id']}", headers=bearer(token), status=204)
    # ...and the revoked token stops working at once.
    testapp.get("/auth/api/me", headers=bearer(token), status=401)


@pytest.mark.parametrize("header", ["Bearer pyr_wrong", "Bearer ", "Basic dXNlcjpwYXNz"])
def test_a_bad_token_gets_no_csrf_exemption(
    testapp: PyramidionTestApp,
    token_user: Any,
    auth_log_in: Any,
    header: str,
    snapshot: Any,
) -> None:
    user, _token = token_user
    auth_log_in(testapp, user.email)  # a logged-in browser session as well
    before = snapshot()

    # Logging out is public and unsafe: exempted, this request would end
    # the browser's session.
    logout = testapp.post("/auth/logout", headers={"Authorization": header}, expect_errors=True)
    create = testapp.post_json(
        "/auth/api/tokens",
        {"name": "forged"},
        headers={"Authorization": header, "Accept": "application/json"},
        expect_errors=True,
    )

    assert logout.status_int == 400
    assert create.status_int in (400, 401)
    assert snapshot() == before
    assert testapp.get("/auth/account").status_int == 200


def test_a_bearer_header_ignores_the_session_cookie(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_log_in: Any
) -> None:
    user = auth_make_user()
    auth_log_in(testapp, user.email)

    testapp.get("/auth/api/me", headers=bearer("pyr_wrong"), status=401)
    assert testapp.get("/auth/api/me", headers={"Accept": "application/json"}).json["id"] == (
        user.id
    )


def test_expired_token_is_refused(
    testapp: PyramidionTestApp, token_user: Any, dbsession: Any, tm: Any
) -> None:
    user, token = token_user
    row = dbsession.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
    row.expires_at = datetime.datetime(2000, 1, 1)
    tm.commit()

    testapp.get("/auth/api/me", headers=bearer(token), status=401)
    testapp.post("/auth/logout", headers=bearer(token), status=400)


def test_session_creates_tokens_over_json_and_a_token_cannot(
    testapp: PyramidionTestApp, token_user: Any, auth_log_in: Any, db_connection: Connection
) -> None:
    user, token = token_user
    auth_log_in(testapp, user.email)

    created = testapp.post_json(
        "/auth/api/tokens",
        {"name": "deploy", "days": 7},
        headers={**testapp.csrf_headers(), "Accept": "application/json"},
        status=201,
    ).json
    assert created["token"].startswith("pyr_")
    stored = db_connection.execute(
        select(ApiToken.token_hash).where(ApiToken.id == created["id"])
    ).scalar_one()
    assert created["token"] not in stored

    anonymous = PyramidionTestApp(testapp.app)
    anonymous.post_json("/auth/api/tokens", {"name": "more"}, headers=bearer(token), status=403)
    assert anonymous.get("/auth/api/me", headers=bearer(created["token"])).json["id"] == user.id


def test_a_user_cannot_revoke_someone_elses_token(
    testapp: PyramidionTestApp, token_user: Any, auth_make_user: Any, dbsession: Any, tm: Any
) -> None:
    _owner, token = token_user
    other = auth_make_user()
    _row, other_token = create_api_token(testapp.app.registry, dbsession, other, "theirs")
    tm.commit()
    victim_id = _row.id

    testapp.delete(f"/auth/api/tokens/{victim_id}", headers=bearer(token), status=404)
    assert testapp.get("/auth/api/me", headers=bearer(other_token)).json["id"] == other.id


def test_admin_group_gives_every_permission(
    testapp: PyramidionTestApp, auth_make_user: Any, dbsession: Any, tm: Any
) -> None:
    admin = auth_make_user(admin=True)
    _row, token = create_api_token(testapp.app.registry, dbsession, admin, "admin")
    tm.commit()

    assert testapp.get("/auth/api/me", headers=bearer(token)).json["groups"] == ["admin"]


def test_hashes_are_argon2id_with_the_configured_parameters(
    testapp: PyramidionTestApp, auth_make_user: Any
) -> None:
    user = auth_make_user()

    assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_defaults_are_at_or_above_owasp() -> None:
    from pyramidion_auth.settings import AuthSettings

    defaults = AuthSettings()
    assert defaults.argon2_memory_cost >= 19456
    assert defaults.argon2_time_cost >= 2
    assert defaults.argon2_parallelism >= 1


def test_login_rehashes_when_the_parameters_changed(
    testapp: PyramidionTestApp,
    auth_make_user: Any,
    auth_log_in: Any,
    password: str,
    db_connection: Connection,
) -> None:
    old = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=2).hash(password)
    user = auth_make_user(password_hash=old)

    assert auth_log_in(testapp, user.email).status_int == 303

    stored = db_connection.execute(
        select(User.password_hash).where(User.id == user.id)
    ).scalar_one()
    assert stored != old
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_over_long_password_is_refused_before_hashing(testapp: PyramidionTestApp) -> None:
    passwords = find(testapp.app.registry, PasswordHasherService)

    with pytest.raises(ValueError, match="byte limit"):
        passwords.hash("é" * 513)
    assert passwords.verify(passwords.hash("ok" * 10), "é" * 513) is False


def test_no_secret_reaches_a_log_line(
    testapp: PyramidionTestApp,
    auth_make_user: Any,
    auth_log_in: Any,
    mailbox: Any,
    password: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secrets: list[str] = [password, "wrong password, again", "another brand new one"]
    with caplog.at_level(logging.DEBUG):
        user = auth_make_user()
        secrets.append(user.password_hash)
        auth_log_in(testapp, user.email, "wrong password, again")
        auth_log_in(testapp, user.email)
        secrets.append(testapp.cookies["session"])
        form = testapp.get("/auth/tokens").forms["deform"]
        form["name"] = "logged?"
        token = form.submit("submit").html.select_one('[data-auth="new-token"]').text
        secrets.append(token)
        testapp.get("/auth/api/me", headers=bearer(token))
        testapp.get(f"/auth/api/me?access_token={token}", headers=bearer(token))
        form = PyramidionTestApp(testapp.app).get("/auth/reset").forms["deform"]
        form["email"] = user.email
        form.submit("submit")
        (mail,) = mailbox(user.email)
        reset = re.search(r"http://localhost(/auth/reset/confirm\?token=(\S+))", mail)
        assert reset is not None
        secrets.append(reset.group(2))
        reset_form = PyramidionTestApp(testapp.app).get(reset.group(1)).forms["deform"]
        reset_form["new_password"] = reset_form["new_password-confirm"] = "another brand new one"
        reset_form.submit("submit")

    assert any(r.name == "pyramidion.access" for r in caplog.records)
    assert any(r.name == "pyramidion_auth" for r in caplog.records)
    for record in caplog.records:
        line = record.getMessage() + " " + " ".join(str(v) for v in record.__dict__.values())
        for secret in secrets:
            assert secret not in line, (record.name, record.getMessage())


def test_a_read_token_reads_and_is_refused_every_change(
    testapp: PyramidionTestApp, auth_make_user: Any, dbsession: Any, tm: Any, snapshot: Any
) -> None:
    user = auth_make_user()
    row, token = create_api_token(testapp.app.registry, dbsession, user, "dash", scope="read")
    tm.commit()
    token_id = row.id
    client = PyramidionTestApp(testapp.app)
    before = snapshot()

    assert client.get("/auth/api/me", headers=bearer(token)).json["id"] == user.id
    (listed,) = client.get("/auth/api/tokens", headers=bearer(token)).json["tokens"]
    assert listed["scope"] == "read"
    revoke = client.delete(f"/auth/api/tokens/{token_id}", headers=bearer(token), status=403)
    # A public unsafe route is refused as well: the scope is the token's, not the view's.
    logout = client.post("/auth/logout", headers=bearer(token), status=403)

    for refused in (revoke, logout):
        assert refused.content_type == "application/problem+json"
        assert refused.json["scope"] == "read"
        assert "read scope" in refused.json["detail"]
    assert snapshot() == before
    assert client.get("/auth/api/me", headers=bearer(token)).json["id"] == user.id


def test_a_write_token_may_change_things(
    testapp: PyramidionTestApp, auth_make_user: Any, dbsession: Any, tm: Any
) -> None:
    user = auth_make_user()
    row, token = create_api_token(testapp.app.registry, dbsession, user, "ci", scope="write")
    tm.commit()

    testapp.delete(f"/auth/api/tokens/{row.id}", headers=bearer(token), status=204)


def test_a_session_chooses_the_scope_over_json(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_logged_in: Any
) -> None:
    auth_logged_in(testapp, auth_make_user())
    headers = {**testapp.csrf_headers(), "Accept": "application/json"}

    read = testapp.post_json(
        "/auth/api/tokens", {"name": "dash", "scope": "read"}, headers=headers, status=201
    ).json
    # Clients written before scopes existed keep getting write tokens.
    write = testapp.post_json("/auth/api/tokens", {"name": "ci"}, headers=headers, status=201).json
    wrong = testapp.post_json(
        "/auth/api/tokens", {"name": "x", "scope": "admin"}, headers=headers, status=422
    )

    assert (read["scope"], write["scope"]) == ("read", "write")
    assert "scope" in wrong.text
    client = PyramidionTestApp(testapp.app)
    client.delete(f"/auth/api/tokens/{write['id']}", headers=bearer(read["token"]), status=403)
    client.delete(f"/auth/api/tokens/{read['id']}", headers=bearer(write["token"]), status=204)


def test_the_tokens_page_offers_read_first(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_logged_in: Any
) -> None:
    auth_logged_in(testapp, auth_make_user())
    page = testapp.get("/auth/tokens")
    assert page.html.select_one('input[type="radio"][value="read"]').has_attr("checked")
    assert not page.html.select_one('input[type="radio"][value="write"]').has_attr("checked")
    form = page.forms["deform"]
    form["name"] = "dashboard"

    page = form.submit("submit")

    token = page.html.select_one('[data-auth="new-token"]').text
    assert "<td>read</td>" in page.text
    client = PyramidionTestApp(testapp.app)
    assert client.get("/auth/api/me", headers=bearer(token)).status_int == 200
    client.post("/auth/logout", headers=bearer(token), status=403)


def test_a_scope_outside_the_list_is_a_programming_error(
    testapp: PyramidionTestApp, auth_make_user: Any, dbsession: Any
) -> None:
    with pytest.raises(ValueError, match="read, write"):
        create_api_token(testapp.app.registry, dbsession, auth_make_user(), "x", scope="all")
