"""Web plumbing on by default: host allowlist, error pages and health
endpoints, and ``request.request_id``.

The request id, access log and security headers are the outermost tweens
(:mod:`pyramidion.tweens`).
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyramid.exceptions import BadCSRFOrigin, BadCSRFToken
from pyramid.httpexceptions import HTTPBadRequest, HTTPError
from pyramid.response import Response
from pyramid.tweens import INGRESS
from pyramid_retry import is_error_retryable, mark_error_retryable
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from transaction.interfaces import NoTransaction

from .db import is_conflict
from .lifecycle import readiness_problems
from .resources import Root
from .security import PUBLIC
from .state import app_state

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.registry import Registry
    from pyramid.request import Request


__all__ = ["problem_response", "wants_json"]

access_log = logging.getLogger("pyramidion.access")
error_log = logging.getLogger("pyramidion.error")

REQUEST_ID_ENVIRON_KEY = "pyramidion.request_id"

#: Seconds a client is told to wait when the database is unavailable.
DATABASE_RETRY_AFTER = 5


def request_id(request: Request) -> str:
    """``request.request_id``: the id the response and the log lines carry."""
    return str(request.environ.get(REQUEST_ID_ENVIRON_KEY, "-"))


# -- host allowlist ---------------------------------------------------------


def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """Whether a Host header value matches the allowlist.

    An entry with a port matches that host and port only; one without
    matches the host on any port; ``.example.com`` also matches subdomains;
    ``*`` matches everything.
    """
    host = host.strip().lower()
    if not host or any(c in host for c in "/\\@ ") or len(host) > 255:
        return False
    hostname = host
    if host.startswith("["):
        hostname = host.split("]", 1)[0] + "]"
    elif host.count(":") == 1:
        hostname = host.split(":", 1)[0]
    for entry in allowed:
        entry = entry.lower()
        if entry == "*" or entry == host:
            return True
        if ":" in entry and not entry.startswith("["):
            continue
        if entry.startswith("[") and entry.endswith("]") and entry == hostname:
            return True
        if entry.startswith("."):
            if hostname == entry[1:] or hostname.endswith(entry):
                return True
        elif entry == hostname:
            return True
    return False


def host_allowlist_tween_factory(
    handler: Callable[[Request], Response], registry: Registry
) -> Callable[[Request], Response]:
    """Refuse requests whose Host header is not in ``pyramidion.allowed_hosts``."""

    allowed = app_state(registry).core.allowed_hosts
    if not allowed:
        return handler

    # Answers for the hosts seen, so the list is not matched per request;
    # bounded, since the Host header is whatever a client sends.
    answers: dict[str, bool] = {}

    def tween(request: Request) -> Response:
        host = request.environ.get("HTTP_HOST") or request.environ.get("SERVER_NAME", "")
        ok = answers.get(host)
        if ok is None:
            ok = host_allowed(host, allowed)
            if len(answers) < 256:
                answers[host] = ok
        if not ok:
            raise HTTPBadRequest("The Host header names a host this site does not serve.")
        return handler(request)

    return tween


# -- error pages --------------------------------------------------------------


def wants_json(request: Request) -> bool:
    """Whether the client prefers JSON to HTML for this response."""
    offers = request.accept.acceptable_offers(
        ["text/html", "application/problem+json", "application/json"]
    )
    if not offers:
        return bool(request.content_type == "application/json")
    return bool(offers[0][0] != "text/html")


def problem_response(
    request: Request,
    status: int,
    title: str,
    detail: str = "",
    **extra: Any,
) -> Response:
    """An RFC 9457 ``application/problem+json`` response with the request id."""
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        **({"detail": detail} if detail else {}),
        **extra,
        "request_id": request_id(request),
    }
    return Response(
        body=json.dumps(body).encode(),
        status=status,
        content_type="application/problem+json",
        charset=None,
    )


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{status} {title}</title></head>
<body>
<main>
<h1>{title}</h1>
<p>{detail}</p>
<p><small>Request id: <code>{request_id}</code></small></p>
</main>
</body>
</html>
"""


def html_error_response(request: Request, status: int, title: str, detail: str) -> Response:
    page = _PAGE.format(
        status=status,
        title=html.escape(title),
        detail=html.escape(detail),
        request_id=html.escape(request_id(request)),
    )
    return Response(body=page.encode(), status=status, content_type="text/html", charset="utf-8")


def error_response(request: Request, status: int, title: str, detail: str) -> Response:
    if wants_json(request):
        return problem_response(request, status, title, detail)
    return html_error_response(request, status, title, detail)


# Details that are safe and useful to show; anything else gets a generic one.
_DEFAULT_DETAILS = {
    400: "The request could not be understood.",
    403: "You do not have permission to do this.",
    404: "There is nothing at this address.",
    405: "This address does not accept that method.",
    413: "The request is larger than this site accepts.",
    500: "Something went wrong on our side. The error has been logged.",
    503: "The service is temporarily unavailable. Please try again shortly.",
}


# Pyramid's own wording ("check_csrf_token(): Invalid token") means nothing
# to the person who sees it; this says what happened and what to do.
_CSRF_DETAIL = (
    "This form has expired or was not sent from this site. Reload the page and submit it again."
)

_OPAQUE_STATUSES = frozenset({403, 404}) | frozenset(range(500, 600))


def http_error_view(exc: HTTPError, request: Request) -> Response:
    """Render 4xx/5xx HTTP exceptions for browsers and API clients."""
    status = exc.code
    # Pyramid fills 403 and 404 details with internals (view names, failed
    # predicates) and 5xx details may carry anything: show a view's own
    # detail only for the other 4xx, where it tells the client what to fix.
    detail = ""
    if isinstance(exc, BadCSRFToken | BadCSRFOrigin):
        detail = _CSRF_DETAIL
    elif status not in _OPAQUE_STATUSES and isinstance(exc.detail, str):
        detail = exc.detail
    if not detail:
        detail = _DEFAULT_DETAILS.get(status, exc.explanation or "")
    response = error_response(request, status, exc.title, detail)
    # Keep headers the exception set on purpose (Allow, Retry-After, ...).
    for name in ("Allow", "Retry-After", "WWW-Authenticate", "Location"):
        if name in exc.headers:
            response.headers[name] = exc.headers[name]
    return response


def _retry_outlook(exc: Exception, request: Request) -> str:
    """``"retry"`` when pyramid_retry will run the request again after
    ``exc``, ``"exhausted"`` for a conflict on the last attempt, else ``""``.

    The engine marks a conflict the database reports (serialization
    failure, deadlock) retryable when it is raised (:func:`.db.is_conflict`).
    The request's transaction may take other errors as conflicts too (a
    stale version counter, a ``TransientError``), but pyramid_tm only tags
    them so when the response does not veto the commit, and every error
    page does. So the error views tag them, while the transaction can
    still tell.
    """
    conflict = is_conflict(exc)
    if not conflict:
        try:
            txn = request.tm.get()
        except NoTransaction:
            txn = None
        conflict = txn is not None and txn.isRetryableError(exc)
    if not conflict:
        return "retry" if is_error_retryable(request, exc) else ""
    mark_error_retryable(exc)
    return "retry" if is_error_retryable(request, exc) else "exhausted"


def database_unavailable_view(exc: Exception, request: Request) -> Response:
    """The database is down or overloaded: 503 with Retry-After, quickly.

    A conflict that will be retried is logged quietly; the client never
    sees this response.
    """
    outlook = _retry_outlook(exc, request)
    if outlook == "retry":
        error_log.info("retrying after %s: %s", type(exc).__name__, exc)
    elif outlook == "exhausted":
        error_log.warning(
            "giving up on %s %s: the database reported a conflict on every attempt: %s",
            request.method,
            request.path,
            exc,
        )
    else:
        error_log.warning("database unavailable: %s: %s", type(exc).__name__, exc)
    response = error_response(request, 503, "Service Unavailable", _DEFAULT_DETAILS[503])
    response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return response


def server_error_view(exc: Exception, request: Request) -> Response:
    """Any other exception: log it with its traceback, answer a plain 500."""
    if _retry_outlook(exc, request) == "retry":
        error_log.info("retrying after %s: %s", type(exc).__name__, exc)
        return error_response(request, 500, "Internal Server Error", _DEFAULT_DETAILS[500])
    error_log.error(
        "unhandled %s on %s %s",
        type(exc).__name__,
        request.method,
        request.path,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    return error_response(request, 500, "Internal Server Error", _DEFAULT_DETAILS[500])


# -- health -------------------------------------------------------------------


def healthz_view(request: Request) -> Response:
    """The process is alive and serving. Does no I/O."""
    return Response(json_body={"status": "ok"}, content_type="application/json")


def readyz_view(request: Request) -> Response:
    """Ready to serve: database reachable, migrations applied, add-ons installed."""

    problems = readiness_problems(request.registry)
    body = {"status": "ready" if not problems else "unavailable", "problems": problems}
    response = Response(json_body=body, content_type="application/json")
    if problems:
        response.status_int = 503
        response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return response


_WELCOME = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pyramidion</title></head>
<body>
<main>
<h1>Pyramidion is running</h1>
<p>This page is shown in development only, until an add-on serves <code>/</code>.</p>
<h2>Enabled add-ons</h2>
{addons}
<p>Health: <a href="/healthz">/healthz</a> &middot; readiness: <a href="/readyz">/readyz</a></p>
</main>
</body>
</html>
"""


def welcome_view(request: Request) -> Response:
    """Development landing page: what is enabled and why."""

    enabled = app_state(request.registry).resolution.addons
    if enabled:
        items = "".join(
            f"<li><strong>{html.escape(e.name)}</strong> {html.escape(e.addon.version)}"
            f" &mdash; {html.escape(e.reason)}</li>"
            for e in enabled
        )
        listing = f"<ul>{items}</ul>"
    else:
        listing = (
            "<p>None yet: list add-ons in <code>pyramidion.addons</code> in your "
            "ini file, then run <code>pyramidion db upgrade</code>.</p>"
        )
    page = _WELCOME.format(addons=listing)
    return Response(body=page.encode(), content_type="text/html", charset="utf-8")


def includeme(config: Configurator) -> None:
    """Register error views, health routes, the host tween and request.request_id.

    In development, also a welcome page at ``/`` that any add-on's own
    ``/`` route or root view replaces.
    """

    config.add_request_method(request_id, "request_id", property=True)
    config.add_tween("pyramidion.web.host_allowlist_tween_factory", under=INGRESS)
    config.add_exception_view(http_error_view, context=HTTPError)
    for exc_type in (
        OperationalError,
        InterfaceError,
        DisconnectionError,
        PoolTimeoutError,
    ):
        config.add_exception_view(database_unavailable_view, context=exc_type)
    config.add_exception_view(server_error_view, context=Exception)
    config.add_route("pyramidion.healthz", "/healthz")
    config.add_view(healthz_view, route_name="pyramidion.healthz", permission=PUBLIC)
    config.add_route("pyramidion.readyz", "/readyz")
    config.add_view(readyz_view, route_name="pyramidion.readyz", permission=PUBLIC)
    if app_state(config.registry).core.development:
        config.add_view(welcome_view, context=Root, name="", permission=PUBLIC)
