"""Routes that can never answer because another add-on's route answers first.

Pyramid tries routes in the order they were added and the first that
matches wins, so a route whose URLs an earlier route of another add-on (or
of the core) also matches is silently unreachable: two add-ons claiming the
same URL pattern under different route names, or a route prefix set in the
ini that lands inside another add-on's routes or static view. Start-up
refuses such an app with one sentence naming both add-ons and the setting
that moves one of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import AddonConflict

if TYPE_CHECKING:
    from pyramid.registry import Registry

    from .state import AppState

__all__ = ["check_reachable_routes"]

_PLACEHOLDER = re.compile(r"\{(?:[^{}]|\{[^{}]*\})*\}")
_REMAINDER = re.compile(r"\*\w+$")


@dataclass(frozen=True)
class _Route:
    name: str
    pattern: str
    owner: str | None
    route: Any


def check_reachable_routes(registry: Registry, state: AppState) -> None:
    """Raise :class:`AddonConflict` when a route of one add-on is shadowed by
    an earlier route of another add-on or of the core."""
    routes = _owned_routes(registry, state)
    for later_index, later in enumerate(routes):
        if later.owner is None:
            continue
        samples = _sample_paths(later)
        if not samples:
            continue
        for earlier in routes[:later_index]:
            if earlier.owner in (None, later.owner) or earlier.route.predicates:
                continue
            if any(earlier.route.match(path) is not None for path in samples):
                raise AddonConflict(_describe(later, earlier, state))


def _owned_routes(registry: Registry, state: AppState) -> list[_Route]:
    from pyramid.interfaces import IRoutesMapper

    mapper = registry.queryUtility(IRoutesMapper)
    if mapper is None:
        return []
    owners: dict[str, str | None] = {}
    packages = {addon.package: addon.name for addon in state.addons}
    packages.setdefault("pyramidion", "pyramidion")
    for item in registry.introspector.get_category("routes"):
        introspectable = item["introspectable"]
        info = getattr(introspectable, "action_info", None)
        owners[introspectable["name"]] = _owner(str(getattr(info, "file", "") or ""), packages)
    return [
        _Route(route.name, route.pattern, owners.get(route.name), route)
        for route in mapper.get_routes()
    ]


def _owner(path: str, packages: dict[str, str]) -> str | None:
    norm = path.replace("\\", "/")
    for package, name in packages.items():
        if f"/{package}/" in norm:
            return name
    return None


def _sample_paths(route: _Route) -> list[str]:
    """Paths the route itself matches, made from its pattern."""
    pattern = route.pattern if route.pattern.startswith("/") else "/" + route.pattern
    samples = []
    for filler in ("1", "x"):
        path = _REMAINDER.sub(filler, _PLACEHOLDER.sub(filler, pattern))
        if route.route.match(path) is not None:
            samples.append(path)
    return samples


def _describe(later: _Route, earlier: _Route, state: AppState) -> str:
    def who(route: _Route) -> str:
        if route.owner == "pyramidion":
            return f"the core's route '{route.name}' ({route.pattern})"
        return f"add-on '{route.owner}' route '{route.name}' ({route.pattern})"

    prefix = state.route_prefixes.get(str(later.owner), "")
    return (
        f"{who(later)} can never be reached: {who(earlier)}, added before it, "
        f"answers the same URLs. Move one of them with its route prefix in the ini "
        f"(for example '{later.owner}.route_prefix = /{later.owner}', now "
        f"'{prefix}'), or disable one of the two add-ons."
    )
