"""What an attacker would try first, against the app with every add-on."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from pyramidion.testing import MakeApp, PyramidionTestApp
from pyramidion_auth.accounts import create_user
from pyramidion_storage.models import StoredFile

from .conftest import PASSWORD


def _user(app: PyramidionTestApp, dbsession: Session, tm: Any, *, admin: bool = False) -> str:
    email = f"user-{uuid.uuid4().hex[:8]}@example.com"
    create_user(app.app.registry, dbsession, email=email, password=PASSWORD, admin=admin)
    tm.commit()
    return email


def _log_in(app: PyramidionTestApp, email: str, password: str = PASSWORD, **query: str) -> Any:
    form = app.get("/auth/login", params=query).forms["login"]
    form["email"] = email
    form["password"] = password
    return form.submit("submit", status="*")


def test_a_planted_session_id_is_replaced_at_login_and_dead_after_logout(
    testapp: PyramidionTestApp, dbsession: Session, tm: Any
) -> None:
    email = _user(testapp, dbsession, tm)
    testapp.set_cookie("session", "planted-by-the-attacker")

    response = _log_in(testapp, email)

    assert response.status_int == 303
    cookie = testapp.cookies["session"]
    assert cookie != "planted-by-the-attacker"
    set_cookie = response.headers["Set-Cookie"].lower()
    assert "httponly" in set_cookie
    assert "samesite=lax" in set_cookie
    assert testapp.get("/auth/account").status_int == 200
    testapp.post("/auth/logout", {"csrf_token": testapp.csrf_token()}, status=303)

    replay = PyramidionTestApp(testapp.app)
    replay.set_cookie("session", cookie)
    assert replay.get("/auth/account", expect_errors=True).status_int in (303, 401)


def test_guessing_passwords_locks_the_account_even_for_the_right_one(
    testapp: PyramidionTestApp, dbsession: Session, tm: Any, auth_clock: Any
) -> None:
    email = _user(testapp, dbsession, tm)
    statuses = [_log_in(testapp, email, f"guess {n}").status_int for n in range(20)]

    assert 429 in statuses
    assert set(statuses) <= {422, 429}
    refused = _log_in(testapp, email)
    assert refused.status_int == 429
    assert "Retry-After" in refused.headers
    # The session the login form's CSRF token lives in stays anonymous.
    testapp.get("/auth/account", status=303)


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/phish",
        "https://evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "http:evil.example",
        "/%2F%2Fevil.example",
        " //evil.example",
    ],
)
def test_login_never_redirects_off_site(
    testapp: PyramidionTestApp, dbsession: Session, tm: Any, target: str
) -> None:
    email = _user(testapp, dbsession, tm)

    response = _log_in(testapp, email, came_from=target)

    assert response.status_int == 303
    location = urlsplit(response.headers["Location"])
    assert location.netloc in ("", "localhost")
    assert "evil.example" not in location.netloc
    assert not location.path.startswith(("//", "/\\"))


def test_an_upload_over_the_limit_is_refused_and_stores_nothing(
    make_pyramidion_app: MakeApp,
    db_connection: Connection,
    dbsession: Session,
    tm: Any,
) -> None:
    app = PyramidionTestApp(
        make_pyramidion_app({"storage.max_upload_size": "1000"}, connection=db_connection)
    )
    _log_in(app, _user(app, dbsession, tm, admin=True))
    before = db_connection.execute(select(func.count()).select_from(StoredFile)).scalar_one()

    response = app.post(
        "/storage/files",
        upload_files=[("file", "big.bin", b"x" * 5000, "application/octet-stream")],
        headers=app.csrf_headers(),
        expect_errors=True,
    )

    assert response.status_int == 413
    after = db_connection.execute(select(func.count()).select_from(StoredFile)).scalar_one()
    assert after == before


def test_a_spoofed_host_is_refused_before_any_page_or_email_uses_it(
    make_pyramidion_app: MakeApp, db_connection: Connection, pyramidion_settings: dict[str, Any]
) -> None:
    from pathlib import Path

    app = PyramidionTestApp(
        make_pyramidion_app({"pyramidion.allowed_hosts": "localhost"}, connection=db_connection)
    )
    mail = Path(pyramidion_settings["auth.mail_directory"])
    before = set(mail.rglob("*")) if mail.exists() else set()

    for host in ("evil.example", "localhost.evil.example", "evil.example:80@localhost"):
        response = app.post(
            "/auth/reset",
            {"email": "victim@example.com", "csrf_token": app.csrf_token()},
            headers={"Host": host},
            expect_errors=True,
        )
        assert response.status_int == 400
        assert "evil.example" not in response.text
    forwarded = app.get("/auth/login", headers={"X-Forwarded-Host": "evil.example"})
    assert "evil.example" not in forwarded.text
    after = set(mail.rglob("*")) if mail.exists() else set()
    assert after == before
