"""Traversal root, children mounted by add-ons, and model contexts.

The root resource is a container: an add-on mounts a child on it with
``config.add_traversal_child(name, factory)``; two add-ons mounting the same
name conflict at start-up. ``factory(request)`` is called only when a
request traverses into that name.

For URL dispatch, :func:`model_factory` makes a route factory that loads a
row by primary key from the route's matchdict (404 when absent), so views
get the object as ``request.context`` and its ``__acl__`` decides access.
"""

from __future__ import annotations

import contextlib
import functools
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from pyramid.authorization import ALL_PERMISSIONS, Allow
from pyramid.httpexceptions import HTTPNotFound

from .inputs import column_value
from .security import ADMIN_PRINCIPAL

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request

__all__ = ["Root", "add_traversal_child", "model_factory"]

M = TypeVar("M")

ChildFactory = Callable[["Request"], Any]

#: Registry attribute holding the mounted children.
_CHILDREN = "pyramidion_traversal_children"


class Root:
    """The traversal root. Admins may do everything below it."""

    __name__ = ""
    __parent__ = None
    __acl__: list[tuple[str, str, Any]] = [(Allow, ADMIN_PRINCIPAL, ALL_PERMISSIONS)]  # noqa: RUF012

    def __init__(self, request: Request, children: Mapping[str, ChildFactory]) -> None:
        # A weak reference: the request holds its root (request.root,
        # request.context), and a strong one back would make every request
        # a reference cycle that only the garbage collector frees.
        self._request = weakref.ref(request)
        self._children = children

    @property
    def request(self) -> Request:
        """The request this root was made for, while it is being served."""
        request = self._request()
        if request is None:
            raise RuntimeError("this traversal root outlived the request it was made for")
        return request

    def __getitem__(self, name: str) -> Any:
        factory = self._children[name]
        child = factory(self.request)
        # Children that allow it learn their place in the tree, so
        # request.resource_url() and ACL inheritance work.
        with contextlib.suppress(AttributeError):
            child.__name__ = name
            child.__parent__ = self
        return child

    def __contains__(self, name: object) -> bool:
        return name in self._children

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._children))


def root_factory(request: Request) -> Root:
    return Root(request, getattr(request.registry, _CHILDREN, {}))


def add_traversal_child(config: Configurator, name: str, factory: ChildFactory) -> None:
    """Directive: mount ``factory`` as the root's child called ``name``."""
    if not name or "/" in name:
        raise ValueError(f"traversal child name {name!r} must be one non-empty path segment")
    factory = config.maybe_dotted(factory)

    def register() -> None:
        children = getattr(config.registry, _CHILDREN, None)
        if children is None:
            children = {}
            setattr(config.registry, _CHILDREN, children)
        children[name] = factory

    intr = config.introspectable("pyramidion traversal children", name, name, "traversal child")
    intr["factory"] = factory
    config.action(("pyramidion.traversal_child", name), register, introspectables=(intr,))


def model_factory(
    model: type[M], *, match: str = "id", parent: Any = None, options: Sequence[Any] = ()
) -> Callable[[Request], M]:
    """A route factory that loads ``model`` by the ``match`` URL segment.

    ``config.add_route("blog.post", "/posts/{id}", factory=model_factory(Post))``
    makes the Post the view's context, so ``Post.__acl__`` (which may be a
    property computed from the row) decides who may see or edit it. Rows
    get ``__parent__`` set to the root (or ``parent``) so ACL inheritance
    reaches the root's admin rule. A segment the key column cannot hold
    (not a number, or a number out of the column's range) is 404 too.
    ``options`` are loader options for the row's SELECT (``joinedload(...)``
    of what every view of the route reads, so that it comes with the row).
    """
    loader_options = tuple(options) or None
    pk_columns = model.__table__.primary_key.columns  # type: ignore[attr-defined]
    if len(pk_columns) != 1:
        raise TypeError(f"model_factory needs a single-column primary key on {model!r}")
    pk_column = next(iter(pk_columns))

    @functools.cache
    def select_row() -> Any:
        # Built once, on first use: building it and its cache key again on
        # every request cost more than running it.
        statement = sa.select(model).where(pk_column == sa.bindparam("pk"))
        return statement.options(*loader_options or ())

    def factory(request: Request) -> M:
        # A key the column cannot hold (too large a number, say) names no row.
        key = column_value(pk_column, request.matchdict.get(match))
        if key is None:
            raise HTTPNotFound()
        if loader_options is None:
            obj = request.dbsession.get(model, key)
        else:
            obj = request.dbsession.execute(select_row(), {"pk": key}).unique().scalar()
        if obj is None:
            raise HTTPNotFound()
        if getattr(obj, "__parent__", None) is None:
            # Rows become locatable, so ACL inheritance reaches the root.
            with contextlib.suppress(AttributeError):
                obj.__parent__ = parent if parent is not None else root_factory(request)
        return obj  # type: ignore[no-any-return]

    factory.__name__ = f"{model.__name__}_factory"
    return factory


def includeme(config: Configurator) -> None:
    """Install the root factory and the ``add_traversal_child`` directive."""
    config.set_root_factory(root_factory)
    config.add_directive("add_traversal_child", add_traversal_child)
