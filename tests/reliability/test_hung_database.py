"""PostgreSQL hangs (every process of it stopped with SIGSTOP): requests,
``/readyz`` and ``/healthz`` are answered within their bounds, and the app
recovers when the database does.

A stopped server accepts connections and packets and answers nothing, so
neither its own ``statement_timeout`` nor a refused connection ends a
wait: only the client's bounds do.
"""

from __future__ import annotations

import http.client
import importlib
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import select

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


def bounded_settings(cluster: Cluster) -> dict[str, str]:
    """Short bounds on every wait, on ``cluster``, and no retries."""
    return {
        "sqlalchemy.url": cluster.url("outage"),
        "pyramidion.db_connect_timeout": str(CONNECT_TIMEOUT),
        "pyramidion.db_pool_timeout": "1",
        "pyramidion.db_statement_timeout": str(STATEMENT_TIMEOUT),
        "pyramidion.db_lock_timeout": "1",
        "pyramidion.readiness_timeout": str(READINESS_TIMEOUT),
        "retry.attempts": "1",
    }


def test_a_hung_database_is_answered_within_the_bounds(
    cluster: Cluster, ledger: Ledger, serve: Any
) -> None:
    served = serve(bounded_settings(cluster), ["ledger"], [ledger.Entry.__table__])
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


FREEZER_VIEWS = """
from sqlalchemy import text

from pyramidion import PUBLIC

#: Called just before the request's transaction commits (the test's).
BEFORE_COMMIT = []


def write(request):
    request.dbsession.execute(
        text("INSERT INTO {entries} (text) VALUES (:text)"), {{"text": request.json_body["text"]}}
    )
    for hook in BEFORE_COMMIT:
        request.tm.get().addBeforeCommitHook(hook)
    request.response.status = 201
    return {{}}


def includeme(config):
    config.add_route("freezer.write", "/write")
    json_view = {{"renderer": "json", "permission": PUBLIC, "request_method": "POST"}}
    config.add_view(write, route_name="freezer.write", **json_view)
"""


def test_a_database_that_hangs_while_a_request_commits_is_cut_off(
    cluster: Cluster, ledger: Ledger, serve: Any, distributions: Any
) -> None:
    """The statements are over, the server stops answering as the request
    commits: the commit is bounded like a statement. Whether a commit cut
    off took effect is unknown (the server may have it in its buffer), so
    it is answered with a 503 and not run again."""
    pkg = distributions.addon(
        "freezer",
        includeme="config.include('{pkg}.views')",
        files={"views.py": FREEZER_VIEWS.format(entries=ledger.Entry.__tablename__)},
    )
    views = importlib.import_module(f"{pkg}.views")
    served = serve(bounded_settings(cluster), ["ledger", "freezer"], [ledger.Entry.__table__])
    client = served.client()
    run = uuid.uuid4().hex[:8]
    assert client.post_json("/freezer/write", {"text": f"{run}-before"}).status == 201

    views.BEFORE_COMMIT.append(cluster.pause)
    try:
        outcome = client.post_json("/freezer/write", {"text": f"{run}-committing"})
    finally:
        views.BEFORE_COMMIT.clear()
        cluster.resume()
    assert outcome.status == 503
    assert outcome.seconds < STATEMENT_TIMEOUT + 1 + 1.5
    assert b"Traceback" not in outcome.body

    with served.engine.connect() as connection:
        texts = connection.execute(select(ledger.Entry.text)).scalars().all()
    assert f"{run}-before" in texts
    assert texts.count(f"{run}-committing") <= 1
    # The app answers again once the database does.
    assert client.post_json("/freezer/write", {"text": f"{run}-after"}).status == 201
