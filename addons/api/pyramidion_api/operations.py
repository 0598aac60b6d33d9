"""The operations the API serves: one list in the registry that both
directives fill and the OpenAPI generator reads.

An :class:`Operation` is one (path, method) pair with what the document
needs to say about it. ``config.add_api_resource`` records up to six of
them per resource, ``config.add_api_view`` one per call.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyramidion import CoreSettings, get_settings

from .settings import ApiSettings

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pyramid.config import Configurator
    from pyramid.registry import Registry

__all__ = ["ApiState", "Operation", "add_api_error", "api_operations", "api_state"]


@dataclass(frozen=True)
class Operation:
    """One API operation, as the OpenAPI document describes it.

    ``path`` is relative to the versioned base (``/posts/{id}``);
    ``request_schema`` and ``response_schema`` are colander schemas (or
    JSON Schema dicts) of the body sent and of the body answered with
    ``status``; ``errors`` are the other statuses the operation can answer
    (each as problem+json); ``parameters`` are OpenAPI parameter objects
    beyond the path's own.
    """

    path: str
    method: str
    operation_id: str
    route_name: str
    summary: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    permission: str | None = None
    request_schema: Any = None
    response_schema: Any = None
    status: int = 200
    errors: tuple[int, ...] = ()
    parameters: tuple[dict[str, Any], ...] = ()
    #: The resource this operation belongs to, for add_api_resource's operations.
    resource: str | None = None
    #: What the operation does to a resource: list, create, get, update, replace, delete.
    action: str | None = None
    #: Free-form extra data for the generator (response headers, examples).
    extra: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass
class ApiState:
    """What the API add-on keeps in the registry while the app is configured."""

    settings: ApiSettings
    #: The versioned base of every API path, as the site sees it: ``/api/v1``.
    base: str
    #: The key that signs collection cursors (``api.cursor_secret``).
    cursor_key: bytes = b""
    operations: list[Operation] = field(default_factory=list)
    #: The route of each path (relative to ``base``), so that a resource and
    #: an add-on's own views on the same path share one route.
    routes: dict[str, tuple[str, Any]] = field(default_factory=dict)
    #: The resources by name (:class:`pyramidion_api.resources.ApiResource`).
    resources: dict[str, Any] = field(default_factory=dict)
    #: The resource whose views answer on each route.
    by_route: dict[str, Any] = field(default_factory=dict)
    #: The default item factory of each model (the core's ``model_factory``).
    item_factories: dict[type[Any], Any] = field(default_factory=dict)
    #: Statuses any operation may answer (``add_api_error``): status to
    #: ``(description, methods or None for all)``.
    common_errors: dict[int, tuple[str, frozenset[str] | None]] = field(default_factory=dict)


log = logging.getLogger(__name__)

_STATE = "pyramidion_api_state"


def init_state(registry: Registry, route_prefix: str | None) -> ApiState:
    """Create the add-on's state, with the base under ``route_prefix``."""
    settings = get_settings(registry, ApiSettings)
    # Pyramid keeps route prefixes without their slashes ("api").
    prefix = (route_prefix or "").strip("/")
    base = "/".join(["", *([prefix] if prefix else []), settings.version.strip("/")])
    if settings.cursor_secret:
        key = settings.cursor_secret.encode()
    else:
        key = secrets.token_bytes(32)  # this process's own: see the setting's doc
        if not get_settings(registry, CoreSettings).development:
            log.warning(
                "api.cursor_secret is not set: this process signs collection cursors "
                "with a key of its own, so a cursor fails (400) when another process "
                "answers or this one restarts. Set the same random value of at least "
                "32 characters for every process that serves the API."
            )
    state = ApiState(settings=settings, base=base, cursor_key=key)
    setattr(registry, _STATE, state)
    return state


def api_state(registry: Registry) -> ApiState:
    """The API add-on's state; raises a sentence when the add-on is not included."""
    state: ApiState | None = getattr(registry, _STATE, None)
    if state is None:
        raise LookupError(
            "The api add-on is not enabled: add 'api' to pyramidion.addons, or declare "
            "requires=('api',) (or after=('api',) for optional use) in your add-on."
        )
    return state


def add_api_error(
    config: Configurator,
    status: int,
    description: str,
    *,
    methods: Iterable[str] | None = None,
) -> None:
    """Directive: every API operation (of ``methods``, or all) may answer ``status``.

    For what an add-on adds to every request, such as a rate limit's 429
    or a body limit's 413: the OpenAPI document lists the status, with
    ``description``, as a problem+json response of each such operation.
    Two add-ons declaring one status conflict at start-up.
    """
    if not 400 <= status <= 599:
        raise ValueError(f"add_api_error({status}): give an error status, 400 to 599.")
    state = api_state(config.registry)
    wanted = frozenset(m.upper() for m in methods) if methods is not None else None

    def register() -> None:
        state.common_errors[status] = (description, wanted)

    intr = config.introspectable("api errors", status, f"{status} {description}", "api error")
    intr["methods"] = sorted(wanted) if wanted is not None else "all"
    config.action(("pyramidion_api.error", status), register, introspectables=(intr,))


def api_operations(registry: Registry) -> list[Operation]:
    """Every operation registered so far, in registration order."""
    return api_state(registry).operations
