"""Attempt counters in Redis, shared by every process without a database write.

Chosen by ``auth.throttle_url = redis://...``; needs ``pyramidion-auth[redis]``.
Each counter is a Redis hash holding what a row of ``auth_throttle`` holds
(failures, when its window started, the last failure), with times from the
caller (the add-on's clock), so windows follow that clock exactly as the
database version's do; Redis expiry only removes counters whose window has
surely passed. Every change is one Lua script, run atomically by Redis, so
concurrent processes never lose a count.

Keys are ``<auth.throttle_key_prefix><kind>:<sha256 of the rest>``: no email
address or client address is stored in clear.

When Redis cannot be reached (or answers late, past ``auth.throttle_timeout``)
every method raises :class:`~pyramidion_auth.interfaces.ThrottleUnavailable`
(a 503) after logging an error: logins, registrations and resets are
refused rather than let through unthrottled. The API's rate limit catches
it and lets the request through (see :mod:`pyramidion_api.ratelimit`).
"""

from __future__ import annotations

import datetime
import hashlib
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from .interfaces import Refusal, Tally, ThrottleKey, ThrottleUnavailable
from .settings import AuthSettings
from .throttle import WindowedCounts, refusal_for, seconds

__all__ = ["RedisThrottle"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_EPOCH = datetime.datetime(1970, 1, 1)

# KEYS[1]: the counter; ARGV: now, cutoff (microseconds), expiry (seconds).
# A window that started at or before the cutoff starts again at now, as
# the database version's INSERT ... ON CONFLICT DO UPDATE does.
_INCREMENT = """
local started = tonumber(redis.call('HGET', KEYS[1], 's'))
local failures
if started == nil or started <= tonumber(ARGV[2]) then
  failures = 1
  started = ARGV[1]
  redis.call('HSET', KEYS[1], 'f', 1, 's', ARGV[1], 'l', ARGV[1])
else
  failures = redis.call('HINCRBY', KEYS[1], 'f', 1)
  started = redis.call('HGET', KEYS[1], 's')
  redis.call('HSET', KEYS[1], 'l', ARGV[1])
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {failures, tostring(started)}
"""

# KEYS: counters to take one failure back from (never below zero).
_TAKE_BACK = """
for _, key in ipairs(KEYS) do
  local failures = tonumber(redis.call('HGET', key, 'f'))
  if failures ~= nil and failures > 0 then
    redis.call('HINCRBY', key, 'f', -1)
  end
end
return 0
"""


def _micros(moment: datetime.datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _moment(micros: int | bytes | str) -> datetime.datetime:
    return _EPOCH + datetime.timedelta(microseconds=int(micros))


class RedisThrottle(WindowedCounts):
    """The add-on's :class:`~pyramidion_auth.interfaces.Throttle` on Redis
    (see the module)."""

    def __init__(self, settings: AuthSettings, client: Any | None = None) -> None:
        import redis

        self.window = settings.throttle_window
        self.known_lifetime = settings.throttle_known_address_lifetime
        self.prefix = settings.throttle_key_prefix
        self.url = settings.throttle_url
        timeout = settings.throttle_timeout.total_seconds()
        self.client = client or redis.Redis.from_url(
            settings.throttle_url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._increment = self.client.register_script(_INCREMENT)
        self._take_back = self.client.register_script(_TAKE_BACK)

    # -- the Throttle protocol ---------------------------------------------

    def attempt(self, keys: list[ThrottleKey], now: datetime.datetime) -> Refusal | None:
        """Refuse the attempt, or count it as a failure until :meth:`succeeded`."""

        def run() -> Refusal | None:
            pipe = self.client.pipeline(transaction=False)
            for key in keys:
                pipe.hgetall(self.redis_key(key.key))
            rows = pipe.execute()
            refusals = [self._refusal(row, k, now) for row, k in zip(rows, keys, strict=True)]
            longest = max((r.retry_after for r in refusals if r is not None), default=None)
            if longest is not None:
                return Refusal(longest)
            for key in keys:
                window = self._window(key)
                if self._add(key.key, now, now - window, window)[0] > key.limit:
                    return Refusal(seconds(window))
            return None

        return self._guarded(run)

    def succeeded(self, forget: list[ThrottleKey], take_back: list[ThrottleKey]) -> None:
        """Clear the ``forget`` counters; take the provisional failure back
        from the ``take_back`` ones."""

        def run() -> None:
            if forget:
                self.client.delete(*[self.redis_key(k.key) for k in forget])
            if take_back:
                self._take_back(keys=[self.redis_key(k.key) for k in take_back])

        self._guarded(run)

    def tally(self, key: ThrottleKey, now: datetime.datetime) -> Tally:
        """Count one use of ``key``: one script, one round trip."""
        window = self._window(key)
        used, started = self._guarded(lambda: self._add(key.key, now, now - window, window))
        return Tally(used, key.limit, seconds(started + window - now))

    def note(self, key: str, now: datetime.datetime) -> None:
        """Remember ``key`` at ``now``, for ``auth.throttle_known_address_lifetime``."""
        self._guarded(lambda: self._add(key, now, now, self.known_lifetime))

    def seen(self, key: str, since: datetime.datetime) -> bool:
        """Whether ``key`` was noted at or after ``since``."""
        last = self._guarded(lambda: self.client.hget(self.redis_key(key), "l"))
        return last is not None and _moment(last) >= since

    # -- the rest ------------------------------------------------------------

    def redis_key(self, key: str) -> str:
        """The Redis key of throttle key ``key``: its kind, then a digest."""
        kind, _, rest = key.partition(":")
        digest = hashlib.sha256(rest.encode("utf-8", "surrogatepass")).hexdigest()
        return f"{self.prefix}{kind}:{digest}"

    def _add(
        self,
        key: str,
        now: datetime.datetime,
        cutoff: datetime.datetime,
        lifetime: datetime.timedelta,
    ) -> tuple[int, datetime.datetime]:
        # Kept a little longer than the window: expiry runs on real time,
        # the decisions on the caller's clock.
        expiry = seconds(lifetime) + 1
        failures, started = self._increment(
            keys=[self.redis_key(key)], args=[_micros(now), _micros(cutoff), expiry]
        )
        return int(failures), _moment(started)

    def _guarded(self, run: Callable[[], T]) -> T:
        try:
            return run()
        except self._errors as exc:
            log.error(
                "The throttle's Redis at %s cannot be reached (%s).",
                self._safe_url(),
                exc,
            )
            raise ThrottleUnavailable() from exc

    def _safe_url(self) -> str:
        # The URL may carry a password: name only where it points.
        kwargs = self.client.connection_pool.connection_kwargs
        if "path" in kwargs:
            return f"unix://{kwargs['path']}"
        return f"{kwargs.get('host')}:{kwargs.get('port')}/{kwargs.get('db', 0)}"

    def _refusal(
        self, row: dict[bytes, bytes], key: ThrottleKey, now: datetime.datetime
    ) -> Refusal | None:
        if not row:
            return None
        return refusal_for(
            key,
            self._window(key),
            now,
            failures=int(row[b"f"]),
            window_started_at=_moment(row[b"s"]),
            last_failure_at=_moment(row[b"l"]),
        )
