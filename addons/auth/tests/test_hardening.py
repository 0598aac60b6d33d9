"""What people broke when they tried auth from outside (issue 14), each
tried again the way an attacker or a user would."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from sqlalchemy import Connection, func, select

from pyramidion.testing import PyramidionTestApp
from pyramidion_auth.accounts import set_groups
from pyramidion_auth.models import ApiToken, User
from pyramidion_auth.tokens import create_api_token

PROTECTED = "addons.auth.tests.protected_app"


@pytest.fixture
def app(make_pyramidion_app: Any, db_connection: Connection) -> PyramidionTestApp:
    """The auth app with pages only logged-in users, or admins, may see."""
    return PyramidionTestApp(
        make_pyramidion_app({"pyramidion.addons": f"auth {PROTECTED}"}, connection=db_connection)
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


# -- anonymous visitors are sent to the login page ---------------------------------


def test_anonymous_browser_is_sent_to_log_in_and_back(
    app: PyramidionTestApp, auth_make_user: Any, auth_log_in: Any
) -> None:
    refused = app.get("/members?page=2", status=303)

    login = urlsplit(refused.location)
    assert login.path == "/auth/login"
    assert login.query == "came_from=" + quote("/members?page=2", safe="")
    user = auth_make_user()
    back = auth_log_in(app, user, came_from="/members?page=2")
    assert back.location == "http://localhost/members?page=2"
    assert back.follow().text == "Members only"


def test_logged_in_user_without_the_permission_gets_403(
    app: PyramidionTestApp, auth_make_user: Any, auth_logged_in: Any
) -> None:
    auth_logged_in(app, auth_make_user())

    page = app.get("/admins", status=403)

    assert "Location" not in page.headers


@pytest.mark.parametrize(
    "headers",
    [{"Accept": "application/json"}, {"Authorization": "Bearer pyr_not-a-token"}],
)
def test_anonymous_api_client_gets_401_problem_json(
    app: PyramidionTestApp, headers: dict[str, str]
) -> None:
    response = app.get("/api/members", headers=headers, status=401)

    assert response.content_type == "application/problem+json"
    assert response.json["status"] == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_api_client_with_a_token_but_not_the_permission_gets_403(
    app: PyramidionTestApp, auth_make_user: Any, dbsession: Any, tm: Any
) -> None:
    user = auth_make_user()
    _row, token = create_api_token(app.app.registry, dbsession, user, "ci")
    tm.commit()

    assert app.get("/api/members", headers=bearer(token)).json == {"members": True}
    refused = app.get("/admins", headers=bearer(token), status=403)
    assert refused.content_type == "application/problem+json"


def test_a_tokens_permissions_follow_its_users_groups_from_one_request_to_the_next(
    app: PyramidionTestApp, auth_make_user: Any, dbsession: Any, tm: Any
) -> None:
    auth_make_user(admin=True)  # so that the token's user may leave admin again
    user = auth_make_user(groups=["editors"])
    _row, token = create_api_token(app.app.registry, dbsession, user, "ci")
    tm.commit()
    app.get("/admins", headers=bearer(token), status=403)

    set_groups(dbsession, dbsession.get(User, user.id), ["admin", "editors", "authors"])
    tm.commit()
    assert app.get("/admins", headers=bearer(token)).text == "Members only"

    set_groups(dbsession, dbsession.get(User, user.id), ["authors"])
    tm.commit()
    app.get("/admins", headers=bearer(token), status=403)


def test_a_sessions_permissions_follow_its_user_from_one_request_to_the_next(
    app: PyramidionTestApp, auth_make_user: Any, auth_logged_in: Any, dbsession: Any, tm: Any
) -> None:
    auth_make_user(admin=True)  # so that the user may leave admin again
    user = auth_make_user(groups=["editors"])
    auth_logged_in(app, user)
    app.get("/admins", status=403)

    set_groups(dbsession, dbsession.get(User, user.id), ["admin", "editors"])
    tm.commit()
    assert app.get("/admins").text == "Members only"

    set_groups(dbsession, dbsession.get(User, user.id), ["authors"])
    tm.commit()
    app.get("/admins", status=403)

    # Made inactive behind the application's back, sessions left in place:
    # the session no longer logs anyone in.
    dbsession.get(User, user.id).is_active = False
    tm.commit()
    app.get("/members", status=303)


# -- came_from ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("came_from", "location"),
    [
        ("/members?q=caf\u00e9", "/members?q=caf%C3%A9"),
        ("/m\u00fcnchen/\u65e5\u672c", "/m%C3%BCnchen/%E6%97%A5%E6%9C%AC"),
        ("/members?q=%C3%A9", "/members?q=%C3%A9"),
        ("/\u2028evil", "/%E2%80%A8evil"),
    ],
)
def test_non_ascii_came_from_logs_in_and_keeps_the_session(
    app: PyramidionTestApp, auth_make_user: Any, auth_log_in: Any, came_from: str, location: str
) -> None:
    user = auth_make_user()

    response = auth_log_in(app, user, came_from=came_from)

    assert response.status_int == 303
    assert response.location == "http://localhost" + location
    assert "session" in app.cookies
    assert app.get("/auth/api/me", headers={"Accept": "application/json"}).json["id"] == user.id


@pytest.mark.parametrize("came_from", ["/\x85next", "/a\x7fb", "//evil.example/\u00e9"])
def test_unusable_came_from_falls_back_to_the_default(
    app: PyramidionTestApp, auth_make_user: Any, auth_log_in: Any, came_from: str
) -> None:
    user = auth_make_user()

    response = auth_log_in(app, user, came_from=came_from)

    assert response.status_int == 303
    assert response.location == "http://localhost/"
    assert "session" in app.cookies


# -- API tokens never mint tokens or change credentials ------------------------------


def token_count(dbsession: Any, user: Any) -> int:
    # The user's own: tests that commit for real (commands, live servers)
    # leave tokens of other users behind.
    dbsession.expire_all()
    return int(
        dbsession.scalar(select(func.count(ApiToken.id)).where(ApiToken.user_id == user.id))
    )


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/auth/tokens", {"name": "successor", "days": "30"}),
        ("POST", "/auth/api/tokens", None),
        (
            "POST",
            "/auth/password",
            {
                "current_password": "correct horse battery staple",
                "new_password": "an attacker's passphrase",
                "new_password-confirm": "an attacker's passphrase",
            },
        ),
    ],
)
def test_an_api_token_never_gets_new_credentials(
    testapp: PyramidionTestApp,
    auth_make_user: Any,
    dbsession: Any,
    tm: Any,
    method: str,
    path: str,
    body: dict[str, str] | None,
) -> None:
    user = auth_make_user()
    _row, token = create_api_token(testapp.app.registry, dbsession, user, "leaked")
    tm.commit()
    hash_before = user.password_hash

    if body is None:
        response = testapp.post_json(
            path, {"name": "successor"}, headers=bearer(token), expect_errors=True
        )
    else:
        response = testapp.request(
            path, method=method, POST=body, headers=bearer(token), expect_errors=True
        )

    assert response.status_int == 403
    assert token_count(dbsession, user) == 1
    dbsession.refresh(user)
    assert user.password_hash == hash_before
    assert "pyr_" not in response.text


# -- caches ------------------------------------------------------------------------


def test_authenticated_pages_are_never_cached(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_logged_in: Any
) -> None:
    auth_logged_in(testapp, auth_make_user())

    for path in ("/auth/account", "/auth/tokens", "/auth/api/me"):
        response = testapp.get(path)
        assert "no-store" in response.headers["Cache-Control"], path

    form = testapp.get("/auth/tokens").forms["deform"]
    form["name"] = "ci"
    shown = form.submit("submit")
    assert "pyr_" in shown.text
    assert "no-store" in shown.headers["Cache-Control"]


# -- registration says nothing about which addresses have accounts -------------------


def test_registration_answers_the_same_for_a_taken_address(
    make_pyramidion_app: Any, db_connection: Connection, auth_make_user: Any, mailbox: Any
) -> None:
    app = PyramidionTestApp(
        make_pyramidion_app({"auth.allow_registration": "true"}, connection=db_connection)
    )
    taken = auth_make_user(email="taken@example.com")

    def register(address: str) -> Any:
        client = PyramidionTestApp(app.app)
        form = client.get("/auth/register").forms["deform"]
        form["email"] = address
        form["display_name"] = "Newcomer"
        form["password"] = form["password-confirm"] = "a brand new passphrase"
        response = form.submit("submit", status="*")
        return response, response.follow()

    new, new_page = register("fresh@example.com")
    old, old_page = register(taken.email)

    assert new.status_int == old.status_int == 303
    assert new.location == old.location
    assert new_page.html.select_one("main").text == old_page.html.select_one("main").text
    assert "already has one" in mailbox(taken.email)[0]
    assert "Your account is ready" in mailbox("fresh@example.com")[0]


# -- password hashing is bounded per process -------------------------------------------


def test_concurrent_hashing_is_bounded_by_the_setting(
    make_pyramidion_app: Any, db_connection: Connection
) -> None:
    from pyramidion_auth.interfaces import PasswordHasher
    from pyramidion_auth.services import find

    app = make_pyramidion_app({"auth.max_concurrent_hashes": "1"}, connection=db_connection)
    passwords = find(app.registry, PasswordHasher)
    started = threading.Barrier(4)
    inside = 0
    peak = 0
    lock = threading.Lock()
    real = passwords.hasher

    class Watched:
        """The real Argon2 hasher, counting the threads inside it at once."""

        def hash(self, password: str) -> str:
            nonlocal inside, peak
            with lock:
                inside += 1
                peak = max(peak, inside)
            try:
                return str(real.hash(password))
            finally:
                with lock:
                    inside -= 1

    passwords.hasher = Watched()

    def work() -> None:
        started.wait()
        passwords.hash("a brand new passphrase")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert peak == 1


# -- email addresses -----------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "victim@example.com,attacker@evil.example",
        "victim@example.com, attacker@evil.example",
        "victim@example.com\r\nBcc: attacker@evil.example",
        "victim@example.com\nattacker@evil.example",
        "Victim <victim@example.com>",
        "victim@example.com;attacker@evil.example",
        "@example.com",
        "victim@",
        "victim@@example.com",
        "victim@example",
    ],
)
def test_reset_and_registration_refuse_what_is_not_one_address(
    make_pyramidion_app: Any, db_connection: Connection, mail_directory: Any, address: str
) -> None:
    app = PyramidionTestApp(
        make_pyramidion_app({"auth.allow_registration": "true"}, connection=db_connection)
    )
    before = set(mail_directory.glob("*.eml"))

    form = app.get("/auth/reset").forms["deform"]
    form["email"] = address
    reset = form.submit("submit", status="*")
    form = app.get("/auth/register").forms["deform"]
    form["email"] = address
    form["display_name"] = "Mallory"
    form["password"] = form["password-confirm"] = "a brand new passphrase"
    register = form.submit("submit", status="*")

    assert reset.status_int == register.status_int == 422
    assert "Enter one email address" in reset.text
    assert "Enter one email address" in register.text
    assert set(mail_directory.glob("*.eml")) == before


@pytest.mark.parametrize("address", ["a,b@example.com", "x@example.com\nBcc: y@example.com"])
def test_the_users_api_refuses_what_is_not_one_address(
    testapp: PyramidionTestApp, dbsession: Any, address: str
) -> None:
    from pyramidion_auth.accounts import AccountError, create_user

    with pytest.raises(AccountError, match="is not an email address"):
        create_user(testapp.app.registry, dbsession, email=address, password=None)


# -- failed logins show in the metrics ----------------------------------------------


def login_failures(app: PyramidionTestApp) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    scrape = app.get("/metrics", extra_environ={"REMOTE_ADDR": "127.0.0.1"}).text
    for family in text_string_to_metric_families(scrape):
        for sample in family.samples:
            if sample.name == "pyramidion_login_failures_total":
                return float(sample.value)
    raise AssertionError("/metrics has no pyramidion_login_failures_total")


def test_each_failed_login_is_counted_in_the_metrics(
    make_pyramidion_app: Any, db_connection: Connection, auth_make_user: Any, auth_log_in: Any
) -> None:
    app = PyramidionTestApp(
        make_pyramidion_app({"pyramidion.metrics": "true"}, connection=db_connection)
    )
    user = auth_make_user()
    assert login_failures(app) == 0

    assert auth_log_in(app, user.email, "not the password").status_int == 422
    assert auth_log_in(app, "nobody@example.com", "not the password").status_int == 422
    assert auth_log_in(app, user.email).status_int == 303

    assert login_failures(app) == 2
