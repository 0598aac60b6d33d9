"""PostgreSQL hangs (every process of it stopped with SIGSTOP): requests,
``/readyz`` and ``/healthz`` are answered within their bounds, and the app
recovers when the database does.

A stopped server accepts connections and packets and answers nothing, so
neither its own ``statement_timeout`` nor a refused connection ends a
wait: only the client's bounds do.
"""

from __future__ import annotations

import http.client
import time
import uuid
from typing import Any

import pytest

from .conftest import Cluster, Ledger

pytestmark = pytest.mark.slow

#: libpq waits at least 2 s for a connection, whatever the setting says.
CONNECT_TIMEOUT = 2
STATEMENT_TIMEOUT = 1
READINESS_TIMEOUT = 1


def _get(base_url: str, path: str) -> tuple[int, float, dict[str, str]]:
    host, port = base_url.removeprefix("http://").split(":")
    started = time.monotonic()
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request("GET", path, headers={"Accept": "application/json"})
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    headers = {k.lower(): v for k, v in response.getheaders()}
    return response.status, time.monotonic() - started, headers


def test_a_hung_database_is_answered_within_the_bounds(
    cluster: Cluster, ledger: Ledger, serve: Any
) -> None:
    served = serve(
        {
            "sqlalchemy.url": cluster.url("outage"),
            "pyramidion.db_connect_timeout": str(CONNECT_TIMEOUT),
            "pyramidion.db_pool_timeout": "1",
            "pyramidion.db_statement_timeout": str(STATEMENT_TIMEOUT),
            "pyramidion.db_lock_timeout": "1",
            "pyramidion.readiness_timeout": str(READINESS_TIMEOUT),
            "retry.attempts": "1",
        },
        ["ledger"],
        [ledger.Entry.__table__],
    )
    client = served.client()
    run = uuid.uuid4().hex[:8]
    assert client.post_json("/ledger/entries", {"text": f"{run}-before"}).status == 201

    cluster.pause()
    try:
        status, seconds, _ = _get(served.server.url, "/healthz")
        assert (status, seconds < 0.5) == (200, True)

        # A pooled connection: the statement is cut off client side.
        outcome = client.post_json("/ledger/entries", {"text": f"{run}-paused"})
        assert outcome.status == 503
        assert outcome.headers.get("retry-after")
        assert outcome.seconds < STATEMENT_TIMEOUT + 1 + 1.5
        assert b"Traceback" not in outcome.body

        # The pool was discarded with the dropped connection: a new one
        # waits for the connect timeout.
        outcome = client.post_json("/ledger/entries", {"text": f"{run}-paused-2"})
        assert outcome.status == 503
        assert outcome.seconds < CONNECT_TIMEOUT + 1.5

        # The database is every process's: reported, not failing, by default.
        status, seconds, _ = _get(served.server.url, "/readyz")
        assert status == 200
        assert seconds < max(READINESS_TIMEOUT, 2) + 1.5
        status, seconds, headers = _get(served.server.url, "/readyz?database=required")
        assert status == 503
        assert headers.get("retry-after")
        assert seconds < max(READINESS_TIMEOUT, 2) + 1.5

        status, seconds, _ = _get(served.server.url, "/healthz")
        assert (status, seconds < 0.5) == (200, True)
    finally:
        cluster.resume()

    deadline = time.monotonic() + 5
    statuses = []
    while time.monotonic() < deadline:
        outcome = client.post_json("/ledger/entries", {"text": f"{run}-after-{len(statuses)}"})
        statuses.append(outcome.status)
        if outcome.status == 201:
            break
    assert statuses[-1] == 201
