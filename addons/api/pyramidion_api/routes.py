"""The API's own routes: the OpenAPI document and the interactive docs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyramidion import PUBLIC

from .operations import api_state

if TYPE_CHECKING:
    from pyramid.config import Configurator

__all__ = ["includeme"]


def includeme(config: Configurator) -> None:
    """Add ``/VERSION/openapi.json`` and ``/VERSION/docs`` (with its static files)."""
    from . import docs

    base = api_state(config.registry).base
    saved = config.route_prefix
    # The add-on's own routes sit under the versioned base, as the operations do.
    config.route_prefix = base
    try:
        config.add_route("api.openapi", "/openapi.json")
        config.add_route("api.docs", "/docs")
        config.add_static_view(
            "docs/static", "pyramidion_api:static/", permission=PUBLIC, cache_max_age=3600
        )
    finally:
        config.route_prefix = saved
    config.add_view(
        docs.openapi_json,
        route_name="api.openapi",
        request_method=("GET", "HEAD"),
        permission=PUBLIC,
    )
    config.add_view(
        docs.docs_page,
        route_name="api.docs",
        request_method=("GET", "HEAD"),
        permission=PUBLIC,
    )
