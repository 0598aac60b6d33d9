"""Views declared with ``@api_view`` (picked up by scan), and bad configurations,
included by dotted name in the tests that need them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import colander

from pyramidion import PUBLIC
from pyramidion_api import api_view

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request


class EchoSchema(colander.Schema):
    words = colander.SchemaNode(
        colander.Sequence(),
        colander.SchemaNode(colander.String(), name="word"),
        validator=colander.Length(min=1, max=3),
    )


@api_view("/echo", "POST", request_schema=EchoSchema, permission=PUBLIC, status=201)
def echo(request: Request) -> dict[str, Any]:
    """Say the words back."""
    return {"words": request.api_input["words"]}


class Clock:
    """A view class: each method is an operation."""

    def __init__(self, request: Request) -> None:
        self.request = request

    @api_view("/clock", "GET", permission=PUBLIC, tags=("time",))
    def read(self) -> dict[str, Any]:
        """Read the clock."""
        return {"time": "12:00"}


def includeme(config: Configurator) -> None:
    config.scan(".extra")
    # 429 (the rate limit) and 403 (a read-scoped token) are the API's own.
    config.add_api_error(503, "Service Unavailable: under maintenance, retry later")


@api_view("/boom", "GET", permission=PUBLIC)
def boom(request: Request) -> dict[str, Any]:
    """Fail, as a bug would."""
    raise RuntimeError("a bug")
