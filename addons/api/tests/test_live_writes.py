"""Writes through the API on a live server, where every request has
connections of its own (WebTest's fixtures share one, which hides what
follows).

On SQLite in WAL mode, a transaction that has read cannot write once
another connection has committed since its read. The rate limit commits
its count on a connection of its own; had the request's transaction
read anything before (who the token belongs to), every write would fail
with "database is locked" on each of pyramid_retry's attempts: a 503.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import transaction
import zope.sqlalchemy

from pyramidion import get_database
from pyramidion.testing import LiveServer, own_database
from pyramidion_auth.accounts import create_user
from pyramidion_auth.testing import AUTH_TEST_PASSWORD
from pyramidion_auth.tokens import create_api_token

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pyramidion_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of this module's own: the live server commits for real."""
    with own_database(tmp_path_factory) as url:
        yield url


@pytest.fixture(scope="session")
def pyramidion_extra_settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from pyramidion_auth.testing import AUTH_TEST_SETTINGS

    return {
        **AUTH_TEST_SETTINGS,
        "auth.mail_directory": str(tmp_path_factory.mktemp("mail")),
        "api.rate_limit": "1000",
    }


def new_token(live_server: LiveServer) -> str:
    registry = live_server.app.registry
    manager = transaction.TransactionManager(explicit=True)
    with manager:
        session = get_database(registry).session_factory()
        zope.sqlalchemy.register(session, transaction_manager=manager)
        email = f"writer-{uuid.uuid4().hex[:8]}@example.com"
        user = create_user(registry, session, email=email, password=AUTH_TEST_PASSWORD)
        return create_api_token(registry, session, user, "writes")[1]


def test_a_token_writes_under_the_rate_limit(pyramidion_live_server: LiveServer) -> None:
    token = new_token(pyramidion_live_server)
    name = f"tag-{uuid.uuid4().hex[:8]}"
    request = urllib.request.Request(
        f"{pyramidion_live_server.url}/api/v1/tags",
        data=json.dumps({"name": name}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )

    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201
        assert json.load(response)["name"] == name
        assert response.headers["RateLimit-Remaining"] == "999"
