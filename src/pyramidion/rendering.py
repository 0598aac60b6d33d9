"""A direct path for views rendered by Pyramid's ``json`` renderer.

For every view whose result it renders, Pyramid clones the view's renderer
helper, which looks its renderer factory up again and makes a new renderer,
builds the renderer's system values and a ``BeforeRender`` event and
notifies it, makes ``request.response``, parses its content type to replace
it, and sets the serialized text, which WebOb parses the charset again to
encode. For a JSON hello that is more than half of what serving the request
costs in Pyramid (see docs/performance.md).

The view deriver here sits between Pyramid's ``rendered_view`` and the
view, and turns the result of a view configured with ``renderer="json"``
into the response that renderer would make: the same body, ``Content-Type:
application/json`` and ``Content-Length``, kept as ``request.response``.
``rendered_view`` passes a response through untouched. Wherever the
outcome could differ from Pyramid's, the result is left to Pyramid's
renderer instead:

- ``json`` is not :class:`pyramid.renderers.JSON` serializing with
  :func:`json.dumps` (an app that registered a renderer of its own);
- a response factory is registered (the response would be its);
- the view used ``request.response`` (its status, headers or cookies must
  stay) or a subscriber set ``request.override_renderer``;
- anything subscribes to ``BeforeRender`` (it may change the value);
- the result adapts to a response (``config.add_response_adapter``);
- the value needs an adapter or ``__json__`` (:func:`json.dumps` raises
  ``TypeError``; Pyramid's renderer serializes it again with its default).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyramid.events import BeforeRender
from pyramid.interfaces import IRendererFactory, IResponse, IResponseFactory
from pyramid.renderers import JSON, RendererHelper
from pyramid.response import Response
from zope.interface import implementedBy

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request

__all__ = [
    "includeme",
    "json_view",
]

View = Callable[[Any, Any], Any]

_BEFORE_RENDER = (implementedBy(BeforeRender),)


class _Unknown:
    """Not looked up yet."""


_UNKNOWN = _Unknown()


def json_view(view: View, info: Any) -> View:
    """The view deriver: ``view``, rendering its JSON directly where it can."""
    renderer = info.options.get("renderer")
    if not isinstance(renderer, RendererHelper) or renderer.type != "json":
        return view
    registry = info.registry
    adapters = registry.adapters
    # Known at the first request, once the configuration is committed:
    # an app may register its renderer or response factory after its views.
    dumps: Callable[[Any], str] | _Unknown | None = _UNKNOWN

    def render_json(context: Any, request: Request) -> Any:
        nonlocal dumps
        result = view(context, request)
        if result.__class__ is Response:
            return result
        if isinstance(dumps, _Unknown):
            dumps = _json_dumps(registry)
        attrs = request.__dict__
        if (
            dumps is None
            or "response" in attrs
            or "override_renderer" in attrs
            or adapters.subscriptions(_BEFORE_RENDER, None)
            or registry.queryAdapterOrSelf(result, IResponse) is not None
        ):
            return result
        try:
            body = dumps(result)
        except TypeError:
            return result
        response = Response(body=body.encode(), content_type="application/json", charset=None)
        attrs["response"] = response
        return response

    return render_json


def _json_dumps(registry: Any) -> Callable[[Any], str] | None:
    """How the app's ``json`` renderer serializes, if it is Pyramid's ``JSON``
    with :func:`json.dumps` and responses are Pyramid's own; else ``None``."""
    plain: Callable[[Any], str] = json.dumps
    factory = registry.queryUtility(IRendererFactory, name="json")
    if not isinstance(factory, JSON) or factory.serializer is not json.dumps:
        return None
    if registry.queryUtility(IResponseFactory) is not None:
        return None
    options: dict[str, Any] = dict(factory.kw)
    if not options:
        # With no options json.dumps uses its shared, C-accelerated encoder.
        return plain

    def dumps(value: Any) -> str:
        return json.dumps(value, **options)

    return dumps


def includeme(config: Configurator) -> None:
    config.add_view_deriver(json_view, under="rendered_view", over="mapped_view")
