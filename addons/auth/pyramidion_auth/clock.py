"""The add-on's clocks: the system's, and one a test or a replay sets."""

from __future__ import annotations

import datetime

from .models import utcnow

__all__ = ["ManualClock", "SystemClock"]


class SystemClock:
    """The real time, as naive UTC."""

    def now(self) -> datetime.datetime:
        return utcnow()


class ManualClock:
    """A clock that follows the real time until it is frozen, then moves
    only when told to.

    Tests freeze it (``clock.freeze()``), move it (``clock.advance(seconds=90)``)
    and let it go (``clock.release()``), so that decisions that depend on time
    never depend on how busy the machine is. Choose it with
    ``auth.clock = pyramidion_auth.clock:ManualClock``.
    """

    def __init__(self) -> None:
        self.frozen_at: datetime.datetime | None = None

    def now(self) -> datetime.datetime:
        return self.frozen_at if self.frozen_at is not None else utcnow()

    def freeze(self, at: datetime.datetime | None = None) -> datetime.datetime:
        """Stop the clock at ``at`` (naive UTC; default: now) and return that time."""
        self.frozen_at = at if at is not None else utcnow()
        return self.frozen_at

    def advance(self, delta: datetime.timedelta | None = None, **kw: float) -> datetime.datetime:
        """Move a frozen clock on by ``delta`` (or ``timedelta(**kw)``)."""
        step = delta if delta is not None else datetime.timedelta(**kw)
        self.frozen_at = (self.frozen_at or utcnow()) + step
        return self.frozen_at

    def release(self) -> None:
        """Follow the real time again."""
        self.frozen_at = None
