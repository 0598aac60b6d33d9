"""Request extensions compiled into one class per application.

Pyramid applies ``config.add_request_method`` extensions to every request
as it is made; when any of them is a property (``reify=True`` or
``property=True``, as ``request.dbsession``, ``request.tm`` and most
add-ons' are), it builds a new subclass of the request class for every
request, which costs more than routing and rendering a small view together.

Once the application is created, :func:`pyramidion.make_app` (and so
``egg:pyramidion``) bakes every extension into a single subclass and tells
the router to use it as is. An application that embeds Pyramidion with
``config.include("pyramidion")`` gets the same by calling
``compile_request_extensions(config.make_wsgi_app())``. The registry keeps
its extensions, so ``pyramid.scripting.prepare`` (``pshell``, ``bootstrap``)
still applies them to the requests it makes.

(This is not done from an ``ApplicationCreated`` subscriber: registering any
subscriber makes Pyramid dispatch every request event to the registry.)

:func:`skip_unobserved_events` deals with that cost once some add-on does
subscribe to an event: Pyramid then looks up the subscribers of each of
the five events of every request, even of those nobody subscribes to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyramid.request import Request
from zope.interface import providedBy

if TYPE_CHECKING:
    from pyramid.registry import Registry
    from pyramid.router import Router


__all__ = [
    "compile_request_extensions",
    "skip_unobserved_events",
]


def compile_request_extensions(router: Router) -> None:
    """Replace the router's per-request extensions by a request subclass.

    Does nothing when there are no extensions, or when the request factory
    is not a Request class (a custom factory function keeps Pyramid's way).
    """
    extensions = router.request_extensions
    factory: Any = router.request_factory
    if extensions is None or not (isinstance(factory, type) and issubclass(factory, Request)):
        return
    attributes: dict[str, Any] = {"__module__": factory.__module__}
    # Methods are plain functions taking the request first, so as class
    # attributes they bind exactly as Pyramid binds them per request.
    attributes.update(extensions.methods)
    attributes.update(extensions.descriptors)
    router.request_factory = type(factory.__name__, (factory,), attributes)
    router.request_extensions = None


def skip_unobserved_events(registry: Registry) -> None:
    """Make ``registry.notify`` return at once for events nobody subscribes to.

    Whether an event has subscribers is looked up once per interface
    specification it provides and remembered until the registry's
    subscriptions change (zope.interface counts each change), so a
    subscriber added later is still called. Events are otherwise
    dispatched by Pyramid's own ``notify``.
    """
    adapters = registry.adapters
    if "notify" in registry.__dict__ or not hasattr(adapters, "_generation"):
        return
    dispatch = registry.notify
    observed: dict[Any, bool] = {}
    seen_generation = [adapters._generation]

    def notify(*events: Any) -> None:
        if not registry.has_listeners:
            return
        if len(events) == 1:
            if adapters._generation != seen_generation[0]:
                observed.clear()
                seen_generation[0] = adapters._generation
            spec = providedBy(events[0])
            found = observed.get(spec)
            if found is None:
                found = observed[spec] = bool(adapters.subscriptions([spec], None))
            if not found:
                return
        dispatch(*events)

    registry.notify = notify
