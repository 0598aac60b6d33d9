"""Request rate limits under the API's base.

Every request to a path under ``/api/VERSION`` is counted against one
client: its API token (``api:token:ID``), else its logged-in user
(``api:user:ID``), else its address (``api:address:IP``). Every answer
says where the client stands, with the header names of the IETF draft
"RateLimit header fields for HTTP"::

    RateLimit-Limit: 600        requests allowed in the window
    RateLimit-Remaining: 598    left in this window
    RateLimit-Reset: 41         seconds until the window ends

Past ``api.rate_limit`` requests in ``api.rate_limit_window`` the answer is
429 problem+json with ``Retry-After``, until the window ends.

The counts are the auth add-on's :class:`~pyramidion_auth.interfaces.Throttle`
service (its database implementation commits each count at once, outside
the request's transaction, so every process shares them and an aborted
request is still counted; with ``auth.throttle_url`` they live in Redis
instead, with no database write); the time is auth's
:class:`~pyramidion_auth.interfaces.Clock` service, which tests stop.

When the throttle's store cannot be reached
(:class:`~pyramidion_auth.interfaces.ThrottleUnavailable`), the request
goes through without a count or RateLimit headers and a warning is
logged: the limit shares out capacity between clients, it guards no
secret, and refusing every API request while Redis is down would turn a
cache outage into a site outage. (Logins, which the throttle guards
against password guessing, are refused instead.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from pyramidion import problem_response
from pyramidion_auth.accounts import client_address
from pyramidion_auth.interfaces import Clock, Tally, Throttle, ThrottleKey, ThrottleUnavailable
from pyramidion_auth.security_policy import requester_key

from .operations import api_state

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.registry import Registry
    from pyramid.request import Request
    from pyramid.response import Response

__all__ = ["includeme", "rate_limit_key", "rate_limit_tween_factory"]

log = logging.getLogger(__name__)


def rate_limit_key(request: Request) -> str:
    """The counter a request is counted in: its token, its user or its address.

    Found without the request's own database session (see
    :func:`pyramidion_auth.security_policy.requester_key`), so that the
    count, committed first, never stands between the request's reads and
    its writes.
    """
    who = requester_key(request)
    if who is not None:
        return f"api:{who}"
    # Throttle keys hold 100 characters; an IPv6 address needs 45.
    return f"api:address:{(client_address(request) or 'unknown')[:80]}"


def _set_headers(response: Response, tally: Tally) -> None:
    response.headers["RateLimit-Limit"] = str(tally.limit)
    response.headers["RateLimit-Remaining"] = str(tally.remaining)
    response.headers["RateLimit-Reset"] = str(tally.reset_after)


def rate_limit_tween_factory(
    handler: Callable[[Request], Response], registry: Registry
) -> Callable[[Request], Response]:
    """Tween: count each API request and refuse it past the limit (see the module).

    It sits under pyramid_tm, so the client's identity is found in the
    request's transaction, and over the exception views, so that errors
    carry the headers too. Paths outside the API's base pass untouched.
    """
    state = api_state(registry)
    limit = state.settings.rate_limit
    window = state.settings.rate_limit_window
    base = state.base
    if limit == 0:
        return handler

    def rate_limit_tween(request: Request) -> Response:
        path = request.path_info
        if path != base and not path.startswith(base + "/"):
            return handler(request)
        # The auth add-on's throttle and clock are singletons: their
        # factories hand them out without the per-request service container
        # that a request's first find_service builds (a tenth of a page).
        throttle: Throttle = request.find_service_factory(Throttle)(None, request)
        clock: Clock = request.find_service_factory(Clock)(None, request)
        now = clock.now()
        try:
            tally = throttle.tally(ThrottleKey(rate_limit_key(request), limit, window=window), now)
        except ThrottleUnavailable:
            log.warning("API rate limit not applied: the throttle's store cannot be reached.")
            return handler(request)
        if tally.refused:
            response = problem_response(
                request,
                429,
                "Too Many Requests",
                f"This client has made more than {limit} requests in "
                f"{int(window.total_seconds())} seconds. Try again in "
                f"{tally.reset_after} seconds.",
            )
            response.headers["Retry-After"] = str(tally.reset_after)
        else:
            response = handler(request)
        _set_headers(response, tally)
        return response

    return rate_limit_tween


def includeme(config: Configurator) -> None:
    """Add the tween, and 429 to every operation of the document (unless off)."""
    # Over auth's read-scope check: a refused request still counts.
    config.add_tween(
        "pyramidion_api.ratelimit.rate_limit_tween_factory",
        under=("pyramidion.idempotency.record_tween_factory", "pyramid_tm.tm_tween_factory"),
        over="pyramidion_auth.security_policy.token_scope_tween_factory",
    )
    if api_state(config.registry).settings.rate_limit:
        config.add_api_error(
            429, "Too many requests from this client in the window: retry after Retry-After."
        )
