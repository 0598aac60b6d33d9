"""The Throttle protocol on both implementations, the database one and the
Redis one (``auth.throttle_url``), and what happens when Redis is down.

The Redis tests use the real server at 127.0.0.1:6379 with a key prefix of
their own (auth's ``auth_redis_throttle`` fixture); they are skipped when it
cannot be reached, except under CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import socket
import threading
from typing import Any

import pytest
from sqlalchemy import Connection

from pyramidion import SettingsError
from pyramidion.testing import PyramidionTestApp
from pyramidion_auth.interfaces import Throttle, ThrottleKey, ThrottleUnavailable
from pyramidion_auth.services import auth_settings, make_throttle

START = datetime.datetime(2030, 1, 1, 12, 0, 0)
SECOND = datetime.timedelta(seconds=1)


def throttle_with(registry: Any, settings: dict[str, Any]) -> Throttle:
    """A throttle made from the app's settings changed by ``settings``
    (parsed values, under their names with or without ``auth.``)."""
    changes = {key.removeprefix("auth."): value for key, value in settings.items()}
    return make_throttle(dataclasses.replace(auth_settings(registry), **changes), registry)


@pytest.fixture
def throttle(testapp: PyramidionTestApp, auth_throttle_store: dict[str, str]) -> Throttle:
    """The database throttle, then the Redis one."""
    return throttle_with(testapp.app.registry, auth_throttle_store)


def closed_port() -> int:
    """A local port nothing listens on: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_attempts_wait_then_are_refused_until_the_window_passes(throttle: Throttle) -> None:
    key = [ThrottleKey("account:clock-test", limit=4, free=2)]
    window = datetime.timedelta(minutes=15)

    assert throttle.attempt(key, START) is None
    assert throttle.attempt(key, START) is None
    refusal = throttle.attempt(key, START)
    assert refusal is not None
    assert refusal.retry_after == 1
    assert throttle.attempt(key, START + SECOND) is None
    assert throttle.attempt(key, START + 2 * SECOND) is not None
    assert throttle.attempt(key, START + 3 * SECOND) is None
    refusal = throttle.attempt(key, START + 60 * SECOND)
    assert refusal is not None
    assert refusal.retry_after == 15 * 60 - 60
    assert throttle.attempt(key, START + window) is None


def test_success_forgets_one_counter_and_takes_back_from_another(throttle: Throttle) -> None:
    pair = ThrottleKey("login:someone", limit=2)
    address = ThrottleKey("address:192.0.2.1", limit=2)
    assert throttle.attempt([pair, address], START) is None
    assert throttle.attempt([pair, address], START) is None

    throttle.succeeded(forget=[pair], take_back=[address])

    assert throttle.attempt([pair], START) is None  # forgotten: counts from 0
    assert throttle.attempt([address], START) is None  # 2 - 1 + 1 = 2
    assert throttle.attempt([address], START) is not None
    # Taking back never goes below zero.
    fresh = ThrottleKey("address:192.0.2.2", limit=1)
    throttle.succeeded(forget=[], take_back=[fresh, fresh])
    assert throttle.attempt([fresh], START) is None
    assert throttle.attempt([fresh], START) is not None


def test_tally_counts_in_a_fixed_window_of_the_callers_clock(throttle: Throttle) -> None:
    key = ThrottleKey("api:token:7", limit=2, window=60 * SECOND)

    first = throttle.tally(key, START)
    second = throttle.tally(key, START + 20 * SECOND)
    third = throttle.tally(key, START + 59 * SECOND)
    again = throttle.tally(key, START + 60 * SECOND)

    assert (first.used, first.remaining, first.reset_after, first.refused) == (1, 1, 60, False)
    assert (second.used, second.reset_after) == (2, 40)
    assert (third.used, third.reset_after, third.refused) == (3, 1, True)
    assert (again.used, again.reset_after) == (1, 60)
    assert throttle.count(key, START + 61 * SECOND) is None
    refusal = throttle.count(key, START + 62 * SECOND)
    assert refusal is not None
    assert refusal.retry_after == 58


def test_noted_keys_are_seen_since_when_they_were_noted(throttle: Throttle) -> None:
    key = "known:someone@192.0.2.1"
    assert not throttle.seen(key, START - SECOND)

    throttle.note(key, START)

    assert throttle.seen(key, START)
    assert not throttle.seen(key, START + SECOND)
    throttle.note(key, START + 10 * SECOND)
    assert throttle.seen(key, START + 10 * SECOND)


def test_concurrent_redis_clients_lose_no_count(
    testapp: PyramidionTestApp, auth_redis_throttle: dict[str, str]
) -> None:
    """Several clients, each with its own connections as separate processes
    would have, count the same key at once. (The database version shares
    the test's one connection, so it cannot be run from threads here.)"""
    key = ThrottleKey("api:address:198.51.100.1", limit=1000, window=3600 * SECOND)
    threads, per_thread = 4, 25
    used: list[int] = []
    lock = threading.Lock()

    def hammer() -> None:
        throttle = throttle_with(testapp.app.registry, auth_redis_throttle)
        for _ in range(per_thread):
            tally = throttle.tally(key, START)
            with lock:
                used.append(tally.used)

    workers = [threading.Thread(target=hammer) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    # Every use got its own number: no two read the same count and wrote it back.
    assert sorted(used) == list(range(1, threads * per_thread + 1))


def test_redis_keys_hold_no_address_or_email_in_clear(
    testapp: PyramidionTestApp, auth_redis_throttle: dict[str, str]
) -> None:
    import redis

    client = redis.Redis.from_url(auth_redis_throttle["auth.throttle_url"])
    redis_prefix = auth_redis_throttle["auth.throttle_key_prefix"]
    throttle = throttle_with(testapp.app.registry, auth_redis_throttle)
    throttle.note("known:owner@example.com@192.0.2.9", START)
    throttle.tally(ThrottleKey("address:192.0.2.9", limit=5), START)

    keys = sorted(k.decode() for k in client.scan_iter(match=redis_prefix + "*"))
    client.close()

    assert len(keys) == 2
    assert all("192.0.2.9" not in k and "example.com" not in k for k in keys)
    assert [k.removeprefix(redis_prefix).split(":")[0] for k in keys] == ["address", "known"]


def test_a_url_that_is_not_redis_is_refused_at_start_up(testapp: PyramidionTestApp) -> None:
    with pytest.raises(SettingsError, match=r"auth.throttle_url must start with redis://"):
        throttle_with(testapp.app.registry, {"throttle_url": "http://127.0.0.1:6379/0"})


def test_logins_are_refused_with_503_when_redis_is_down(
    make_pyramidion_app: Any,
    db_connection: Connection,
    auth_make_user: Any,
    auth_log_in: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pytest.importorskip("redis")
    app = PyramidionTestApp(
        make_pyramidion_app(
            {"auth.throttle_url": f"redis://127.0.0.1:{closed_port()}/0"},
            connection=db_connection,
        )
    )
    user = auth_make_user()

    with caplog.at_level(logging.ERROR, logger="pyramidion_auth.redis_throttle"):
        answer = auth_log_in(app, user.email)

    assert answer.status_int == 503
    app.get("/auth/account", status=303)  # not logged in
    assert "cannot be reached" in caplog.text


def test_a_down_redis_raises_throttle_unavailable_from_every_method(
    testapp: PyramidionTestApp,
) -> None:
    pytest.importorskip("redis")
    throttle = throttle_with(
        testapp.app.registry, {"throttle_url": f"redis://127.0.0.1:{closed_port()}/0"}
    )
    key = ThrottleKey("address:192.0.2.1", limit=3)
    calls = [
        lambda: throttle.attempt([key], START),
        lambda: throttle.succeeded([key], [key]),
        lambda: throttle.count(key, START),
        lambda: throttle.tally(key, START),
        lambda: throttle.note("known:x", START),
        lambda: throttle.seen("known:x", START),
    ]
    for call in calls:
        with pytest.raises(ThrottleUnavailable):
            call()


def test_a_redis_that_accepts_but_never_answers_is_given_up_on(
    testapp: PyramidionTestApp,
) -> None:
    """auth.throttle_timeout bounds every answer: a server that takes the
    connection and says nothing does not hold the request forever."""
    pytest.importorskip("redis")
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # connections are queued, never read or answered
        port = silent.getsockname()[1]
        throttle = throttle_with(
            testapp.app.registry,
            {"throttle_url": f"redis://127.0.0.1:{port}/0", "throttle_timeout": SECOND / 5},
        )

        with pytest.raises(ThrottleUnavailable):
            throttle.tally(ThrottleKey("api:address:192.0.2.1", limit=3), START)
