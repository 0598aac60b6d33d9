"""A plain Pyramid include for the tests: pages only some people may see.

Enabled with ``pyramidion.addons = auth addons.auth.tests.protected_app``.
"""

from __future__ import annotations

from typing import Any

from pyramid.authorization import Allow, Authenticated
from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response


class MembersOnly:
    """A context any logged-in user may view."""

    __acl__ = [(Allow, Authenticated, "view")]  # noqa: RUF012

    def __init__(self, request: Request) -> None:
        self.request = request


def members_page(request: Request) -> Response:
    return Response("Members only")


def members_json(request: Request) -> dict[str, Any]:
    return {"members": True}


def includeme(config: Configurator) -> None:
    config.add_route("test.members", "/members", factory=MembersOnly)
    config.add_view(members_page, route_name="test.members", permission="view")
    config.add_route("test.members_api", "/api/members", factory=MembersOnly)
    config.add_view(
        members_json, route_name="test.members_api", renderer="json", permission="view"
    )
    config.add_route("test.admins", "/admins")
    config.add_view(members_page, route_name="test.admins", permission="test.admin")
