"""A plain Pyramid package for the idempotency tests: orders written in the
request's transaction, a view that fails after writing, and a view that
waits for the test so that a duplicate can arrive while it runs."""

from __future__ import annotations

import threading

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response
from sqlalchemy import text

from pyramidion.security import PUBLIC

#: Set by the slow view when it has started; it then waits for ``release``.
entered = threading.Event()
release = threading.Event()


def _count(request: Request) -> int:
    return int(request.dbsession.execute(text("SELECT count(*) FROM idem_orders")).scalar_one())


def order_view(request: Request) -> Response:
    item = request.json_body["item"]
    request.dbsession.execute(
        text("INSERT INTO idem_orders (item) VALUES (:item)"), {"item": item}
    )
    response = Response(
        json_body={"item": item, "orders": _count(request)}, status=201, charset="utf-8"
    )
    response.headers["Location"] = f"/orders/{_count(request)}"
    response.set_cookie("seen", "yes")
    return response


def refused_view(request: Request) -> Response:
    request.dbsession.execute(text("INSERT INTO idem_orders (item) VALUES ('refused')"))
    return Response(json_body={"error": "refused"}, status=400)


def slow_view(request: Request) -> Response:
    entered.set()
    release.wait(timeout=30)
    return order_view(request)


def count_view(request: Request) -> Response:
    return Response(json_body={"orders": _count(request)})


def includeme(config: Configurator) -> None:
    for name, path, view, method in (
        ("idem.order", "/orders", order_view, "POST"),
        ("idem.refused", "/refused", refused_view, "POST"),
        ("idem.slow", "/slow", slow_view, "POST"),
        ("idem.count", "/count", count_view, "GET"),
    ):
        config.add_route(name, path)
        config.add_view(
            view, route_name=name, request_method=method, permission=PUBLIC, require_csrf=False
        )
