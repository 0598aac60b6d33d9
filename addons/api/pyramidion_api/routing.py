"""Routes under the API's versioned base, shared by resources and views."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from pyramidion import PUBLIC

from .operations import api_state

if TYPE_CHECKING:
    from pyramid.config import Configurator

__all__ = ["api_route", "route_name_for"]


@contextmanager
def _at_api_base(config: Configurator) -> Iterator[None]:
    # An add-on calls the directives under its own route prefix (the blog's
    # is the site root); API paths live under the API's base instead, so
    # the prefix is set to it for the routes added here and put back.
    saved = config.route_prefix
    config.route_prefix = api_state(config.registry).base
    try:
        yield
    finally:
        config.route_prefix = saved


def route_name_for(path: str) -> str:
    """A route name for an API path: ``/posts/{id}/hide`` gives ``api.posts.id.hide``."""
    words = re.findall(r"[A-Za-z0-9_]+", path.split(":", 1)[0])
    return ".".join(["api", *words]) if words else "api.root"


def api_route(
    config: Configurator,
    path: str,
    *,
    factory: Callable[..., Any] | None = None,
    name: str | None = None,
) -> str:
    """The name of the route of ``path`` (relative to the API base), added if new.

    A path has one route whatever the number of operations on it; the
    first caller's ``factory`` loads the context for all of them, and a
    later caller naming another factory is a configuration error.
    """
    from pyramid.exceptions import ConfigurationError

    state = api_state(config.registry)
    path = "/" + path.strip("/") if path.strip("/") else "/"
    known = state.routes.get(path)
    if known is not None:
        route_name, known_factory = known
        if factory is not None and known_factory is not None and factory is not known_factory:
            raise ConfigurationError(
                f"The API path {path!r} already has a route ({route_name}) with the context "
                f"factory {known_factory!r}; every operation on one path shares its context. "
                "Pass the same factory, or none."
            )
        return route_name
    route_name = name or route_name_for(path)
    with _at_api_base(config):
        config.add_route(route_name, path, factory=factory)
    state.routes[path] = (route_name, factory)
    _add_method_not_allowed(config, route_name, path)
    return route_name


def _add_method_not_allowed(config: Configurator, route_name: str, path: str) -> None:
    # Views with a request_method predicate are tried first; this one, with
    # none, answers the methods no operation on the path accepts.
    from .errors import method_not_allowed

    config.add_view(method_not_allowed, route_name=route_name, permission=PUBLIC)
