"""Errors under the API's prefix: always ``application/problem+json``.

The core answers API clients with problem+json when they ask for JSON;
under the API's prefix every answer is JSON, whatever the client sends in
``Accept``, so these exception views (with an ``under_api_prefix`` predicate) take
the HTTP errors there, and :func:`prefer_json` makes the core's own error
views (500, 503, a value the database refused) answer JSON to clients that
state no preference.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pyramid.exceptions import BadCSRFOrigin, BadCSRFToken
from pyramid.httpexceptions import HTTPError, HTTPForbidden, HTTPMethodNotAllowed

from pyramidion import problem_response

from .operations import api_operations

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.events import NewRequest
    from pyramid.request import Request
    from pyramid.response import Response

__all__ = ["includeme", "method_not_allowed"]

# What a client is told for the statuses whose exception detail may carry
# internals (Pyramid fills 403 and 404 with view names and predicates).
_DETAILS = {
    401: "Log in, or send an API token: Authorization: Bearer <token>.",
    403: "You do not have permission to do this.",
    404: "There is nothing at this address.",
}
# Pyramid's own wording ("check_csrf_token(): Invalid token") says nothing
# to an API client about what to send.
_CSRF_DETAIL = (
    "A request authenticated by the session cookie must carry the CSRF token: send the "
    "value of the CSRF cookie in the X-CSRF-Token header, or authenticate with an API "
    "token (Authorization: Bearer) instead."
)
# Headers an exception sets on purpose, kept on the problem response.
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate", "Location", "ETag")


def problem_from_exception(exc: HTTPError, request: Request) -> Response:
    """An HTTP error as problem+json, with the headers it set on purpose."""
    status = exc.code
    detail = _DETAILS.get(status, "")
    if isinstance(exc, BadCSRFToken | BadCSRFOrigin):
        detail = _CSRF_DETAIL
    if not detail and status < 500 and isinstance(exc.detail, str):
        detail = exc.detail
    if not detail:
        detail = exc.explanation or ""
    response = problem_response(request, status, exc.title, detail)
    for name in _KEPT_HEADERS:
        if name in exc.headers:
            response.headers[name] = exc.headers[name]
    return response


def api_http_error(exc: HTTPError, request: Request) -> Response:
    """Exception view: an HTTP error under the API's prefix, as problem+json."""
    return problem_from_exception(exc, request)


def api_unauthenticated(exc: HTTPForbidden, request: Request) -> Response:
    """Exception view: an anonymous API request lacks a permission: 401, never a redirect."""
    response = problem_response(request, 401, "Unauthorized", _DETAILS[401])
    response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def method_not_allowed(request: Request) -> Response:
    """The view of an API path for the methods none of its operations accepts: 405."""
    route = request.matched_route.name if request.matched_route else None
    allowed = sorted(
        {op.method for op in api_operations(request.registry) if op.route_name == route}
    )
    if "GET" in allowed:
        allowed.append("HEAD")
    raise HTTPMethodNotAllowed(
        f"{request.method} is not allowed here; this address accepts {', '.join(allowed)}.",
        headers={"Allow": ", ".join(allowed)},
    )


class UnderPrefix:
    """View predicate ``under_api_prefix=PREFIX``: the request's path is PREFIX or below it.

    Matched on the WSGI path as received, not decoded: a path that is not
    UTF-8 (which Pyramid's own ``path_info`` predicate would fail to
    decode while an error page is being chosen) is still under the prefix
    or not.
    """

    def __init__(self, prefix: str, config: Configurator) -> None:
        self.prefix = prefix
        self.pattern = re.compile(rf"^{re.escape(prefix)}(/|$)")

    def text(self) -> str:
        return f"under_api_prefix = {self.prefix}"

    phash = text

    def __call__(self, context: object, request: Request) -> bool:
        return self.pattern.match(request.environ.get("PATH_INFO", "")) is not None


def prefer_json(prefix: str) -> object:
    """A NewRequest subscriber: API requests that state no preference want JSON.

    A client that sends no ``Accept`` (or ``*/*``) gets JSON from every view
    under ``prefix``, including the core's error views, which would
    otherwise answer such a client with an HTML page.
    """
    pattern = re.compile(rf"^{re.escape(prefix)}(/|$)")

    def subscriber(event: NewRequest) -> None:
        request = event.request
        # The path as received: decoding it could fail (not UTF-8).
        if not pattern.match(request.environ.get("PATH_INFO", "")):
            return
        # Read and written in the environ, which ``request.headers`` and
        # ``request.accept`` wrap: every API request passes here, and the
        # wrappers' name translation and checks cost more than the test.
        accept = request.environ.get("HTTP_ACCEPT", "").strip()
        if accept in ("", "*/*"):
            request.environ["HTTP_ACCEPT"] = "application/json"

    return subscriber


def includeme(config: Configurator) -> None:
    """The exception views and the subscriber for paths under the current route prefix."""
    from pyramid.events import NewRequest

    from .operations import api_state

    prefix = (config.route_prefix or "").strip("/")
    # Mounted at the site root (api.route_prefix empty), the API claims
    # only its versioned base, not every path of the site.
    prefix = f"/{prefix}" if prefix else api_state(config.registry).base
    config.add_view_predicate("under_api_prefix", UnderPrefix)
    path = prefix
    config.add_exception_view(api_http_error, context=HTTPError, under_api_prefix=path)
    # The auth add-on sends anonymous browsers to its login page; an API
    # client is answered 401 instead. Two predicates, so this view is tried
    # before auth's (which has one).
    config.add_exception_view(
        api_unauthenticated, context=HTTPForbidden, under_api_prefix=path, is_authenticated=False
    )
    config.add_exception_view(
        api_http_error, context=HTTPForbidden, under_api_prefix=path, is_authenticated=True
    )
    config.add_subscriber(prefer_json(prefix), NewRequest)
