"""The request path's outer layers: request id and access log, then security
headers over every response, error pages included.

What ``ptweens`` shows for a Pyramidion app, top to bottom::

    pyramidion.tweens.request_log_tween_factory       request id, access log
    pyramidion.tweens.security_headers_tween_factory  security headers; renders
                                                      errors raised below it
    pyramidion.web.host_allowlist_tween_factory       400 for hosts not served
    pyramidion.inputs.body_size_tween_factory         413 for bodies over the limit
    pyramidion.inputs.url_tween_factory               400 for paths that are not text
    pyramidion.idempotency.claim_tween_factory        Idempotency-Key replays
    pyramid_tm.tm_tween_factory                       one transaction per attempt
    pyramid.tweens.excview_tween_factory              error views

pyramid_retry is the *execution policy* around the whole chain: after a
conflict it runs every tween again, on a fresh request, with the same
environ. So the request id is chosen once per request (kept in the
environ), and the access log has one line per request, written by the
attempt whose response is sent. The core wraps that policy
(:func:`last_resort_policy`), so an error raised after the tweens have
returned (by a response callback) gets the app's own 500 rather than the
server's.

pyramid_tm renders errors raised while committing with the app's error
views itself. Errors raised by the tweens between it and the security
headers (the host allowlist's 400, say) are rendered by the security
headers tween with ``request.invoke_exception_view``, unless pyramid_retry
is to run the request again: pyramid_retry's policy would otherwise let
them reach the server as a bare 500 without the headers.
"""

from __future__ import annotations

import email.message
import io
import json
import logging
import random
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyramid.httpexceptions import HTTPBadRequest
from pyramid.request import Request
from pyramid.response import Response
from pyramid.tweens import INGRESS
from pyramid_retry import is_error_retryable

from .logging import request_id_var
from .security import USER_ID_ENVIRON_KEY
from .state import app_state
from .web import REQUEST_ID_ENVIRON_KEY, plain_error_page, wants_json

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.registry import Registry
    from pyramid.router import Router

    from .settings import CoreSettings

__all__ = ["request_log_tween_factory", "security_headers_tween_factory"]

Handler = Callable[["Request"], Response]

access_log = logging.getLogger("pyramidion.access")
error_log = logging.getLogger("pyramidion.error")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

#: environ key: when the request's first attempt started (``perf_counter``).
STARTED_ENVIRON_KEY = "pyramidion.started"

#: environ key: the body stream the server gave, kept by the core's
#: ``retry.activate_hook`` before pyramid_retry has WebOb copy it.
SERVER_INPUT_ENVIRON_KEY = "pyramidion.server_input"


def _will_be_retried(request: Request) -> bool:
    """Whether pyramid_retry will discard this response and try again: an
    error view rendered it for an error that may be retried."""
    exc = getattr(request, "exception", None)
    return exc is not None and is_error_retryable(request, exc)


# -- request id and access log ------------------------------------------------


def request_log_tween_factory(handler: Handler, registry: Registry) -> Handler:
    """Give every request an id and log one access line for it.

    The id is the client's ``X-Request-Id`` (``pyramidion.request_id_header``)
    when it is a safe label, else a new one; it is sent back in that header
    and carried by every log line of the request.
    """
    core = app_state(registry).core
    header_key = "HTTP_" + core.request_id_header.upper().replace("-", "_")
    header_name = core.request_id_header
    header_lower = header_name.lower()

    def tween(request: Request) -> Response:
        environ = request.environ
        request_id = environ.get(REQUEST_ID_ENVIRON_KEY)
        if request_id is None:  # the first attempt
            incoming = environ.get(header_key)
            if incoming and _SAFE_REQUEST_ID.match(incoming):
                request_id = incoming
            else:
                request_id = _new_request_id()
            environ[REQUEST_ID_ENVIRON_KEY] = request_id
            environ[STARTED_ENVIRON_KEY] = time.perf_counter()
        token = request_id_var.set(request_id)
        try:
            response = handler(request)
        finally:
            request_id_var.reset(token)
        headerlist = response.headerlist
        for name, _value in headerlist:
            if name.lower() == header_lower:
                headerlist[:] = [h for h in headerlist if h[0].lower() != header_lower]
                break
        headerlist.append((header_name, request_id))
        if not _will_be_retried(request):
            if access_log.isEnabledFor(logging.INFO):
                _log_access(environ, response, request_id)
            _close_body_copy(environ)
        return response

    return tween


def _new_request_id() -> str:
    """32 random hex digits: unique enough to find a request in the logs.

    Not ``os.urandom``: that lets go of the GIL for a system call, and under
    load a thread that does so waits to get it back while the other threads
    run. The id is a label, not a secret, so the ``random`` module serves
    (it is reseeded in forked worker processes, so workers do not repeat
    each other's ids).
    """
    return random.randbytes(16).hex()  # noqa: S311 (a label, see above)


def _log_access(environ: dict[str, Any], response: Response, request_id: str) -> None:
    started = environ.get(STARTED_ENVIRON_KEY, time.perf_counter())
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


def _close_body_copy(environ: dict[str, Any]) -> None:
    """Close the copy of the request body made so that a retry can read it.

    pyramid_retry has WebOb copy the body before the first attempt when it
    may make more than one (bodies over 10 KB go to a temporary file that
    nothing else closes); once the response is final it is not read again.
    The server's own input is the server's to close, and a copy in memory
    holds nothing that needs closing.
    """
    if SERVER_INPUT_ENVIRON_KEY not in environ:
        return
    server_input = environ.pop(SERVER_INPUT_ENVIRON_KEY)
    body = environ.get("wsgi.input")
    if body is not server_input and body is not None and not isinstance(body, io.BytesIO):
        close = getattr(body, "close", None)
        if close is not None:
            close()


# -- security headers -----------------------------------------------------------


def security_headers_tween_factory(handler: Handler, registry: Registry) -> Handler:
    """Put the security headers on every response, error pages included.

    An error raised below this tween and not rendered there (the host
    allowlist's, a body it cannot parse) is rendered here by the app's
    error views, unless pyramid_retry will run the request again.
    """
    core = app_state(registry).core
    static_headers = _static_security_headers(core)
    static_names = {name.lower() for name, _value in static_headers}
    hsts = (
        f"max-age={core.hsts_max_age}; includeSubDomains"
        if core.hsts_max_age and not core.development
        else None
    )

    def tween(request: Request) -> Response:
        try:
            problem = _malformed_multipart(request.environ.get("CONTENT_TYPE"))
            if problem:
                raise HTTPBadRequest(problem)
            response = handler(request)
        except Exception as exc:
            if is_error_retryable(request, exc):
                raise
            response = _render_error(request)
        # One scan of the header list instead of one per header (WebOb's
        # ResponseHeaders scans the whole list for every lookup and set).
        headerlist = response.headerlist
        present = {name.lower() for name, _value in headerlist}
        if static_names.isdisjoint(present):
            headerlist.extend(static_headers)
        else:
            headerlist.extend(h for h in static_headers if h[0].lower() not in present)
        if hsts and request.scheme == "https" and "strict-transport-security" not in present:
            headerlist.append(("Strict-Transport-Security", hsts))
        if response.status[0] in "45" and "cache-control" not in present:
            headerlist.append(("Cache-Control", "no-store"))
        return response

    return tween


def _static_security_headers(core: CoreSettings) -> list[tuple[str, str]]:
    return [
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
        ("Content-Security-Policy", core.content_security_policy),
    ]


# What WebOb (through cgi) accepts as a multipart boundary; anything else
# makes request.POST raise ValueError, a 500 for whichever code reads the
# form first (the CSRF check does).
_VALID_BOUNDARY = re.compile(r"^[ -~]{0,200}[!-~]$")


def _malformed_multipart(content_type: str | None) -> str:
    """Why a multipart body cannot be parsed as its Content-Type says, or ``""``."""
    if not content_type or content_type[:10].lower() != "multipart/":
        return ""
    message = email.message.Message()
    message["Content-Type"] = content_type
    boundary = message.get_param("boundary")
    if not isinstance(boundary, str) or not _VALID_BOUNDARY.match(boundary):
        return "The multipart body's boundary is missing or malformed."
    return ""


def _render_error(request: Request) -> Response:
    """The app's error page for the error being handled; a plain 500 if
    rendering it fails too."""
    try:
        response: Response = request.invoke_exception_view()
        return response
    except Exception:
        error_log.exception("error while rendering an error page")
        body = json.dumps(
            {
                "type": "about:blank",
                "title": "Internal Server Error",
                "status": 500,
                "request_id": request.environ.get(REQUEST_ID_ENVIRON_KEY),
            }
        )
        return Response(body=body.encode(), status=500, content_type="application/problem+json")


# -- the last resort --------------------------------------------------------------

ExecutionPolicy = Callable[[dict[str, Any], "Router"], Response]


def last_resort_policy(inner: ExecutionPolicy) -> ExecutionPolicy:
    """An execution policy around ``inner`` (pyramid_retry's) for the errors
    no tween or error view can render: those raised after the tweens have
    returned, by a response callback, say.

    Such an error would reach the server, which answers with a plain-text
    500 of its own. It is logged and answered with the core's own 500
    instead: problem+json for API clients, the plain error page for
    browsers, with the request id and the security headers. Nothing here
    reads the database or renders templates, which may be what failed.
    """

    def policy(environ: dict[str, Any], router: Router) -> Response:
        try:
            return inner(environ, router)
        except Exception:
            error_log.exception("error outside the error views")
            return _last_resort_response(environ, router.registry)

    return policy


def _last_resort_response(environ: dict[str, Any], registry: Registry) -> Response:
    request = Request(environ)
    identifier = str(environ.get(REQUEST_ID_ENVIRON_KEY, "-"))
    title = "Internal Server Error"
    detail = "Something went wrong on our side. The error has been logged."
    try:
        as_json = wants_json(request)
    except Exception:  # an Accept header WebOb cannot read
        as_json = True
    if as_json:
        body = {
            "type": "about:blank",
            "title": title,
            "status": 500,
            "detail": detail,
            "request_id": identifier,
        }
        response = Response(
            body=json.dumps(body).encode(),
            status=500,
            content_type="application/problem+json",
            charset=None,
        )
    else:
        response = Response(
            plain_error_page(500, title, detail, identifier), status=500, charset="utf-8"
        )
    core = app_state(registry).core
    response.headerlist.extend(_static_security_headers(core))
    response.headers["Cache-Control"] = "no-store"
    response.headers[core.request_id_header] = identifier
    return response


def includeme(config: Configurator) -> None:
    """Add the request log and security headers tweens, outermost."""
    config.add_tween("pyramidion.tweens.request_log_tween_factory", under=INGRESS)
    config.add_tween(
        "pyramidion.tweens.security_headers_tween_factory",
        under="pyramidion.tweens.request_log_tween_factory",
        over="pyramidion.web.host_allowlist_tween_factory",
    )
