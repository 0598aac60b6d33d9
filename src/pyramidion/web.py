"""Web plumbing on by default: host allowlist, error pages and health
endpoints, and ``request.request_id``.

The request id, access log and security headers are the outermost tweens
(:mod:`pyramidion.tweens`).
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyramid.csrf import get_csrf_token
from pyramid.exceptions import BadCSRFOrigin, BadCSRFToken
from pyramid.httpexceptions import HTTPBadRequest, HTTPError
from pyramid.response import Response
from pyramid.tweens import INGRESS
from pyramid_retry import is_error_retryable, mark_error_retryable
from sqlalchemy.exc import DataError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from transaction.interfaces import NoTransaction

from .db import is_conflict
from .lifecycle import readiness
from .resources import Root
from .security import PUBLIC
from .state import app_state

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.registry import Registry
    from pyramid.request import Request


__all__ = ["mark_draining", "problem_response", "wants_json"]

access_log = logging.getLogger("pyramidion.access")
error_log = logging.getLogger("pyramidion.error")

REQUEST_ID_ENVIRON_KEY = "pyramidion.request_id"

#: Seconds a client is told to wait when the database is unavailable.
DATABASE_RETRY_AFTER = 5


def request_id(request: Request) -> str:
    """``request.request_id``: the id the response and the log lines carry."""
    return str(request.environ.get(REQUEST_ID_ENVIRON_KEY, "-"))


# -- host allowlist ---------------------------------------------------------


#: A Host header value: a DNS name or an IPv4 address, or an IPv6 address
#: in brackets, and an optional numeric port.
_HOST = re.compile(
    r"(?P<name>\[[0-9a-f:.]+\]|[a-z0-9_](?:[a-z0-9_.-]{0,253}[a-z0-9_])?\.?)"
    r"(?::(?P<port>[0-9]{1,5}))?"
)


def split_host(host: str) -> tuple[str, int | None] | None:
    """``(hostname, port)`` of a Host header value, or None when it is not one.

    Only a well-formed host name (or address) with at most a numeric port
    in range passes: ``localhost:evil.example`` does not.
    """
    match = _HOST.fullmatch(host.strip().lower())
    if match is None:
        return None
    port = match.group("port")
    if port is None:
        return match.group("name"), None
    number = int(port)
    if not 0 < number < 65536:
        return None
    return match.group("name"), number


def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """Whether a Host header value is well formed and matches the allowlist.

    An entry with a port matches that host and port only; one without
    matches the host on any port; ``.example.com`` also matches subdomains;
    ``*`` matches every well-formed host. A value that is not a host name
    (or address) with an optional numeric port never matches.
    """
    parts = split_host(host)
    if parts is None:
        return False
    hostname, port = parts
    for entry in allowed:
        entry = entry.strip().lower()
        if entry == "*":
            return True
        wanted = split_host(entry.lstrip("."))
        if wanted is None:
            continue
        wanted_name, wanted_port = wanted
        if wanted_port is not None and wanted_port != port:
            continue
        if hostname == wanted_name or (
            entry.startswith(".") and hostname.endswith("." + wanted_name)
        ):
            return True
    return False


def host_allowlist_tween_factory(
    handler: Callable[[Request], Response], registry: Registry
) -> Callable[[Request], Response]:
    """Refuse requests whose Host header is not in ``pyramidion.allowed_hosts``.

    With the list empty, any host is answered, but a Host header that is
    not a host name with an optional numeric port is refused all the same:
    the app builds absolute URLs (password-reset links, say) from it.
    """

    allowed = app_state(registry).core.allowed_hosts or ("*",)

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
<p><a href="{home_url}">Go to the home page</a></p>
<p><small>Request id: <code>{request_id}</code></small></p>
</main>
</body>
</html>
"""


#: ``renderer(request, status, title, detail)`` returns the HTML of an error
#: page; an add-on with a site layout sets one with ``config.set_error_page``.
ErrorPageRenderer = Callable[["Request", int, str, str], str]

#: Registry attribute holding the error page renderer an add-on set.
_ERROR_PAGE = "pyramidion_error_page"


def plain_error_page(
    status: int, title: str, detail: str, request_id: str, home_url: str = "/"
) -> str:
    """The core's own error page: valid HTML without a site layout, with a way home."""
    return _PAGE.format(
        status=status,
        title=html.escape(title),
        detail=html.escape(detail),
        request_id=html.escape(request_id),
        home_url=html.escape(home_url),
    )


def html_error_response(request: Request, status: int, title: str, detail: str) -> Response:
    """An HTML error page: the site's (``config.set_error_page``) or the plain one.

    A site page that fails to render (the database it needs may be the
    cause of the error) falls back to the plain page, and the failure is
    logged.
    """
    renderer: ErrorPageRenderer | None = getattr(request.registry, _ERROR_PAGE, None)
    page = None
    # A site page builds its links from the Host header, which, for a host
    # the allowlist refused, is the attacker's: such errors get the plain
    # page, whose links are relative.
    if renderer is not None and _host_trusted(request):
        try:
            page = renderer(request, status, title, detail)
        except Exception:
            error_log.exception(
                "could not render the site's %s page; showing the plain one", status
            )
    if page is None:
        home = request.script_name + "/"
        page = plain_error_page(status, title, detail, request_id(request), home)
    return Response(body=page.encode(), status=status, content_type="text/html", charset="utf-8")


def _host_trusted(request: Request) -> bool:
    # As the allowlist tween decides: with the list empty any well-formed
    # host is served, and a malformed one never is.
    allowed = app_state(request.registry).core.allowed_hosts or ("*",)
    host = request.environ.get("HTTP_HOST") or request.environ.get("SERVER_NAME", "")
    return host_allowed(host, allowed)


def set_error_page(config: Configurator, renderer: ErrorPageRenderer | str) -> None:
    """Directive: ``config.set_error_page(renderer)``.

    ``renderer(request, status, title, detail)`` returns the HTML that
    browsers get for an error (API clients still get problem+json). The
    forms add-on sets one that shows errors in the site's layout; two
    add-ons setting one conflict at start-up.
    """
    resolved: ErrorPageRenderer = config.maybe_dotted(renderer)

    def register() -> None:
        setattr(config.registry, _ERROR_PAGE, resolved)

    intr = config.introspectable("pyramidion error page", None, repr(resolved), "error page")
    intr["renderer"] = resolved
    config.action("pyramidion.error_page", register, introspectables=(intr,))


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


#: What a client is told when the database refuses one of its values.
_DATA_DETAIL = (
    "The request contains a value this site cannot store (a number too large, say, "
    "or text it cannot hold); correct it and send it again."
)


def data_error_view(exc: DataError, request: Request) -> Response:
    """The database refused a value the client sent: 400, never 500.

    PostgreSQL reports a number out of a column's range, text with a NUL
    character or a malformed date as a data exception; the request's own
    checks refuse most such values earlier, with a sentence naming them,
    and this is what catches the rest. The driver's message stays in the
    log, since it may quote the statement.
    """
    error_log.warning(
        "the database refused a value on %s %s: %s",
        request.method,
        request.path,
        str(exc.orig).splitlines()[0] if exc.orig is not None else exc,
    )
    return error_response(request, 400, "Bad Request", _DATA_DETAIL)


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


# -- pyramid_debugtoolbar in development --------------------------------------

#: Where pyramid_debugtoolbar serves its own pages and assets.
TOOLBAR_PREFIX = "/_debug_toolbar/"

#: The toolbar's pages run inline scripts and styles, which the default
#: policy forbids (dozens of violations and empty panels); only its own
#: paths get this policy, and only in development.
TOOLBAR_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
)


def toolbar_included(settings: Any, plain_includes: tuple[str, ...]) -> bool:
    """Whether pyramid_debugtoolbar is included (``pyramid.includes`` or
    a dotted name in ``pyramidion.addons``)."""
    from pyramid.settings import aslist

    includes = [*aslist(settings.get("pyramid.includes", "")), *plain_includes]
    return any(
        i == "pyramid_debugtoolbar" or i.startswith("pyramid_debugtoolbar.") for i in includes
    )


def toolbar_csp_subscriber(event: Any) -> None:
    """``NewResponse``: the toolbar's own pages get :data:`TOOLBAR_CSP`."""
    request = event.request
    headers = event.response.headers
    # The security-headers tween has put the default policy on by now; the
    # toolbar sets none of its own, so the toolbar's policy replaces it.
    if request.path_info.startswith(TOOLBAR_PREFIX):
        headers["Content-Security-Policy"] = TOOLBAR_CSP


# -- health -------------------------------------------------------------------

#: Registry attribute: the readiness problems last logged, so a load
#: balancer asking every few seconds does not repeat them in the log.
_LAST_READINESS = "pyramidion_last_readiness"


#: Registry attribute: set once the process is shutting down.
_DRAINING = "pyramidion_draining"


def mark_draining(registry: Any) -> None:
    """From now on ``/readyz`` answers 503: the process is shutting down
    and finishing the requests in flight, so a load balancer should send
    it no more."""
    setattr(registry, _DRAINING, True)


def healthz_view(request: Request) -> Response:
    """The process is alive and serving. Does no I/O."""
    return Response(json_body={"status": "ok"}, content_type="application/json")


#: Where a page's script (and the test kit) gets the client's CSRF token.
CSRF_TOKEN_PATH = "/csrf-token"  # noqa: S105 (a URL path, not a secret)


def csrf_token_view(request: Request) -> Response:
    """``GET /csrf-token``: ``{"csrf_token": ...}``, the token this client
    sends as ``X-CSRF-Token`` (or the ``csrf_token`` field) on unsafe requests.

    The token is the configured storage's: the core's CSRF cookie, or the
    server-side session's token where an add-on keeps it there (auth), in
    which case asking starts a session. Never cached; other sites cannot
    read the answer, since no CORS header allows them to.
    """
    response = Response(
        json_body={"csrf_token": get_csrf_token(request)}, content_type="application/json"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def readyz_view(request: Request) -> Response:
    """Ready to serve: migrations applied, add-ons installed, and not
    shutting down (:func:`mark_draining`).

    An unreachable database is shared by every process, so by default it
    is reported (``"database": "unavailable"`` and a warning) without
    failing: requests then get the app's quick 503 with Retry-After from
    every process, rather than the load balancer's own. With
    ``pyramidion.readiness_requires_database`` or
    ``?database=required``, it fails readiness too.

    Anyone may ask, so the body says what is wrong and what to do, in
    words without connection details (database user, host, name, the
    driver's error); those go to the log, once each time they change.
    """
    if getattr(request.registry, _DRAINING, False):
        response = Response(
            json_body={
                "status": "draining",
                "problems": ["the process is shutting down; send requests elsewhere"],
            },
            content_type="application/json",
            status=503,
        )
        response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
        return response
    found = readiness(request.registry)
    details = tuple(problem.detail for problem in found)
    registry = request.registry
    if details and getattr(registry, _LAST_READINESS, None) != details:
        error_log.warning("not ready: %s", "; ".join(details))
    setattr(registry, _LAST_READINESS, details)
    strict = (
        app_state(registry).core.readiness_requires_database
        or request.params.get("database") == "required"
    )
    problems = [problem.public for problem in found if strict or not problem.shared]
    shared = [problem.public for problem in found if problem.shared]
    body = {
        "status": "ready" if not problems else "unavailable",
        "problems": problems,
        "database": "unavailable" if shared else "ok",
    }
    if shared and not strict:
        body["warnings"] = shared
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
    ``/`` route or root view replaces, and, when pyramid_debugtoolbar is
    included, a Content-Security-Policy for the toolbar's own pages that
    lets them run (:data:`TOOLBAR_CSP`).
    """

    config.add_request_method(request_id, "request_id", property=True)
    config.add_directive("set_error_page", set_error_page)
    config.add_tween("pyramidion.web.host_allowlist_tween_factory", under=INGRESS)
    config.add_exception_view(http_error_view, context=HTTPError)
    for exc_type in (
        OperationalError,
        InterfaceError,
        DisconnectionError,
        PoolTimeoutError,
    ):
        config.add_exception_view(database_unavailable_view, context=exc_type)
    config.add_exception_view(data_error_view, context=DataError)
    config.add_exception_view(server_error_view, context=Exception)
    config.add_route("pyramidion.healthz", "/healthz")
    config.add_view(healthz_view, route_name="pyramidion.healthz", permission=PUBLIC)
    config.add_route("pyramidion.readyz", "/readyz")
    config.add_view(readyz_view, route_name="pyramidion.readyz", permission=PUBLIC)
    config.add_route("pyramidion.csrf_token", CSRF_TOKEN_PATH)
    config.add_view(
        csrf_token_view,
        route_name="pyramidion.csrf_token",
        request_method="GET",
        permission=PUBLIC,
    )
    state = app_state(config.registry)
    if state.core.development:
        config.add_view(welcome_view, context=Root, name="", permission=PUBLIC)
        # A subscriber makes Pyramid dispatch events on every request, so
        # it is there only while the toolbar is; production stays strict.
        if toolbar_included(config.registry.settings, state.plain_includes):
            from pyramid.events import NewResponse

            config.add_subscriber(toolbar_csp_subscriber, NewResponse)
