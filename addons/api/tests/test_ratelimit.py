"""Request rate limits under /api: headers on every answer, 429 with
Retry-After past the limit, one count per token, user or address, shared
by every process, and time from the app's clock (never slept through)."""

from __future__ import annotations

from typing import Any

import pytest

from pyramidion.testing import PyramidionTestApp
from pyramidion_auth.interfaces import Clock
from pyramidion_auth.services import find
from pyramidion_auth.tokens import create_api_token

LIMIT = 3


@pytest.fixture(scope="module")
def rate_limited_settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from pyramidion_auth.testing import AUTH_TEST_SETTINGS

    return {
        **AUTH_TEST_SETTINGS,
        "auth.mail_directory": str(tmp_path_factory.mktemp("mail")),
        "api.rate_limit": str(LIMIT),
        "api.rate_limit_window": "60s",
    }


@pytest.fixture
def pyramidion_extra_settings(
    rate_limited_settings: dict[str, Any], auth_throttle_store: dict[str, str]
) -> dict[str, Any]:
    """Every test runs twice: counts in the database, then in Redis (under
    a key prefix of the test's own, so the Redis app is built per test)."""
    return {**rate_limited_settings, **auth_throttle_store}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def headers_of(response: Any) -> tuple[str, str, str]:
    return (
        response.headers["RateLimit-Limit"],
        response.headers["RateLimit-Remaining"],
        response.headers["RateLimit-Reset"],
    )


def test_every_answer_says_where_the_client_stands_and_429_says_when_to_retry(
    testapp: PyramidionTestApp, auth_clock: Any
) -> None:
    answers = [testapp.get("/api/v1/ping", status=200) for _ in range(LIMIT)]
    auth_clock.advance(seconds=20)
    refused = testapp.get("/api/v1/ping", status=429)

    assert [headers_of(a) for a in answers] == [
        ("3", "2", "60"),
        ("3", "1", "60"),
        ("3", "0", "60"),
    ]
    assert refused.content_type == "application/problem+json"
    assert refused.json["status"] == 429
    assert "Try again in 40 seconds" in refused.json["detail"]
    assert refused.headers["Retry-After"] == "40"
    assert headers_of(refused) == ("3", "0", "40")

    auth_clock.advance(seconds=40)
    assert headers_of(testapp.get("/api/v1/ping", status=200)) == ("3", "2", "60")


def test_errors_carry_the_headers_and_other_paths_are_not_counted(
    testapp: PyramidionTestApp, auth_clock: Any
) -> None:
    missing = testapp.get("/api/v1/no-such-thing", status=404)
    unauthenticated = testapp.get("/api/v1/notes", status=401)
    for _ in range(LIMIT + 2):
        page = testapp.get("/auth/login", status=200)

    assert missing.headers["RateLimit-Remaining"] == "2"
    assert unauthenticated.headers["RateLimit-Remaining"] == "1"
    assert "RateLimit-Limit" not in page.headers
    assert testapp.get("/api/v1/ping", status=200).headers["RateLimit-Remaining"] == "0"


def test_each_token_user_and_address_has_its_own_count(
    testapp: PyramidionTestApp,
    auth_clock: Any,
    auth_make_user: Any,
    auth_logged_in: Any,
    dbsession: Any,
    tm: Any,
) -> None:
    user = auth_make_user()
    _row, first = create_api_token(testapp.app.registry, dbsession, user, "first")
    _row, second = create_api_token(testapp.app.registry, dbsession, user, "second")
    tm.commit()
    client = PyramidionTestApp(testapp.app)
    for _ in range(LIMIT):
        client.get("/api/v1/notes", headers=bearer(first), status=200)

    client.get("/api/v1/notes", headers=bearer(first), status=429)
    assert client.get("/api/v1/notes", headers=bearer(second)).headers[
        "RateLimit-Remaining"
    ] == str(LIMIT - 1)
    # Anonymous requests from the same address, and the user's browser
    # session, are counted apart from the tokens; a made-up token or
    # cookie buys no count of its own: it counts as its address.
    assert client.get("/api/v1/ping").headers["RateLimit-Remaining"] == str(LIMIT - 1)
    made_up = client.get("/api/v1/ping", headers=bearer("pyr_made-up"))
    assert made_up.headers["RateLimit-Remaining"] == str(LIMIT - 2)
    client.set_cookie("session", "made-up-session-id")
    assert client.get("/api/v1/ping").headers["RateLimit-Remaining"] == str(LIMIT - 3)
    auth_logged_in(testapp, user)
    assert testapp.get("/api/v1/notes").headers["RateLimit-Remaining"] == str(LIMIT - 1)


def test_two_processes_share_the_count(
    testapp: PyramidionTestApp,
    auth_clock: Any,
    make_pyramidion_app: Any,
    db_connection: Any,
    auth_make_user: Any,
    dbsession: Any,
    tm: Any,
) -> None:
    # Built from the same settings: the same store (the database or Redis).
    other = make_pyramidion_app(connection=db_connection)
    find(other.registry, Clock).freeze(auth_clock.now())
    user = auth_make_user()
    _row, token = create_api_token(testapp.app.registry, dbsession, user, "ci")
    tm.commit()
    here, there = PyramidionTestApp(testapp.app), PyramidionTestApp(other)

    here.get("/api/v1/notes", headers=bearer(token), status=200)
    there.get("/api/v1/notes", headers=bearer(token), status=200)
    here.get("/api/v1/notes", headers=bearer(token), status=200)
    refused = there.get("/api/v1/notes", headers=bearer(token), status=429)

    assert refused.headers["Retry-After"] == "60"


def test_a_script_over_real_http_is_told_when_to_retry(pyramidion_live_server: Any) -> None:
    """A plain HTTP client against a served app: its requests are counted
    (committed for real), the one past the limit is a 429 with Retry-After,
    and after that many seconds by the app's clock it may go on."""
    import json
    import urllib.error
    import urllib.request
    import uuid

    from pyramidion import get_database
    from pyramidion_auth.accounts import create_user

    registry = pyramidion_live_server.app.registry
    clock = find(registry, Clock)
    clock.freeze()
    try:
        with get_database(registry).session_factory() as session:
            user = create_user(
                registry,
                session,
                email=f"script-{uuid.uuid4().hex[:10]}@example.com",
                password=None,
                display_name="Script",
            )
            _row, token = create_api_token(registry, session, user, "script")
            session.commit()

        def get() -> tuple[int, dict[str, str], Any]:
            request = urllib.request.Request(
                pyramidion_live_server.url + "/api/v1/me", headers=bearer(token)
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    headers = {k.lower(): v for k, v in response.headers.items()}
                    return response.status, headers, json.loads(response.read())
            except urllib.error.HTTPError as exc:
                headers = {k.lower(): v for k, v in exc.headers.items()}
                return exc.code, headers, json.loads(exc.read())

        answers = [get() for _ in range(LIMIT + 1)]
        clock.advance(seconds=int(answers[-1][1]["retry-after"]))
        after = get()
    finally:
        clock.release()

    assert [status for status, _h, _b in answers] == [200] * LIMIT + [429]
    _status, headers, body = answers[-1]
    assert (headers["retry-after"], headers["ratelimit-remaining"]) == ("60", "0")
    assert body["status"] == 429
    assert after[0] == 200
    assert after[2]["display_name"] == "Script"


def test_a_down_redis_lets_api_requests_through_with_a_warning(
    make_pyramidion_app: Any, db_connection: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Fails open (see pyramidion_api.ratelimit): no count, no headers, a
    warning, where logins on the same throttle answer 503."""
    import logging
    import socket

    pytest.importorskip("redis")
    with socket.socket() as sock:  # a local port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = PyramidionTestApp(
        make_pyramidion_app(
            {"auth.throttle_url": f"redis://127.0.0.1:{port}/0"}, connection=db_connection
        )
    )

    with caplog.at_level(logging.WARNING, logger="pyramidion_api.ratelimit"):
        answers = [app.get("/api/v1/ping", status=200) for _ in range(LIMIT + 1)]

    assert all("RateLimit-Limit" not in answer.headers for answer in answers)
    assert "API rate limit not applied" in caplog.text
    assert app.get("/auth/login").status_int == 200  # pages without counting still work
