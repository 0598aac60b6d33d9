"""Throttling failed logins per account and per client address."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from pyramidion.testing import PyramidionTestApp
from pyramidion_auth.accounts import known_address_key, login_keys
from pyramidion_auth.clock import ManualClock
from pyramidion_auth.interfaces import Clock, Throttle, ThrottleKey
from pyramidion_auth.models import ThrottleCounter
from pyramidion_auth.services import auth_settings, find
from pyramidion_auth.throttle import failed_logins_since


def app_with(
    make_pyramidion_app: Any, db_connection: Connection, store: dict[str, str], **settings: str
) -> PyramidionTestApp:
    app = make_pyramidion_app(
        {**store, **{f"auth.{key}": value for key, value in settings.items()}},
        connection=db_connection,
    )
    return PyramidionTestApp(app)


@pytest.fixture
def throttled_app(
    make_pyramidion_app: Any, db_connection: Connection, auth_throttle_store: dict[str, str]
) -> Callable[..., PyramidionTestApp]:
    """``throttled_app(**auth_settings)``: an app whose throttle keeps its
    counters in the database, then (the test run again) in Redis."""

    def make(**settings: str) -> PyramidionTestApp:
        return app_with(make_pyramidion_app, db_connection, auth_throttle_store, **settings)

    return make


def frozen_clock(app: PyramidionTestApp) -> ManualClock:
    """The app's clock, stopped: time moves only when the test says so."""
    clock = find(app.app.registry, Clock)
    assert isinstance(clock, ManualClock)
    clock.freeze()
    return clock


def test_lockout_after_the_limit_and_recovery_after_the_window(
    throttled_app: Any, auth_make_user: Any, auth_log_in: Any
) -> None:
    app = throttled_app(
        throttle_window="60",
        throttle_free_attempts="3",
        throttle_account_limit="3",
    )
    clock = frozen_clock(app)
    user = auth_make_user()
    for _ in range(3):
        assert auth_log_in(app, user.email, "wrong password, again").status_int == 422

    refused = auth_log_in(app, user.email)  # even the right password

    assert refused.status_int == 429
    assert refused.headers["Retry-After"] == "60"
    assert "Too many failed logins" in refused.text
    # Not logged in: the session the login form's token lives in stays anonymous.
    app.get("/auth/account", status=303)

    clock.advance(seconds=59)
    assert auth_log_in(app, user.email).status_int == 429
    clock.advance(seconds=1)
    assert auth_log_in(app, user.email).status_int == 303


def test_unknown_email_is_throttled_like_a_known_one(throttled_app: Any, auth_log_in: Any) -> None:
    app = throttled_app(throttle_free_attempts="2", throttle_account_limit="2")
    for _ in range(2):
        assert auth_log_in(app, "nobody@example.com", "guess guess guess").status_int == 422

    refused = auth_log_in(app, "nobody@example.com", "guess guess guess")

    assert refused.status_int == 429
    assert int(refused.headers["Retry-After"]) > 800


def test_failures_beyond_the_free_ones_must_wait(
    throttled_app: Any, auth_make_user: Any, auth_log_in: Any
) -> None:
    app = throttled_app(throttle_free_attempts="2", throttle_account_limit="10")
    clock = frozen_clock(app)
    user = auth_make_user()
    for _ in range(2):
        assert auth_log_in(app, user.email, "wrong password, again").status_int == 422

    slowed = auth_log_in(app, user.email)

    assert slowed.status_int == 429
    assert slowed.headers["Retry-After"] == "1"
    clock.advance(seconds=1)
    assert auth_log_in(app, user.email).status_int == 303


def test_one_address_is_refused_across_accounts(throttled_app: Any, auth_log_in: Any) -> None:
    app = throttled_app(throttle_address_limit="3")
    for n in range(3):
        assert auth_log_in(app, f"victim{n}@example.com", "guess guess guess").status_int == 422

    refused = auth_log_in(app, "victim9@example.com", "guess guess guess")

    assert refused.status_int == 429
    other_address = PyramidionTestApp(
        app.app, extra_environ={"REMOTE_ADDR": "192.0.2.7", "HTTP_HOST": "localhost"}
    )
    assert auth_log_in(other_address, "victim9@example.com", "guess").status_int == 422


def test_forwarded_for_header_does_not_escape_the_address_limit(
    throttled_app: Any, auth_log_in: Any
) -> None:
    app = throttled_app(throttle_address_limit="2")
    for n in range(2):
        auth_log_in(
            app, f"v{n}@example.com", "guess", headers={"X-Forwarded-For": f"203.0.113.{n}"}
        )

    refused = auth_log_in(
        app, "v5@example.com", "guess", headers={"X-Forwarded-For": "203.0.113.9"}
    )

    assert refused.status_int == 429


def test_counts_are_committed_although_the_request_is_aborted(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_log_in: Any, db_connection: Connection
) -> None:
    user = auth_make_user()
    app = client_at(testapp, "192.0.2.200")
    settings = auth_settings(testapp.app.registry)
    keys = {
        key.key: key.key.split(":")[0]
        for key in login_keys(settings, user.email, "192.0.2.200", known_address=False)
    }
    keys[known_address_key(user.email, "192.0.2.200")] = "known"

    def counters() -> dict[str, int]:
        return {
            keys[row.key]: row.failures
            for row in db_connection.execute(select(ThrottleCounter)).all()
            if row.key in keys
        }

    # A failed login answers 422, so the request's transaction is aborted.
    assert auth_log_in(app, user.email, "wrong password, again").status_int == 422
    assert counters() == {"login": 1, "account": 1, "address": 1}

    # A success clears the (account, address) count, takes back the
    # address's and the account's, and makes the address known.
    assert auth_log_in(app, user.email).status_int == 303
    assert counters() == {"account": 1, "address": 1, "known": 1}


def test_throttle_decisions_follow_the_clock(testapp: PyramidionTestApp) -> None:
    """The throttle on its own, with times chosen by the test."""
    registry = testapp.app.registry
    settings = auth_settings(registry)
    throttle = find(registry, Throttle)
    key = [ThrottleKey("account:clock-test", limit=4, free=2)]
    start = datetime.datetime(2030, 1, 1, 12, 0, 0)
    second = datetime.timedelta(seconds=1)

    assert throttle.attempt(key, start) is None
    assert throttle.attempt(key, start) is None
    # Two failures counted: the third attempt must wait 2**0 = 1 second.
    refusal = throttle.attempt(key, start)
    assert refusal is not None
    assert refusal.retry_after == 1
    assert throttle.attempt(key, start + second) is None
    # Three: wait 2 seconds.
    assert throttle.attempt(key, start + 2 * second) is not None
    assert throttle.attempt(key, start + 3 * second) is None
    # Four, the limit: refused until the window has passed.
    refusal = throttle.attempt(key, start + 60 * second)
    assert refusal is not None
    assert refusal.retry_after == 15 * 60 - 60
    assert throttle.attempt(key, start + settings.throttle_window) is None


def client_at(app: PyramidionTestApp, address: str) -> PyramidionTestApp:
    """Another browser on the same app, at another client address."""
    return PyramidionTestApp(app.app, extra_environ={"REMOTE_ADDR": address})


def test_an_attacker_elsewhere_cannot_lock_the_owner_out(
    throttled_app: Any, auth_make_user: Any, auth_log_in: Any
) -> None:
    app = throttled_app(
        throttle_free_attempts="100",
        throttle_account_limit="3",
        throttle_account_ceiling="5",
    )
    frozen_clock(app)
    user = auth_make_user()
    owner = client_at(app, "198.51.100.7")
    assert auth_log_in(owner, user.email).status_int == 303  # their usual address

    # Attackers at many addresses: each pair is refused at its limit, and
    # the account's ceiling stops everyone who never logged in.
    answers = [
        auth_log_in(client_at(app, f"203.0.113.{n % 4}"), user.email, "guess guess").status_int
        for n in range(12)
    ]
    assert answers[:5] == [422] * 5
    assert set(answers[5:]) == {429}
    assert auth_log_in(client_at(app, "203.0.113.99"), user.email).status_int == 429

    # The owner, from their usual address, still gets in.
    assert auth_log_in(client_at(app, "198.51.100.7"), user.email).status_int == 303


def test_the_same_address_is_refused_at_the_pair_limit(
    throttled_app: Any, auth_make_user: Any, auth_log_in: Any
) -> None:
    app = throttled_app(
        throttle_free_attempts="100",
        throttle_account_limit="3",
    )
    frozen_clock(app)
    user = auth_make_user()
    assert auth_log_in(app, user.email).status_int == 303
    guesser = client_at(app, "127.0.0.1")  # the owner's address, another browser
    for _ in range(3):
        assert auth_log_in(guesser, user.email, "guess guess").status_int == 422

    assert auth_log_in(guesser, user.email, "guess guess").status_int == 429


def test_registrations_and_resets_are_throttled_per_address(throttled_app: Any) -> None:
    app = throttled_app(allow_registration="true", throttle_signup_limit="3")
    frozen_clock(app)

    def register(client: PyramidionTestApp, n: int) -> int:
        form = client.get("/auth/register").forms["deform"]
        form["email"] = f"new{n}@example.com"
        form["display_name"] = "Newcomer"
        form["password"] = form["password-confirm"] = "a brand new passphrase"
        return int(form.submit("submit", status="*").status_int)

    def reset(client: PyramidionTestApp, n: int) -> int:
        form = client.get("/auth/reset").forms["deform"]
        form["email"] = f"someone{n}@example.com"
        return int(form.submit("submit", status="*").status_int)

    answers = [register(app, 1), reset(app, 2), register(app, 3), register(app, 4), reset(app, 5)]

    assert answers == [303, 303, 303, 429, 429]
    other = client_at(app, "192.0.2.44")
    assert register(other, 6) == 303


def test_failed_logins_since_counts_the_failures_of_the_last_hour(
    make_pyramidion_app: Any, db_connection: Connection, auth_make_user: Any, auth_log_in: Any
) -> None:
    app = app_with(make_pyramidion_app, db_connection, {}, throttle_free_attempts="10")
    clock = frozen_clock(app)
    user = auth_make_user()
    start = clock.now()
    for _ in range(2):
        assert auth_log_in(app, user.email, "wrong password, again").status_int == 422
    assert auth_log_in(app, user.email).status_int == 303
    session = Session(bind=db_connection)

    assert failed_logins_since(session, start) == 2
    assert failed_logins_since(session, start + datetime.timedelta(seconds=1)) == 0
