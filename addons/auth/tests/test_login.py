"""Logging in and out, sessions, redirects and the identity."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from pyramidion.testing import PyramidionTestApp

NAME_MARKER = 'data-user-menu="name"'


def cookie(app: PyramidionTestApp) -> str | None:
    value: str | None = app.cookies.get("session")
    return value


def replay(app: PyramidionTestApp, session_cookie: str | None) -> PyramidionTestApp:
    """A second client that presents only ``session_cookie``, as a thief would."""
    thief = PyramidionTestApp(app.app)
    if session_cookie:
        thief.set_cookie("session", session_cookie)
    return thief


def test_login_shows_the_user_and_logout_forgets_them(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_log_in: Any
) -> None:
    user = auth_make_user(name="Grace Hopper")

    response = auth_log_in(testapp, user.email, came_from="/auth/account")

    assert response.status_int == 303
    assert response.location == "http://localhost/auth/account"
    (set_cookie,) = [c for c in response.headers.getall("Set-Cookie") if c.startswith("session=")]
    assert "HttpOnly" in set_cookie
    assert "SameSite=Lax" in set_cookie
    page = response.follow()
    assert "Logged in as" in page.text
    assert "Grace Hopper" in page.text

    out = page.forms[0].submit().maybe_follow()
    assert "You have logged out." in out.text
    assert "Grace Hopper" not in out.text
    testapp.get("/auth/account", status=303)


def test_logout_needs_a_post(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_log_in: Any
) -> None:
    user = auth_make_user()
    auth_log_in(testapp, user.email)

    page = testapp.get("/auth/logout")

    assert page.forms[0].method.upper() == "POST"
    assert testapp.get("/auth/api/me", headers={"Accept": "application/json"}).json["id"] == (
        user.id
    )


def test_secure_cookie_outside_development(
    make_pyramidion_app: Any, db_connection: Any, auth_make_user: Any, auth_log_in: Any
) -> None:
    app = PyramidionTestApp(
        make_pyramidion_app({"pyramidion.environment": "production"}, connection=db_connection),
        extra_environ={"wsgi.url_scheme": "https", "HTTP_HOST": "localhost"},
    )
    user = auth_make_user()

    response = auth_log_in(app, user.email)

    assert response.status_int == 303
    assert "; secure" in response.headers["Set-Cookie"].lower()


def test_wrong_password_and_unknown_email_get_the_same_answer(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_log_in: Any
) -> None:
    user = auth_make_user(email="known@example.com")

    wrong = auth_log_in(testapp, user.email, "not the password at all")
    unknown = auth_log_in(testapp, "unknown@example.com", "not the password at all")
    # The form shows the email typed back; make the two submissions differ
    # only in whether the account exists.
    unknown_text = unknown.text.replace("unknown@example.com", "known@example.com")
    # Each form shown carries its own one-time token.
    wrong_text = wrong.text.replace(wrong.forms["login"]["idempotency_key"].value, "TOKEN")
    unknown_text = unknown_text.replace(unknown.forms["login"]["idempotency_key"].value, "TOKEN")

    assert wrong.status_int == unknown.status_int == 422
    assert "The email address or password is incorrect." in wrong.text
    assert wrong_text == unknown_text
    # The login form's CSRF token lives in an anonymous session; a failed
    # login leaves that session anonymous.
    testapp.get("/auth/account", status=303)


def test_email_is_case_insensitive(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_log_in: Any
) -> None:
    user = auth_make_user(email="Mixed.Case@Example.COM")

    assert user.email == "mixed.case@example.com"
    assert auth_log_in(testapp, " MIXED.case@example.com").status_int == 303


def test_inactive_user_cannot_log_in(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_log_in: Any
) -> None:
    user = auth_make_user(is_active=False)

    response = auth_log_in(testapp, user.email)

    assert response.status_int == 422
    assert "The email address or password is incorrect." in response.text


@pytest.mark.parametrize(
    "came_from",
    [
        "https://evil.example/",
        "http://localhost/auth/account",
        "//evil.example/path",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "evil.example",
    ],
)
def test_came_from_leading_off_site_is_ignored(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_log_in: Any, came_from: str
) -> None:
    user = auth_make_user()

    response = auth_log_in(testapp, user.email, came_from=came_from)

    assert response.status_int == 303
    assert response.location == "http://localhost/"


def test_session_cookie_from_before_login_is_anonymous_after_it(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_log_in: Any
) -> None:
    user = auth_make_user()
    # A first login and logout leaves an anonymous session with a flash
    # message: a real pre-login session that an attacker could have planted.
    auth_log_in(testapp, user.email)
    testapp.post("/auth/logout", {"csrf_token": testapp.csrf_token()})
    before_login = cookie(testapp)
    assert before_login

    auth_log_in(testapp, user.email)

    after_login = cookie(testapp)
    assert after_login
    assert after_login != before_login
    assert replay(testapp, after_login).get("/auth/account").status_int == 200
    assert replay(testapp, before_login).get("/auth/account", status=303)


def test_planted_session_id_is_not_adopted(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_log_in: Any
) -> None:
    user = auth_make_user()
    testapp.set_cookie("session", "chosen-by-the-attacker")

    auth_log_in(testapp, user.email)

    assert cookie(testapp) != "chosen-by-the-attacker"
    replay(testapp, "chosen-by-the-attacker").get("/auth/account", status=303)


def test_session_cookie_from_before_logout_is_anonymous_after_it(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_log_in: Any
) -> None:
    user = auth_make_user()
    auth_log_in(testapp, user.email)
    stolen = cookie(testapp)
    assert replay(testapp, stolen).get("/auth/account").status_int == 200

    testapp.post("/auth/logout", {"csrf_token": testapp.csrf_token()})

    replay(testapp, stolen).get("/auth/account", status=303)
    json = replay(testapp, stolen).get(
        "/auth/api/me", headers={"Accept": "application/json"}, status=401
    )
    assert json.headers["WWW-Authenticate"] == "Bearer"


def test_idle_and_absolute_timeouts(
    make_pyramidion_app: Any, db_connection: Any, auth_make_user: Any, auth_log_in: Any
) -> None:
    from pyramidion_auth.clock import ManualClock
    from pyramidion_auth.interfaces import Clock
    from pyramidion_auth.services import find

    def app_with(**settings: str) -> tuple[PyramidionTestApp, ManualClock]:
        app = make_pyramidion_app(settings, connection=db_connection)
        clock = find(app.registry, Clock)
        assert isinstance(clock, ManualClock)
        clock.freeze()
        return PyramidionTestApp(app), clock

    user = auth_make_user()
    idle, clock = app_with(**{"auth.session_idle_timeout": "60"})
    auth_log_in(idle, user.email)
    clock.advance(seconds=50)
    assert idle.get("/auth/account").status_int == 200
    clock.advance(seconds=50)
    assert idle.get("/auth/account").status_int == 200
    clock.advance(seconds=61)
    idle.get("/auth/account", status=303)

    absolute, clock = app_with(**{"auth.session_absolute_timeout": "60"})
    auth_log_in(absolute, user.email)
    clock.advance(seconds=50)
    assert absolute.get("/auth/account").status_int == 200
    clock.advance(seconds=11)
    absolute.get("/auth/account", status=303)


def test_access_log_carries_the_user_id(
    testapp: PyramidionTestApp,
    auth_make_user: Any,
    auth_log_in: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    user = auth_make_user()
    auth_log_in(testapp, user.email)

    with caplog.at_level(logging.INFO, logger="pyramidion.access"):
        testapp.get("/auth/account")
        PyramidionTestApp(testapp.app).get("/auth/login")

    lines = [r for r in caplog.records if r.name == "pyramidion.access"]
    assert [(r.__dict__["path"], r.__dict__["user_id"]) for r in lines] == [
        ("/auth/account", str(user.id)),
        ("/auth/login", None),
    ]


def test_user_is_loaded_once_and_only_when_asked(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_log_in: Any, queries: list[str]
) -> None:
    user = auth_make_user(name="Ada Lovelace", groups=["editors"])
    auth_log_in(testapp, user.email)

    queries.clear()
    testapp.get("/healthz")
    assert queries == []

    # A page in the layout whose view never reads request.user: one query
    # reads the session with what the user menu and the permissions need
    # of its user, and no other reads the user.
    page = testapp.get("/no-such-page", status=404)
    assert page.html.select_one(f"[{NAME_MARKER}]").text == "Ada Lovelace"
    assert len([q for q in queries if "auth_" in q]) == 1
    assert "JOIN auth_users" in queries[0]

    # The account page asks for request.user in the factory, the view, the
    # navigation and the user menu, and shows the user's groups: one query
    # more reads the user, with the groups, once.
    queries.clear()
    page = testapp.get("/auth/account")
    assert user.email in page.text
    assert "editors" in page.text
    reads = [q for q in queries if "auth_" in q]
    assert len(reads) == 2
    assert "FROM auth_users" in reads[1]


def test_anonymous_request_without_cookie_touches_no_session(
    testapp: PyramidionTestApp, queries: list[str]
) -> None:
    # A page in the layout, whose user menu asks who is logged in. (A page
    # with a form starts a session: the form's CSRF token is kept there.)
    testapp.get("/no-such-page", status=404)

    assert not [q for q in queries if "auth_" in q]
    assert "session" not in testapp.cookies


def test_auth_pages_offer_anonymous_visitors_a_plain_login_link(
    testapp: PyramidionTestApp,
) -> None:
    page = testapp.get("/auth/reset")

    login = page.html.select_one('[data-user-menu="login"]')
    assert login["href"] == "http://localhost/auth/login"
    assert page.html.select('[data-user-menu="logout"]') == []
    # No link to an account page they do not have.
    assert not page.html.select('a[href="http://localhost/auth/account"]')


def test_the_user_menu_names_the_user_and_links_their_account(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_log_in: Any
) -> None:
    user = auth_make_user(name="Mary Jackson")
    auth_log_in(testapp, user.email)

    page = testapp.get("/auth/password")

    name = page.html.select_one('[data-user-menu="name"]')
    assert name.text == "Mary Jackson"
    assert name["href"] == "http://localhost/auth/account"
    logout = page.html.select_one('[data-user-menu="logout"]').find_parent("form")
    assert logout["action"] == "http://localhost/auth/logout"
    assert page.html.select('[data-user-menu="login"]') == []


# -- the CSRF token belongs to the session ------------------------------------------


def refused_as_forged(app: PyramidionTestApp, token: str) -> bool:
    """Whether logging out with ``token`` is refused as a forged request."""
    response = app.post("/auth/logout", {"csrf_token": token}, status="*")
    return response.status_int == 400 and "This form has expired" in response.text


def test_a_csrf_token_from_before_login_is_refused_after_it(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_log_in: Any
) -> None:
    user = auth_make_user()
    # The login page starts an anonymous session whose token an attacker
    # could have learnt (or planted) before the user logs in.
    testapp.get("/auth/login")
    before_login = testapp.csrf_token()

    auth_log_in(testapp, user.email)

    assert refused_as_forged(testapp, before_login)
    assert testapp.get("/auth/account").status_int == 200
    after_login = testapp.csrf_token()
    assert after_login != before_login
    assert testapp.post("/auth/logout", {"csrf_token": after_login}).status_int == 303
    testapp.get("/auth/account", status=303)


def test_a_csrf_token_of_one_session_is_refused_in_another(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_logged_in: Any
) -> None:
    user = auth_make_user()
    victim = auth_logged_in(testapp, user.email)
    attacker = auth_logged_in(PyramidionTestApp(testapp.app), auth_make_user("Mallory").email)
    attackers_token = attacker.csrf_token()

    assert refused_as_forged(victim, attackers_token)
    # Nor does a CSRF cookie set by someone else (a sibling domain can set
    # cookies) make a token of the attacker's choosing valid.
    victim.set_cookie("csrf_token", "chosen-by-the-attacker")
    assert refused_as_forged(victim, "chosen-by-the-attacker")
    assert victim.get("/auth/account").status_int == 200


def test_a_password_change_and_a_logout_issue_a_new_csrf_token(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_logged_in: Any, password: str
) -> None:
    auth_logged_in(testapp, auth_make_user().email)
    before_change = testapp.csrf_token()
    form = testapp.get("/auth/password").forms["deform"]
    form["current_password"] = password
    form["new_password"] = form["new_password-confirm"] = "a fresh and long passphrase 7"
    form.submit("submit", status=303)

    assert refused_as_forged(testapp, before_change)
    before_logout = testapp.csrf_token()
    testapp.post("/auth/logout", {"csrf_token": before_logout}, status=303)
    testapp.get("/auth/login")
    assert testapp.csrf_token() != before_logout


def test_a_session_brings_every_group_of_its_user_in_order(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_logged_in: Any
) -> None:
    auth_logged_in(testapp, auth_make_user(groups=["editors", "authors"], admin=True))

    me = testapp.get("/auth/api/me", headers={"Accept": "application/json"}).json

    assert me["groups"] == ["admin", "authors", "editors"]


def test_the_user_menu_links_carry_the_requests_script_name(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_logged_in: Any
) -> None:
    auth_logged_in(testapp, auth_make_user(name="Grace Hopper"))
    testapp.get("/auth/account")

    page = testapp.get("/auth/account", extra_environ={"SCRIPT_NAME": "/app"})

    menu = page.html.select_one('[data-user-menu="user"]')
    assert menu.select_one('a[data-user-menu="name"]')["href"] == (
        "http://localhost/app/auth/account"
    )
    assert menu.select_one("form")["action"] == "http://localhost/app/auth/logout"
