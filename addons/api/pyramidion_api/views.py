"""An add-on's own API views: ``config.add_api_view`` and ``@api_view``.

::

    @api_view("/posts/{id}/hide", "POST", factory=post_factory,
              request_schema=HideSchema, response_schema=PostOut,
              permission="blog.post.moderate")
    def hide(context, request):
        reason = request.api_input["reason"]    # validated by HideSchema
        ...
        return {"id": context.id, "hidden": True}

``config.scan()`` picks the decorated views up. The body is validated by
``request_schema`` before the view runs (415 when it is not JSON, 422 per
field when it does not validate, through the forms add-on's
``validate_json``); the view returns what the ``json`` renderer writes,
answered with ``status``. Each view is an operation of the OpenAPI
document.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import venusian

from pyramidion import PUBLIC

from .operations import Operation, api_state
from .routing import api_route, route_name_for

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request
    from pyramid.response import Response

__all__ = ["add_api_view", "api_input", "api_input_deriver", "api_view"]

_INPUT = "pyramidion_api.input"
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def add_api_view(
    config: Configurator,
    view: Any,
    path: str,
    method: str = "GET",
    *,
    request_schema: Any = None,
    response_schema: Any = None,
    status: int = 200,
    permission: str | None = None,
    factory: Callable[..., Any] | str | None = None,
    operation_id: str | None = None,
    summary: str = "",
    description: str = "",
    tags: Sequence[str] = (),
    errors: Sequence[int] = (),
    parameters: Sequence[dict[str, Any]] = (),
    content_type: str = "application/json",
    **view_options: Any,
) -> None:
    """Directive: ``view`` answers ``method`` on ``path`` under the API's base.

    - ``path`` is relative to the versioned base (``/me`` is
      ``/api/v1/me``); ``factory`` loads the context of a path with
      placeholders (the core's ``model_factory(Post)``), whose ``__acl__``
      decides ``permission``. Every operation on one path shares its
      route and factory.
    - ``request_schema``: a colander schema (node, class or function of the
      request) the JSON body is validated by before the view runs;
      :func:`api_input` (``request.api_input``) is the result.
    - ``response_schema``: a colander schema (or a JSON Schema dict)
      documenting the body answered with ``status``; ``errors`` adds the
      other statuses the view answers (401, 403, 404, 415 and 422 are
      added where they apply).
    - ``content_type``: the media type of the answer with ``status``, for
      a view that returns bytes of its own (``"*/*"`` for a stored file of
      any type); its body is documented without a schema.
    - ``operation_id``, ``summary``, ``description``, ``tags``,
      ``parameters`` (OpenAPI parameter objects): for the document.
    - ``view_options`` go to ``config.add_view`` (``attr``, ``decorator``...).

    Two views on one method and path conflict at start-up
    (discriminator ``("pyramidion_api.operation", METHOD, path)``).
    """
    from pyramid.exceptions import ConfigurationError

    method = method.upper()
    if method not in _METHODS:
        raise ConfigurationError(
            f"add_api_view({path!r}): method {method!r} is not one of "
            f"{', '.join(sorted(_METHODS))}."
        )
    if request_schema is not None and method not in _BODY_METHODS:
        raise ConfigurationError(
            f"add_api_view({path!r}): a {method} request has no body for request_schema "
            "to validate; declare query parameters with parameters= instead."
        )
    view = config.maybe_dotted(view)
    state = api_state(config.registry)
    path = "/" + path.strip("/")
    route_name = api_route(config, path, factory=config.maybe_dotted(factory))
    statuses = set(errors)
    if permission != PUBLIC:
        statuses |= {401, 403}
    if "{" in path:
        statuses.add(404)
    if request_schema is not None:
        statuses |= {400, 413, 415, 422}
    if method != "GET":
        # A session's request without the CSRF token is refused with 400.
        statuses.add(400)
    operation = Operation(
        path=path,
        method=method,
        operation_id=operation_id or f"{route_name_for(path)[4:] or 'root'}.{method.lower()}",
        route_name=route_name,
        summary=summary or _first_line(view),
        description=description,
        tags=tuple(tags) or (path.strip("/").split("/")[0] or "api",),
        permission=permission,
        request_schema=config.maybe_dotted(request_schema),
        response_schema=config.maybe_dotted(response_schema),
        status=status,
        errors=tuple(sorted(statuses)),
        parameters=tuple(parameters),
        extra={"content_type": content_type} if content_type != "application/json" else {},
    )
    view_options.setdefault("renderer", "json")
    config.add_view(
        view,
        route_name=route_name,
        request_method=(method, "HEAD") if method == "GET" else method,
        permission=permission,
        api_operation=operation,
        **view_options,
    )

    def register() -> None:
        state.operations.append(operation)

    intr = config.introspectable(
        "api operations", (method, path), f"{method} {state.base}{path}", "api operation"
    )
    intr["operation"] = operation
    config.action(("pyramidion_api.operation", method, path), register, introspectables=(intr,))


def _first_line(view: Any) -> str:
    doc = getattr(view, "__doc__", None) or ""
    return doc.strip().split("\n", 1)[0].strip().rstrip(".")


def api_input(request: Request) -> Any:
    """``request.api_input``: the body as the operation's ``request_schema``
    validated it (None for an operation without one)."""
    return request.environ.get(_INPUT)


def api_input_deriver(view: Callable[..., Any], info: Any) -> Callable[..., Any]:
    """View deriver for ``add_api_view``'s views: check and validate the body,
    set the success status, then call the view."""
    operation: Operation | None = info.options.get("api_operation")
    if operation is None:
        return view
    schema = operation.request_schema
    status = operation.status

    def api_view_wrapper(context: Any, request: Request) -> Response:
        if schema is not None:
            from pyramidion_forms import validate_json

            from .resource_views import require_json

            refused = require_json(request)
            if refused is not None:
                return refused
            request.environ[_INPUT] = validate_json(request, schema)
        request.response.status_int = status
        response: Response = view(context, request)
        return response

    return api_view_wrapper


api_input_deriver.options = ("api_operation",)  # type: ignore[attr-defined]


class api_view:
    """Decorator: ``@api_view(path, method, **options)`` is
    ``config.add_api_view(view, path, method, **options)`` when the module
    is scanned (``config.scan()``)."""

    venusian = venusian

    def __init__(self, path: str, method: str = "GET", **options: Any) -> None:
        self.path = path
        self.method = method
        self.options = options

    def __call__(self, wrapped: Any) -> Any:
        path, method, options = self.path, self.method, dict(self.options)

        def callback(context: Any, name: str, ob: Any) -> None:
            # On a method of a view class, the class is the view.
            view = ob if info.scope == "class" else wrapped
            config = context.config.with_package(info.module)
            config.add_api_view(view, path, method, **options)

        info = self.venusian.attach(wrapped, callback, category="pyramid")
        if info.scope == "class":
            options.setdefault("attr", wrapped.__name__)
        return wrapped
