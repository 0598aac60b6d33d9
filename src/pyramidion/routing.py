"""URL dispatch that only tries the routes a path can match.

Pyramid tries every route in the order they were added until one matches,
so each request to an add-on's page pays for the routes of every add-on
included before it. :class:`IndexedRoutesMapper` groups the routes whose
pattern starts with a literal segment (``/auth/...``) by that segment and
tries, for a path, only the routes of its first segment together with
the routes whose first segment is not literal (``/{name}``,
``/*traverse``), in their original order. Which route wins never
changes: a route left out could not have matched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyramid.exceptions import URLDecodeError
from pyramid.interfaces import IRoutesMapper
from pyramid.urldispatch import Route, RoutesMapper

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request

__all__ = [
    "IndexedRoutesMapper",
    "includeme",
    "literal_first_segment",
]

_DYNAMIC = ("{", "*", ":")


def literal_first_segment(pattern: str) -> str | None:
    """The first path segment every path the pattern matches has, if fixed.

    ``/auth/login`` and ``/auth/{id}`` give ``auth``; ``/{name}``,
    ``/auth{suffix}`` and ``/*traverse`` give None.
    """
    if not pattern.startswith("/"):
        pattern = "/" + pattern
    cut = min((i for i in (pattern.find(c) for c in _DYNAMIC) if i >= 0), default=-1)
    literal = pattern[1:] if cut < 0 else pattern[1:cut]
    if "/" in literal:
        return literal.split("/", 1)[0]
    return literal if cut < 0 else None


class IndexedRoutesMapper(RoutesMapper):  # type: ignore[misc]
    """Pyramid's routes mapper, indexed by the first path segment."""

    def __init__(self) -> None:
        super().__init__()
        self._index: tuple[dict[str, tuple[Route, ...]], tuple[Route, ...], int] | None = None

    def connect(self, *args: Any, **kwargs: Any) -> Route:
        self._index = None
        return super().connect(*args, **kwargs)

    def _build_index(self) -> tuple[dict[str, tuple[Route, ...]], tuple[Route, ...], int]:
        routes = list(self.routelist)
        segments = [literal_first_segment(route.pattern) for route in routes]
        generic = tuple(r for r, s in zip(routes, segments, strict=True) if s is None)
        by_segment = {
            key: tuple(r for r, s in zip(routes, segments, strict=True) if s is None or s == key)
            for key in {s for s in segments if s is not None}
        }
        self._index = (by_segment, generic, len(routes))
        return self._index

    def __call__(self, request: Request) -> dict[str, Any]:
        try:
            path = request.path_info or "/"
        except KeyError:
            path = "/"
        except UnicodeDecodeError as e:
            raise URLDecodeError(e.encoding, e.object, e.start, e.end, e.reason) from e
        index = self._index
        if index is None or index[2] != len(self.routelist):
            index = self._build_index()
        by_segment, generic, _count = index
        candidates = by_segment.get(path[1:].split("/", 1)[0], generic)
        for route in candidates:
            match = route.match(path)
            if match is not None:
                predicates = route.predicates
                info = {"match": match, "route": route}
                if predicates and not all(p(info, request) for p in predicates):
                    continue
                return info
        return {"route": None, "match": None}


def includeme(config: Configurator) -> None:
    """Install :class:`IndexedRoutesMapper`, keeping any routes already added."""
    registry = config.registry
    existing = registry.queryUtility(IRoutesMapper)
    if isinstance(existing, IndexedRoutesMapper):
        return
    if existing is not None and type(existing) is RoutesMapper:
        # Packages in pyramid.includes were included before this, and
        # add_route keeps a reference to the mapper it was called with to
        # connect the route later: a new mapper would never receive those
        # routes. Upgrade the existing one in place instead.
        existing.__class__ = IndexedRoutesMapper
        existing._index = None
        return
    if existing is not None:
        # A mapper of some other kind is the application's choice.
        return
    registry.registerUtility(IndexedRoutesMapper(), IRoutesMapper)
