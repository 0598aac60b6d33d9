"""Two clients change one note at the same moment over real HTTP: one wins, the
other gets 412, and nothing is lost."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from pyramidion.testing import own_database


@pytest.fixture(scope="module")
def pyramidion_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of this module's own: the live server commits for real."""
    with own_database(tmp_path_factory) as url:
        yield url


def call(url: str, method: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            headers = {k.lower(): v for k, v in response.headers.items()}
            return response.status, headers, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        headers = {k.lower(): v for k, v in exc.headers.items()}
        return exc.code, headers, json.loads(exc.read() or b"null")


def test_of_two_simultaneous_edits_with_one_etag_exactly_one_wins(
    pyramidion_live_server: Any,
) -> None:
    from pyramidion import get_database
    from pyramidion_auth.accounts import create_user
    from pyramidion_auth.tokens import create_api_token

    registry = pyramidion_live_server.app.registry
    with get_database(registry).session_factory() as session:
        user = create_user(
            registry,
            session,
            email=f"race-{uuid.uuid4().hex[:10]}@example.com",
            password="correct horse battery staple",
            display_name="Racer",
        )
        _row, token = create_api_token(registry, session, user, "race")
        session.commit()
    auth = {"Authorization": f"Bearer {token}"}
    # Several rounds: which of the two writers is refused, and where, varies.
    for _round in range(5):
        race(pyramidion_live_server.url + "/api/v1/notes", auth)


def race(base: str, auth: dict[str, str]) -> None:
    status, headers, _note = call(base, "POST", {"title": "Start"}, auth)
    assert status == 201
    url, etag = headers["location"], headers["etag"]

    start = threading.Barrier(2)
    results: dict[str, Any] = {}

    def edit(title: str) -> None:
        start.wait(timeout=30)
        results[title] = call(url, "PATCH", {"title": title}, {**auth, "If-Match": etag})

    threads = [threading.Thread(target=edit, args=(title,)) for title in ("Left", "Right")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    statuses = sorted(result[0] for result in results.values())
    assert statuses == [200, 412], results
    winner = next(title for title, result in results.items() if result[0] == 200)
    loser = next(result for result in results.values() if result[0] == 412)
    assert loser[2]["status"] == 412
    status, headers, stored = call(url, "GET", headers=auth)
    assert stored["title"] == winner
    assert headers["etag"] == loser[1]["etag"]  # the 412 names the winner's version
    call(url, "DELETE", headers=auth)
