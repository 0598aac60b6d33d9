"""A plain Pyramid package for the last-resort tests: a page whose response
callback fails, after every tween and error view has had its turn."""

from __future__ import annotations

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response

from pyramidion import PUBLIC


def _fail(request: Request, response: Response) -> None:
    raise RuntimeError("a response callback failed")


def callback_fails_view(request: Request) -> Response:
    request.add_response_callback(_fail)
    return Response("never sent")


def includeme(config: Configurator) -> None:
    config.add_route("escape.callback_fails", "/callback-fails")
    config.add_view(callback_fails_view, route_name="escape.callback_fails", permission=PUBLIC)
