"""The contracts of the services the auth add-on registers.

Each is a :class:`typing.Protocol` registered with pyramid_services
(``config.register_service(impl, Protocol)``) and found with
``request.find_service(Protocol)``, or :func:`pyramidion_auth.services.find`
where only the registry is at hand (commands, tests). The local
implementations (:mod:`.clock`, :mod:`.passwords`, :mod:`.throttle`,
:mod:`.mail`) are the ones tests use; an application replaces one by
registering its own implementation for the same protocol.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from pyramid.httpexceptions import HTTPServiceUnavailable

if TYPE_CHECKING:
    from pyramid_mailer.message import Message

__all__ = [
    "Clock",
    "Mailer",
    "PasswordHasher",
    "Refusal",
    "Tally",
    "Throttle",
    "ThrottleKey",
    "ThrottleUnavailable",
]


@runtime_checkable
class Clock(Protocol):
    """Where every time-based decision of the add-on reads the time."""

    def now(self) -> datetime.datetime:
        """The current time as naive UTC (the form the auth tables store)."""
        ...


@runtime_checkable
class PasswordHasher(Protocol):
    """Password hashing and the rules a new password must follow."""

    def too_long(self, password: str) -> bool:
        """Whether ``password`` is over the byte limit (checked before hashing)."""
        ...

    def problem(self, password: str, *, email: str | None = None) -> str | None:
        """Why ``password`` may not be used, in a sentence; None when it may."""
        ...

    def hash(self, password: str) -> str:
        """A hash to store for ``password``."""
        ...

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches ``password_hash``; as slow when there is none."""
        ...

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the stored hash was made with other parameters than today's."""
        ...


@dataclass(frozen=True)
class Refusal:
    """An attempt refused by the throttle; retry after ``retry_after`` seconds."""

    retry_after: int


@dataclass(frozen=True)
class ThrottleKey:
    """One counter an attempt is counted in, with its limits."""

    key: str
    #: Failures within the window after which attempts are refused.
    limit: int
    #: Failures allowed before each attempt must wait; None: no waiting.
    free: int | None = None
    #: The counter's own window; None: the throttle's window.
    window: datetime.timedelta | None = None


@dataclass(frozen=True)
class Tally:
    """The uses of one key in its current window, this one included."""

    used: int
    limit: int
    #: Seconds until the window ends and the count starts again (at least 1).
    reset_after: int

    @property
    def remaining(self) -> int:
        """Uses left in the window (0 once the limit is reached)."""
        return max(0, self.limit - self.used)

    @property
    def refused(self) -> bool:
        """Whether this use went over the limit."""
        return self.used > self.limit


class ThrottleUnavailable(HTTPServiceUnavailable):  # type: ignore[misc]
    """The throttle's store cannot be reached: the attempt can be neither
    counted nor checked, so it is refused (503) rather than let through."""

    def __init__(self) -> None:
        super().__init__(
            "Attempts cannot be counted at the moment, so none are accepted; "
            "try again in a minute."
        )


@runtime_checkable
class Throttle(Protocol):
    """Counts attempts (logins, registrations, resets) and requests (the
    API's rate limits), shared by every process."""

    def attempt(self, keys: list[ThrottleKey], now: datetime.datetime) -> Refusal | None:
        """Refuse the attempt, or count it as a failure in every key until
        :meth:`succeeded` takes it back."""
        ...

    def succeeded(self, forget: list[ThrottleKey], take_back: list[ThrottleKey]) -> None:
        """An attempt succeeded: clear the ``forget`` counters and take one
        failure back from ``take_back``."""
        ...

    def count(self, key: ThrottleKey, now: datetime.datetime) -> Refusal | None:
        """Count one use of ``key``; a refusal when that is over its limit."""
        ...

    def tally(self, key: ThrottleKey, now: datetime.datetime) -> Tally:
        """Count one use of ``key`` and say where it stands in its window
        (request rate limits, whose every answer reports it)."""
        ...

    def note(self, key: str, now: datetime.datetime) -> None:
        """Remember that ``key`` happened at ``now`` (a login from an address)."""
        ...

    def seen(self, key: str, since: datetime.datetime) -> bool:
        """Whether ``key`` was noted at or after ``since``."""
        ...


@runtime_checkable
class Mailer(Protocol):
    """Sends an email now (callers send after their transaction commits)."""

    def send_immediately(self, message: Message, fail_silently: bool = False) -> None: ...
