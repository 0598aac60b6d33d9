"""Web plumbing on by default: request ids, access log, security headers,
host allowlist, error pages and health endpoints.

The request id, security headers and access log live in the *execution
policy* that wraps pyramid_retry's: it is the one layer that sees every
response, including errors raised while pyramid_tm commits (which happen
above the exception-view tween) and the final attempt of a retried request.
"""

from __future__ import annotations

import email.message
import html
import io
import json
import logging
import random
import re
import sys
import time
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
from .logging import request_id_var
from .resources import Root
from .security import PUBLIC, USER_ID_ENVIRON_KEY
from .state import app_state

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.registry import Registry
    from pyramid.request import Request
    from pyramid.router import Router

    from .settings import CoreSettings

__all__ = ["problem_response", "wants_json"]

access_log = logging.getLogger("pyramidion.access")
error_log = logging.getLogger("pyramidion.error")

REQUEST_ID_ENVIRON_KEY = "pyramidion.request_id"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

#: Seconds a client is told to wait when the database is unavailable.
DATABASE_RETRY_AFTER = 5


# -- execution policy: request id, headers, access log --------------------


def make_execution_policy(
    inner: Callable[[dict[str, Any], Router], Response], core: CoreSettings
) -> Callable[[dict[str, Any], Router], Response]:
    """Wrap ``inner`` (pyramid_retry's policy) with the plumbing above."""
    header_key = "HTTP_" + core.request_id_header.upper().replace("-", "_")
    header_name = core.request_id_header
    static_headers = _static_security_headers(core)
    hsts = (
        f"max-age={core.hsts_max_age}; includeSubDomains"
        if core.hsts_max_age and not core.development
        else None
    )

    static_names = {name.lower() for name, _value in static_headers}
    header_lower = header_name.lower()

    def policy(environ: dict[str, Any], router: Router) -> Response:
        # This runs for every request: the work is inlined and each check
        # is ordered so that the common case costs one comparison.
        started = time.perf_counter()
        incoming = environ.get(header_key)
        if incoming and _SAFE_REQUEST_ID.match(incoming):
            request_id = incoming
        else:
            request_id = _new_request_id()
        environ[REQUEST_ID_ENVIRON_KEY] = request_id
        token = request_id_var.set(request_id)
        body = environ.get("wsgi.input")
        try:
            try:
                content_type = environ.get("CONTENT_TYPE")
                if content_type and content_type[:10].lower() == "multipart/":
                    problem = _malformed_multipart(content_type)
                    if problem:
                        raise HTTPBadRequest(problem)
                response = inner(environ, router)
            except Exception:
                response = _render_escaped_error(environ, router, sys.exc_info())
            # One scan of the header list instead of one per header.
            headerlist = response.headerlist
            present = {name.lower() for name, _value in headerlist}
            if header_lower in present:
                headerlist[:] = [h for h in headerlist if h[0].lower() != header_lower]
            headerlist.append((header_name, request_id))
            if static_names.isdisjoint(present):
                headerlist.extend(static_headers)
            else:
                headerlist.extend(h for h in static_headers if h[0].lower() not in present)
            if (
                hsts
                and environ.get("wsgi.url_scheme") == "https"
                and "strict-transport-security" not in present
            ):
                headerlist.append(("Strict-Transport-Security", hsts))
            if response.status[0] in "45" and "cache-control" not in present:
                headerlist.append(("Cache-Control", "no-store"))
            if access_log.isEnabledFor(logging.INFO):
                _log_access(environ, response, started, request_id)
            return response
        finally:
            request_id_var.reset(token)
            copy = environ.get("wsgi.input")
            if copy is not body and copy is not None and not isinstance(copy, io.BytesIO):
                _close_body_copy(copy)

    return policy


def _new_request_id() -> str:
    """32 random hex digits: unique enough to find a request in the logs.

    Not ``os.urandom``: that lets go of the GIL for a system call, and under
    load a thread that does so waits to get it back while the other threads
    run; on a served JSON hello that one call held 7% of the server's
    samples. The id is a label, not a secret, so the ``random`` module
    serves (it is reseeded in forked worker processes, so workers do not
    repeat each other's ids); ``randbytes(16).hex()`` costs half as much
    as formatting ``getrandbits(128)``.
    """
    return random.randbytes(16).hex()  # noqa: S311 (a label, see above)


# What WebOb (through cgi) accepts as a multipart boundary; anything else
# makes request.POST raise ValueError, a 500 for whichever code reads the
# form first (the CSRF check does).
_VALID_BOUNDARY = re.compile(r"^[ -~]{0,200}[!-~]$")


def _malformed_multipart(content_type: str) -> str:
    """Why a multipart body cannot be parsed as its Content-Type says, or ``""``."""
    message = email.message.Message()
    message["Content-Type"] = content_type
    boundary = message.get_param("boundary")
    if not isinstance(boundary, str) or not _VALID_BOUNDARY.match(boundary):
        return "The multipart body's boundary is missing or malformed."
    return ""


def _close_body_copy(copy: Any) -> None:
    """Close the copy of the request body made while serving it.

    pyramid_retry makes the body seekable so that a retry can read it again,
    and WebOb copies bodies over 10 KB into a temporary file that nothing
    closes; once every attempt is done the copy is not read again. The
    server's own input is the server's to close, and a copy in memory
    holds nothing that needs closing.
    """
    close = getattr(copy, "close", None)
    if close is not None:
        close()


def _static_security_headers(core: CoreSettings) -> list[tuple[str, str]]:
    return [
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
        ("Content-Security-Policy", core.content_security_policy),
    ]


def _render_escaped_error(environ: dict[str, Any], router: Router, exc_info: Any) -> Response:
    """Render an error that escaped every tween (a failed commit, say)."""
    try:
        with router.request_context(environ) as request:
            return request.invoke_exception_view(exc_info)
    except Exception:
        error_log.exception("error while rendering an error page")
        body = json.dumps(
            {
                "type": "about:blank",
                "title": "Internal Server Error",
                "status": 500,
                "request_id": environ.get(REQUEST_ID_ENVIRON_KEY),
            }
        )
        return Response(body=body.encode(), status=500, content_type="application/problem+json")
    finally:
        del exc_info


def _log_access(
    environ: dict[str, Any], response: Response, started: float, request_id: str
) -> None:
    duration_ms = round((time.perf_counter() - started) * 1000, 2)
    method = environ.get("REQUEST_METHOD", "")
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    status = response.status_int
    # The query string is left out on purpose: it can carry tokens.
    access_log.info(
        "%s %s %s %.1fms",
        method,
        path,
        status,
        duration_ms,
        extra={
            "request_id": request_id,
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
            "user_id": environ.get(USER_ID_ENVIRON_KEY),
            "client_addr": environ.get("REMOTE_ADDR"),
        },
    )


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
