"""A plain Pyramid package for the metrics tests: a page, a failed login
counted through the public helper, and a write that fails once with an
error marked retryable, so that pyramid_retry runs it again."""

from __future__ import annotations

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response
from pyramid_retry import mark_error_retryable
from sqlalchemy import text

from pyramidion import PUBLIC, count_login_failure


def page_view(request: Request) -> Response:
    return Response("a page")


def login_view(request: Request) -> Response:
    count_login_failure(request)
    return Response("wrong password", status=401)


#: Requests to /flaky that fail once more before succeeding.
flaky_failures = [0]


def flaky_view(request: Request) -> Response:
    request.dbsession.execute(text("INSERT INTO metric_rows (note) VALUES ('mine')"))
    if flaky_failures[0] > 0:
        flaky_failures[0] -= 1
        error = ConnectionResetError("the connection was reset")
        mark_error_retryable(error)
        raise error
    return Response("done")


def includeme(config: Configurator) -> None:
    for name, path, view in (
        ("m.page", "/page", page_view),
        ("m.login", "/login", login_view),
        ("m.flaky", "/flaky", flaky_view),
    ):
        config.add_route(name, path)
        config.add_view(view, route_name=name, permission=PUBLIC, require_csrf=False)
