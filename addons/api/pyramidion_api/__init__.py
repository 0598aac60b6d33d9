"""The API add-on: JSON resources from the same colander schemas as the
forms, and an OpenAPI 3.1 document generated from the code.

Enable it with ``pyramidion.addons = api`` (it requires ``auth`` and
``forms``). Everything it serves lives under ``/api/VERSION`` (``/api/v1``
by default; ``api.route_prefix`` moves ``/api``, ``api.version`` names the
version): the resources and views add-ons register, the document at
``/api/v1/openapi.json`` and interactive docs at ``/api/v1/docs``.

Directives (in any add-on that requires ``api``, or that declares
``after=("api",)`` and uses them only when ``api`` is enabled):

``config.add_api_resource(name, *, model, schema, **options)``
    A model as a collection (``GET`` list, ``POST`` create) and items
    (``GET``, ``PATCH``, ``PUT``, ``DELETE``) with cursor pagination,
    declared filters and sorts, ETags and conditional requests, permissions
    from the context's ``__acl__``; see :func:`pyramidion_api.resources.add_api_resource`.
``config.add_api_view(view, path, method, *, request_schema=None, response_schema=None, ...)``
    An add-on's own API view, its body validated by ``request_schema``;
    ``@api_view(path, method, ...)`` is the same, picked up by
    ``config.scan()``. See :func:`pyramidion_api.views.add_api_view`.
``config.add_api_error(status, description, *, methods=None)``
    Every operation (of ``methods``) may answer ``status``: for what an
    add-on adds to every API request (a rate limit's 429, say), so that
    the document lists it.

Python API: ``api_view``, ``api_operations(registry)`` (every operation,
as the document lists them), ``Operation``, ``ApiSettings``.
``request.api_input`` is the body an operation's ``request_schema`` validated.

Errors under the API's prefix are ``application/problem+json`` whatever
the client accepts; anonymous requests that lack a permission get 401 with
``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyramidion import Addon

from .settings import ApiSettings

if TYPE_CHECKING:
    from pyramid.config import Configurator

    from .operations import Operation, api_operations
    from .views import api_view

__all__ = ["ApiSettings", "Operation", "addon", "api_operations", "api_view", "includeme"]

# The public names live in modules that import Pyramid and SQLAlchemy;
# loading them only when used keeps discovering this add-on cheap.
_LAZY = {
    "Operation": "operations",
    "api_operations": "operations",
    "api_view": "views",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def includeme(config: Configurator) -> None:
    """Wire the API add-on into the app.

    Reads the ``api.*`` settings. Registers the directives
    ``add_api_resource``, ``add_api_view`` and ``add_api_error``, the view deriver that
    validates an API view's body (view option ``api_operation``),
    ``request.api_input``, the problem+json exception views and the
    JSON-by-default subscriber for paths under the add-on's prefix, the
    auth's resources ``/me`` and ``/tokens`` (:mod:`pyramidion_api.accounts`),
    the rate limit tween (:mod:`pyramidion_api.ratelimit`; reads
    ``api.rate_limit`` and ``api.rate_limit_window``), and the routes
    ``api.openapi`` (``/api/v1/openapi.json``) and ``api.docs``
    (``/api/v1/docs``, Swagger UI from this package's static files).
    """
    from .operations import add_api_error, init_state
    from .resources import add_api_resource
    from .views import add_api_view, api_input, api_input_deriver

    init_state(config.registry, config.route_prefix)
    config.add_directive("add_api_resource", add_api_resource)
    config.add_directive("add_api_view", add_api_view)
    config.add_directive("add_api_error", add_api_error)
    config.add_view_deriver(api_input_deriver, "pyramidion_api.input")
    config.add_request_method(api_input, "api_input", property=True)
    config.include(".errors")
    config.include(".routes")
    # Auth's resources: auth cannot register them itself (api requires auth).
    config.include(".accounts")
    config.include(".ratelimit")


addon = Addon(
    name="api",
    title="JSON resources, an OpenAPI 3.1 document generated from the code, and its docs",
    includeme="pyramidion_api:includeme",
    requires=("auth", "forms"),
    settings=ApiSettings,
    route_prefix="/api",
)
