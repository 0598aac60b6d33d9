"""PostgreSQL stops in the middle of a load and starts again.

The test runs its own PostgreSQL cluster (initdb into a temporary
directory, its own port), so stopping it disturbs no other test run.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from .conftest import Cluster, Ledger, Outcome, run_clients

pytestmark = pytest.mark.slow

CONNECT_TIMEOUT = 1
POOL_TIMEOUT = 2


def test_an_outage_is_answered_quickly_and_loses_nothing_committed(
    cluster: Cluster, ledger: Ledger, serve: Any
) -> None:
    served = serve(
        {
            "sqlalchemy.url": cluster.url("outage"),
            "pyramidion.db_connect_timeout": str(CONNECT_TIMEOUT),
            "pyramidion.db_pool_timeout": str(POOL_TIMEOUT),
        },
        ["ledger"],
        [ledger.Entry.__table__],
    )
    run = uuid.uuid4().hex[:8]
    stop = threading.Event()
    marks: dict[str, float] = {}

    def work(index: int) -> Iterator[Outcome]:
        client = served.client()
        n = 0
        while not stop.is_set():
            n += 1
            yield client.post_json("/ledger/entries", {"text": f"{run}-{index}-{n}"})
            time.sleep(0.01)

    def outage() -> None:
        time.sleep(1.0)
        marks["stopping"] = time.monotonic()
        cluster.stop()
        # Stopping takes a while on a busy machine; the outage begins when
        # pg_ctl says the server is down, not when it is asked to stop.
        marks["down"] = time.monotonic()
        time.sleep(2.0)
        # The server may accept connections before pg_ctl says it is up:
        # the outage ends when it is asked to start.
        marks["starting"] = time.monotonic()
        cluster.start()
        marks["up"] = time.monotonic()
        time.sleep(3.5)
        stop.set()

    controller = threading.Thread(target=outage)
    controller.start()
    outcomes = run_clients(4, work)
    controller.join()

    before = [o for o in outcomes if o.started + o.seconds < marks["stopping"]]
    in_outage = [o for o in outcomes if marks["down"] + 0.2 < o.started < marks["starting"] - 0.2]
    during = [o for o in in_outage if o.started + o.seconds < marks["starting"]]
    after = [o for o in outcomes if o.started > marks["up"] + 2.0]
    assert before
    assert during
    assert after
    assert {o.status for o in before} == {201}
    # During the outage: a quick 503 that says when to come back.
    assert {o.status for o in during} == {503}
    assert all(o.headers.get("retry-after") for o in during)
    assert max(o.seconds for o in in_outage) < CONNECT_TIMEOUT + POOL_TIMEOUT + 2
    assert all(b"Traceback" not in o.body for o in outcomes)
    # Requests that begin 2 s after the database is back all succeed.
    assert {o.status for o in after} == {201}
    assert [o.status for o in outcomes if o.status >= 500 and o.status != 503] == []
    # Every row a client was told was created is there.
    created = {o.payload["text"] for o in outcomes if o.status == 201}
    with served.engine.connect() as connection:
        stored = set(connection.execute(select(ledger.Entry.text)).scalars())
    assert created <= stored
