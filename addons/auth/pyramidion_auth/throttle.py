"""Attempt counters in the database, shared by every process."""

from __future__ import annotations

import datetime
import math
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.orm import Session

from pyramidion import independent_session

from .interfaces import Refusal, Tally, ThrottleKey
from .models import ThrottleCounter
from .settings import AuthSettings

if TYPE_CHECKING:
    from pyramid.registry import Registry

__all__ = [
    "DatabaseThrottle",
    "WindowedCounts",
    "failed_logins_since",
    "increment",
    "increment_window",
    "refusal_for",
    "seconds",
]


def seconds(delta: datetime.timedelta) -> int:
    """Whole seconds to announce for ``delta`` (``Retry-After``), at least 1."""
    return max(1, math.ceil(delta.total_seconds()))


def refusal_for(
    key: ThrottleKey,
    window: datetime.timedelta,
    now: datetime.datetime,
    *,
    failures: int,
    window_started_at: datetime.datetime,
    last_failure_at: datetime.datetime,
) -> Refusal | None:
    """The rule every store applies to a counter: refused until its window
    ends once over ``key.limit``; past ``key.free`` failures, each further
    attempt waits twice as long as the one before (within the window)."""
    window_end = window_started_at + window
    if now >= window_end:
        return None
    if failures >= key.limit:
        return Refusal(seconds(window_end - now))
    if key.free is not None and failures >= key.free:
        delay = datetime.timedelta(seconds=2 ** min(failures - key.free, 30))
        ready_at = min(last_failure_at + delay, window_end)
        if now < ready_at:
            return Refusal(seconds(ready_at - now))
    return None


class WindowedCounts:
    """What the throttle's stores share: the default window and counting
    one use through the store's ``tally``."""

    window: datetime.timedelta

    def tally(self, key: ThrottleKey, now: datetime.datetime) -> Tally:
        raise NotImplementedError

    def count(self, key: ThrottleKey, now: datetime.datetime) -> Refusal | None:
        """Count one use of ``key``; a refusal (until its window ends) when
        that is over its limit."""
        tally = self.tally(key, now)
        return Refusal(tally.reset_after) if tally.refused else None

    def _window(self, key: ThrottleKey) -> datetime.timedelta:
        return key.window if key.window is not None else self.window


class DatabaseThrottle(WindowedCounts):
    """The add-on's :class:`~pyramidion_auth.interfaces.Throttle`: counters in
    ``auth_throttle``.

    Every counted attempt is written with
    :func:`pyramidion.db.independent_session`, so it is committed at once,
    whatever happens to the request, and every process sees it.
    """

    def __init__(self, settings: AuthSettings, registry: Registry) -> None:
        self.window = settings.throttle_window
        self.registry = registry

    def attempt(self, keys: list[ThrottleKey], now: datetime.datetime) -> Refusal | None:
        """Refuse the attempt, or count it as a failure until :meth:`succeeded`.

        Counting before the password is checked means that parallel guesses
        cannot all slip in under the limit.
        """
        with independent_session(self.registry) as session:
            rows = {
                row.key: row
                for row in session.scalars(
                    select(ThrottleCounter).where(ThrottleCounter.key.in_([k.key for k in keys]))
                )
            }
            refusals = [self._refusal(rows.get(k.key), k, now) for k in keys]
            longest = max((r.retry_after for r in refusals if r is not None), default=None)
            if longest is not None:
                return Refusal(longest)
            for key in keys:
                window = self._window(key)
                if increment(session, key.key, now, now - window) > key.limit:
                    return Refusal(seconds(window))
        return None

    def succeeded(self, forget: list[ThrottleKey], take_back: list[ThrottleKey]) -> None:
        """Clear the ``forget`` counters; take the provisional failure back
        from the ``take_back`` ones."""
        with independent_session(self.registry) as session:
            if forget:
                session.execute(
                    delete(ThrottleCounter).where(ThrottleCounter.key.in_([k.key for k in forget]))
                )
            for key in take_back:
                session.execute(
                    update(ThrottleCounter)
                    .where(ThrottleCounter.key == key.key, ThrottleCounter.failures > 0)
                    .values(failures=ThrottleCounter.failures - 1)
                )

    def tally(self, key: ThrottleKey, now: datetime.datetime) -> Tally:
        """Count one use of ``key``: one atomic statement, committed at once."""
        window = self._window(key)
        with independent_session(self.registry) as session:
            used, started = increment_window(session, key.key, now, now - window)
        return Tally(used, key.limit, seconds(started + window - now))

    def note(self, key: str, now: datetime.datetime) -> None:
        """Remember ``key`` at ``now`` (kept until ``purge`` finds it old)."""
        with independent_session(self.registry) as session:
            increment(session, key, now, now)

    def seen(self, key: str, since: datetime.datetime) -> bool:
        """Whether ``key`` was noted at or after ``since``."""
        with independent_session(self.registry) as session:
            row = session.get(ThrottleCounter, key)
            return row is not None and row.last_failure_at >= since

    def _refusal(
        self, row: ThrottleCounter | None, key: ThrottleKey, now: datetime.datetime
    ) -> Refusal | None:
        if row is None:
            return None
        return refusal_for(
            key,
            self._window(key),
            now,
            failures=row.failures,
            window_started_at=row.window_started_at,
            last_failure_at=row.last_failure_at,
        )


def increment(
    session: Session, key: str, now: datetime.datetime, cutoff: datetime.datetime
) -> int:
    """Add one failure to ``key`` atomically; returns the count in the window.

    One INSERT ... ON CONFLICT DO UPDATE, so concurrent processes never
    lose a count; a window that started before ``cutoff`` starts again.
    """
    return increment_window(session, key, now, cutoff)[0]


def increment_window(
    session: Session, key: str, now: datetime.datetime, cutoff: datetime.datetime
) -> tuple[int, datetime.datetime]:
    """:func:`increment`, returning the count and when its window started."""
    table = ThrottleCounter.__table__
    insert: Any
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    expired = table.c.window_started_at <= cutoff
    statement = (
        insert(table)
        .values(key=key, failures=1, window_started_at=now, last_failure_at=now)
        .on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "failures": case((expired, 1), else_=table.c.failures + 1),
                "window_started_at": case((expired, now), else_=table.c.window_started_at),
                "last_failure_at": now,
            },
        )
        .returning(table.c.failures, table.c.window_started_at)
    )
    failures, started = session.execute(statement).one()
    return int(failures), started


def failed_logins_since(dbsession: Session, since: datetime.datetime) -> int:
    """Failed logins counted by the throttle's client-address counters that
    saw a failure at or after ``since`` (naive UTC).

    Read from the counters login attempts are counted in, so it needs no
    log: a counter holds the failures of its current window
    (``auth.throttle_window``), and a successful login takes its own
    attempt back. Attempts the throttle refused are not counted.
    """
    total = dbsession.scalar(
        select(func.coalesce(func.sum(ThrottleCounter.failures), 0)).where(
            ThrottleCounter.key.startswith("address:"),
            ThrottleCounter.last_failure_at >= since,
        )
    )
    return int(total or 0)
