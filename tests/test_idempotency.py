"""Idempotency-Key: a retried unsafe request gets the first response.

Each test runs on a new, migrated database (SQLite, and PostgreSQL when
``PYRAMIDION_TEST_DATABASE_URL`` is set), through WebTest or a live waitress
server.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
import webtest
from pyramid.router import Router

from pyramidion.app import get_database, make_app
from pyramidion.lifecycle import upgrade
from pyramidion.testing import LiveServer
from tests import idempotency_app
from tests.test_migrations import database_url

__all__ = ["database_url"]

AppMaker = Callable[..., Router]


@pytest.fixture
def make(database_url: str) -> Iterator[AppMaker]:
    apps: list[Router] = []

    def build(**settings: str) -> Router:
        app = make_app(
            {
                "sqlalchemy.url": database_url,
                "pyramidion.addons": "tests.idempotency_app",
                **settings,
            },
            environ={},
        )
        apps.append(app)
        engine = get_database(app.registry).engine
        with engine.begin() as connection:
            upgrade(app.registry, connection)
            key = "INTEGER" if connection.dialect.name == "sqlite" else "SERIAL"
            connection.execute(
                sa.text(
                    "CREATE TABLE IF NOT EXISTS idem_orders "
                    f"(id {key} PRIMARY KEY, item VARCHAR(50))"
                )
            )
        return app

    yield build
    for app in apps:
        get_database(app.registry).engine.dispose()


def orders(app: webtest.TestApp) -> int:
    return int(app.get("/count").json["orders"])


def post(app: webtest.TestApp, key: str | None, item: str = "tea", **kw: Any) -> Any:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return app.post_json("/orders", {"item": item}, headers=headers, **kw)


def test_a_retry_gets_the_first_response_and_does_no_work(make: AppMaker) -> None:
    app = webtest.TestApp(make())

    first = post(app, '"order-1"', status=201)
    again = post(app, '"order-1"', status=201)

    assert again.json == first.json == {"item": "tea", "orders": 1}
    assert again.headers["Location"] == first.headers["Location"] == "http://localhost/orders/1"
    assert again.headers["Content-Type"] == first.headers["Content-Type"]
    assert again.headers["Idempotency-Replayed"] == "true"
    assert "Set-Cookie" not in again.headers
    assert orders(app) == 1


def test_the_first_response_is_replayed_by_another_process(make: AppMaker) -> None:
    one = webtest.TestApp(make())
    two = webtest.TestApp(make())

    first = post(one, "shared-key", status=201)
    again = post(two, "shared-key", status=201)

    assert again.body == first.body
    assert orders(two) == 1


def test_other_keys_and_no_key_do_the_work(make: AppMaker) -> None:
    app = webtest.TestApp(make())

    post(app, "a", status=201)
    post(app, "b", status=201)
    post(app, None, status=201)
    post(app, None, status=201)

    assert orders(app) == 4


def test_the_same_key_with_another_body_is_422(make: AppMaker) -> None:
    app = webtest.TestApp(make())
    post(app, "k", item="tea", status=201)

    response = post(app, "k", item="coffee", status=422)

    assert response.content_type == "application/problem+json"
    assert "already used for a different request" in response.json["detail"]
    assert orders(app) == 1


def test_a_malformed_key_is_400(make: AppMaker) -> None:
    app = webtest.TestApp(make())

    response = post(app, "x" * 256, status=400)

    assert "1 to 255 printable characters" in response.json["detail"]
    assert orders(app) == 0


def test_a_rolled_back_request_leaves_no_key(make: AppMaker) -> None:
    app = webtest.TestApp(make())
    headers = {"Idempotency-Key": "r"}

    app.post_json("/refused", {}, headers=headers, status=400)
    app.post_json("/refused", {}, headers=headers, status=400)

    assert orders(app) == 0
    assert keys(app) == 0


def keys(app: webtest.TestApp) -> int:
    with get_database(app.app.registry).engine.connect() as connection:
        count = connection.execute(sa.text("SELECT count(*) FROM pyramidion_idempotency_keys"))
        return int(count.scalar_one())


def test_an_expired_key_does_the_work_again_and_expired_keys_go(make: AppMaker) -> None:
    app = webtest.TestApp(make())
    post(app, "old", status=201)
    post(app, "older", status=201)
    with get_database(app.app.registry).engine.begin() as connection:
        connection.execute(sa.text("UPDATE pyramidion_idempotency_keys SET expires_at = 0"))

    again = post(app, "old", status=201)

    assert again.json["orders"] == 3
    assert "Idempotency-Replayed" not in again.headers
    assert keys(app) == 1


def test_a_claim_left_by_a_dead_process_is_taken_over(make: AppMaker) -> None:
    app = webtest.TestApp(make(**{"pyramidion.idempotency_lock_timeout": "60"}))
    post(app, "dead", status=201)
    with get_database(app.app.registry).engine.begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE pyramidion_idempotency_keys SET status = NULL, claim = 'gone', "
                "claimed_at = claimed_at - 61"
            )
        )

    again = post(app, "dead", status=201)

    assert again.json["orders"] == 2


def test_a_large_body_is_replayed_without_it(make: AppMaker) -> None:
    app = webtest.TestApp(make(**{"pyramidion.idempotency_max_body_size": "10"}))
    post(app, "big", status=201)

    again = post(app, "big", status=201)

    assert again.body == b""
    assert again.headers["Location"] == "http://localhost/orders/1"
    assert orders(app) == 1


def test_turned_off_the_header_is_ignored(make: AppMaker) -> None:
    app = webtest.TestApp(make(**{"pyramidion.idempotency": "false"}))

    post(app, "k", status=201)
    post(app, "k", status=201)

    assert orders(app) == 2


def test_ptweens_shows_the_claim_above_and_the_record_below_pyramid_tm(make: AppMaker) -> None:
    from pyramid.interfaces import ITweens

    names = [name for name, _ in make().registry.getUtility(ITweens).implicit()]

    tm = names.index("pyramid_tm.tm_tween_factory")
    assert names[tm - 1] == "pyramidion.idempotency.claim_tween_factory"
    assert names[tm + 1] == "pyramidion.idempotency.record_tween_factory"


def _send(url: str, key: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url,
        data=json.dumps({"item": "tea"}).encode(),
        headers={"Idempotency-Key": key, "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_concurrent_duplicate_is_409_and_the_work_is_done_once(make: AppMaker) -> None:
    app = make()
    server = LiveServer(app).start()
    idempotency_app.entered.clear()
    idempotency_app.release.clear()
    results: list[tuple[int, dict[str, Any]]] = []
    try:
        first = threading.Thread(target=lambda: results.append(_send(server.url + "/slow", "c")))
        first.start()
        assert idempotency_app.entered.wait(timeout=30)

        duplicate = _send(server.url + "/slow", "c")
        idempotency_app.release.set()
        first.join(timeout=30)
        retry = _send(server.url + "/slow", "c")
    finally:
        idempotency_app.release.set()
        server.stop()

    assert duplicate[0] == 409
    assert "still being processed" in duplicate[1]["detail"]
    assert results == [(201, {"item": "tea", "orders": 1})]
    assert retry == (201, {"item": "tea", "orders": 1})
