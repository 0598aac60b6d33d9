"""``pyramidion auth purge``: what can no longer be used is deleted, the rest kept."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pyramidion.cli import main
from pyramidion_auth.models import ApiToken, OneTimeToken, ServerSession, ThrottleCounter, utcnow
from pyramidion_auth.purge import purge_expired
from pyramidion_auth.services import auth_settings


def token_hash() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex


def test_purge_deletes_only_what_can_no_longer_be_used(
    testapp: Any, dbsession: Session, auth_make_user: Any
) -> None:
    registry = testapp.app.registry
    settings = auth_settings(registry)
    now = utcnow()
    user = auth_make_user()
    long_ago = now - settings.session_absolute_timeout - datetime.timedelta(hours=1)
    idle = now - settings.session_idle_timeout - datetime.timedelta(minutes=1)
    dbsession.add_all(
        [
            ServerSession(id=token_hash(), user_id=user.id, created_at=now, last_seen_at=now),
            ServerSession(id=token_hash(), user_id=user.id, created_at=now, last_seen_at=idle),
            ServerSession(id=token_hash(), user_id=None, created_at=long_ago, last_seen_at=now),
            OneTimeToken(
                user_id=user.id,
                purpose="reset",
                token_hash=token_hash(),
                expires_at=now + datetime.timedelta(hours=1),
            ),
            OneTimeToken(
                user_id=user.id,
                purpose="reset",
                token_hash=token_hash(),
                expires_at=now - datetime.timedelta(seconds=1),
            ),
            OneTimeToken(
                user_id=user.id,
                purpose="verify",
                token_hash=token_hash(),
                expires_at=now + datetime.timedelta(hours=1),
                used_at=now,
            ),
            ApiToken(
                user_id=user.id,
                name="live",
                token_hash=token_hash(),
                hint="pyr_live",
                expires_at=now + datetime.timedelta(days=1),
            ),
            ApiToken(
                user_id=user.id,
                name="dead",
                token_hash=token_hash(),
                hint="pyr_dead",
                expires_at=now - datetime.timedelta(days=1),
            ),
            ThrottleCounter(
                key=f"address:{uuid.uuid4().hex}",
                failures=3,
                window_started_at=now,
                last_failure_at=now,
            ),
            ThrottleCounter(
                key=f"address:{uuid.uuid4().hex}",
                failures=3,
                window_started_at=now - settings.throttle_ceiling_window * 2,
                last_failure_at=now - settings.throttle_ceiling_window * 2,
            ),
            # A login from this address is recent: it stays known.
            ThrottleCounter(
                key=f"known:{uuid.uuid4().hex}",
                failures=1,
                window_started_at=now - settings.throttle_ceiling_window * 2,
                last_failure_at=now - datetime.timedelta(days=1),
            ),
        ]
    )
    dbsession.flush()

    def count(model: Any) -> int:
        return int(dbsession.scalar(select(func.count()).select_from(model)) or 0)

    before = {m: count(m) for m in (ServerSession, OneTimeToken, ApiToken, ThrottleCounter)}
    removed = purge_expired(registry, dbsession)

    assert removed == {
        "sessions": 2,
        "one-time tokens": 2,
        "API tokens": 1,
        "throttle counters": 1,
    }
    assert count(ServerSession) == before[ServerSession] - 2
    assert count(OneTimeToken) == before[OneTimeToken] - 2
    assert count(ApiToken) == before[ApiToken] - 1
    assert count(ThrottleCounter) == before[ThrottleCounter] - 1
    names = dbsession.scalars(select(ApiToken.name).where(ApiToken.user_id == user.id)).all()
    assert names == ["live"]


def test_the_purge_command_reports_what_it_removed(
    ini: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["auth", "purge", ini]) == 0
    out = capsys.readouterr().out
    assert out.endswith(" removed\n")
    for name in ("sessions", "one-time tokens", "API tokens", "throttle counters"):
        assert name in out


def test_the_purge_command_works_with_counters_in_redis_even_when_it_is_down(
    ini: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as sock:  # a local port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("PYRAMIDION_AUTH__THROTTLE_URL", f"redis://127.0.0.1:{port}/0")

    assert main(["auth", "purge", ini]) == 0

    out = capsys.readouterr().out
    assert " removed\n" in out
    assert "Throttle counters in Redis (auth.throttle_url) expire there: nothing to purge." in out
