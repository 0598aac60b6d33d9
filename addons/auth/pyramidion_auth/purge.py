"""Deleting what can no longer be used: ``pyramidion auth purge``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import delete, or_
from sqlalchemy.orm import Session

from .models import ApiToken, OneTimeToken, ServerSession, ThrottleCounter
from .services import auth_settings, current_time

if TYPE_CHECKING:
    from pyramid.registry import Registry

__all__ = ["purge_expired"]


def purge_expired(registry: Registry, dbsession: Session) -> dict[str, int]:
    """Delete what can no longer be used, and say how many rows of each.

    Sessions past their idle or absolute timeout, one-time tokens that are
    used or expired, API tokens past their expiry, and throttle counters
    whose window has passed (they no longer slow or refuse anyone). Runs in
    the caller's transaction; times come from the add-on's clock.
    """
    settings = auth_settings(registry)
    now = current_time(registry)
    longest_window = max(settings.throttle_window, settings.throttle_ceiling_window)
    statements = {
        "sessions": delete(ServerSession).where(
            or_(
                ServerSession.last_seen_at < now - settings.session_idle_timeout,
                ServerSession.created_at < now - settings.session_absolute_timeout,
            )
        ),
        "one-time tokens": delete(OneTimeToken).where(
            or_(OneTimeToken.expires_at <= now, OneTimeToken.used_at.is_not(None))
        ),
        "API tokens": delete(ApiToken).where(ApiToken.expires_at <= now),
        "throttle counters": delete(ThrottleCounter).where(
            or_(
                ThrottleCounter.key.like("known:%")
                & (
                    ThrottleCounter.last_failure_at
                    < now - settings.throttle_known_address_lifetime
                ),
                ~ThrottleCounter.key.like("known:%")
                & (ThrottleCounter.window_started_at < now - longest_window),
            )
        ),
    }
    return {
        name: int(getattr(dbsession.execute(statement), "rowcount", 0) or 0)
        for name, statement in statements.items()
    }
