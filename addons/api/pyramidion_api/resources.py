"""``config.add_api_resource``: a model served as a JSON collection and items.

::

    config.add_api_resource(
        "notes",
        model=Note,
        schema=NoteSchema,           # the colander schema the forms use
        filters=("status",),         # ?status=draft
        sort=("created_at", "title"),  # ?sort=-created_at,title
        ordering=("-created_at",),
        permissions={"create": "notes.add"},
    )

gives ``GET``/``POST`` on ``/api/v1/notes`` and ``GET``/``PATCH``/``PUT``/
``DELETE`` on ``/api/v1/notes/{id}``, each recorded as an operation of the
OpenAPI document. Items are loaded by the core's ``model_factory`` (or the
``item_factory`` given), so their ``__acl__`` decides who may do what, as
for the HTML pages.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .operations import Operation, api_state
from .routing import api_route

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request

__all__ = ["ACTIONS", "DEFAULT_PERMISSIONS", "ApiResource", "add_api_resource"]

#: What a resource can do, with the method and the path (collection or item).
ACTIONS: dict[str, tuple[str, str]] = {
    "list": ("GET", "collection"),
    "create": ("POST", "collection"),
    "get": ("GET", "item"),
    "update": ("PATCH", "item"),
    "replace": ("PUT", "item"),
    "delete": ("DELETE", "item"),
}

#: The permission each action needs unless ``permissions=`` names another:
#: reading needs ``view``, writing ``edit``, deleting ``delete``, each checked
#: against the collection's context (for list and create) or the item's.
DEFAULT_PERMISSIONS: dict[str, str] = {
    "list": "view",
    "create": "edit",
    "get": "view",
    "update": "edit",
    "replace": "edit",
    "delete": "delete",
}

#: ``create(request, appstruct)`` returns the new (not yet added) object.
CreateHook = Callable[["Request", dict[str, Any]], Any]
#: ``update(request, obj, appstruct)`` applies validated data to ``obj``.
UpdateHook = Callable[["Request", Any, dict[str, Any]], None]
#: ``delete(request, obj)`` removes ``obj``.
DeleteHook = Callable[["Request", Any], None]
#: ``serializer(request, obj)`` returns an item's JSON object.
Serializer = Callable[["Request", Any], dict[str, Any]]
#: ``query(request, statement)`` narrows the collection's SELECT (a user's own rows, say).
QueryHook = Callable[["Request", Any], Any]


@dataclass(frozen=True)
class ApiResource:
    """A resource's configuration, as ``add_api_resource`` received it, resolved."""

    name: str
    model: type[Any]
    schema: Any
    create_schema: Any
    update_schema: Any
    path: str
    fields: tuple[str, ...]
    filters: tuple[str, ...]
    sort: tuple[str, ...]
    ordering: tuple[str, ...]
    permissions: Mapping[str, str]
    actions: tuple[str, ...]
    require_if_match: bool
    factory: Callable[..., Any] | None
    item_factory: Callable[..., Any]
    query_options: tuple[Any, ...]
    query: QueryHook | None
    page_size: int | None
    max_page_size: int | None
    create: CreateHook | None
    update: UpdateHook | None
    delete: DeleteHook | None
    serializer: Serializer | None
    response_schema: Any
    title: str
    description: str
    tags: tuple[str, ...]
    #: Query parameters of the list beyond filters and paging (OpenAPI
    #: parameter objects), read by the ``query`` hook: a search, say.
    parameters: tuple[dict[str, Any], ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    # Both are read on every request of an item; the mapper answers the
    # same for the life of the process, so each is asked once.

    @functools.cached_property
    def pk(self) -> str:
        """The attribute name of the model's single-column primary key."""
        return str(sa.inspect(self.model).primary_key[0].key)

    @functools.cached_property
    def version_column(self) -> str | None:
        """The attribute of the model's version counter (``version_id_col``), if any."""
        column = sa.inspect(self.model).version_id_col
        if column is None:
            return None
        return str(sa.inspect(self.model).get_property_by_column(column).key)


def add_api_resource(
    config: Configurator,
    name: str,
    *,
    model: type[Any],
    schema: Any,
    create_schema: Any = None,
    update_schema: Any = None,
    path: str | None = None,
    fields: Sequence[str] | None = None,
    filters: Sequence[str] = (),
    sort: Sequence[str] = (),
    ordering: Sequence[str] | None = None,
    permissions: Mapping[str, str] | None = None,
    actions: Sequence[str] = tuple(ACTIONS),
    require_if_match: bool = False,
    factory: Callable[..., Any] | str | None = None,
    item_factory: Callable[..., Any] | str | None = None,
    query_options: Sequence[Any] = (),
    query: QueryHook | str | None = None,
    page_size: int | None = None,
    max_page_size: int | None = None,
    create: CreateHook | str | None = None,
    update: UpdateHook | str | None = None,
    delete: DeleteHook | str | None = None,
    serializer: Serializer | str | None = None,
    response_schema: Any = None,
    title: str | None = None,
    description: str = "",
    tags: Sequence[str] | None = None,
    parameters: Sequence[dict[str, Any]] = (),
) -> None:
    """Directive: serve ``model`` as the JSON resource ``name``.

    - ``schema``: the colander schema (node, class or ``schema(request)``)
      that validates input; ``create_schema`` (POST) and ``update_schema``
      (PUT, and PATCH with only the given fields) default to it.
    - ``path``: relative to the API base; ``/NAME`` by default.
    - ``fields``: the attributes an item's JSON holds; the primary key and
      the schema's fields by default. ``serializer(request, obj)`` replaces
      the default serialization (give ``response_schema`` to document it).
    - ``filters``: fields a client may filter on (``?field=value``);
      ``sort``: fields it may sort on (``?sort=-field``); ``ordering``:
      the default order (``("-created_at",)``; the primary key by default).
      The primary key always ends the order, so every cursor is exact.
    - ``permissions``: action (list, create, get, update, replace, delete)
      to permission name, over :data:`DEFAULT_PERMISSIONS`; ``factory`` is
      the collection's context (the root by default) and ``item_factory``
      the item's (the core's ``model_factory(model)`` by default), whose
      ``__acl__`` grant them.
    - ``actions``: the actions served (all six by default).
    - ``require_if_match``: PATCH, PUT and DELETE without ``If-Match`` get 428.
    - ``query_options``: SQLAlchemy loader options for the list
      (``selectinload(Note.tags)``) so that a page costs a fixed number of
      statements; ``query(request, select)`` narrows the list.
    - ``parameters``: query parameters the list accepts beyond filters and
      paging, as OpenAPI parameter objects (``{"name": "q", "in": "query",
      "schema": {"type": "string"}}``), for the ``query`` hook to read from
      ``request.GET`` (a search); the document lists them.
    - ``page_size`` / ``max_page_size``: over ``api.page_size`` / ``api.max_page_size``.
    - ``create(request, appstruct)`` builds the new object (``model(**appstruct)``
      by default; set the author here); ``update(request, obj, appstruct)``
      applies changes (``setattr`` by default); ``delete(request, obj)``
      removes it (``dbsession.delete`` by default).

    Two resources with one name conflict at start-up (discriminator
    ``("pyramidion_api.resource", name)``).
    """
    from pyramid.exceptions import ConfigurationError

    from .resource_views import register_resource_views

    unknown = [a for a in actions if a not in ACTIONS]
    if unknown:
        raise ConfigurationError(
            f"add_api_resource({name!r}): unknown actions {', '.join(unknown)}; "
            f"the actions are {', '.join(ACTIONS)}."
        )
    unknown = [a for a in (permissions or {}) if a not in ACTIONS]
    if unknown:
        raise ConfigurationError(
            f"add_api_resource({name!r}): permissions= names unknown actions "
            f"{', '.join(unknown)}; the actions are {', '.join(ACTIONS)}."
        )
    mapper = sa.inspect(model)
    if len(mapper.primary_key) != 1:
        raise ConfigurationError(
            f"add_api_resource({name!r}): {model.__name__} needs a single-column primary key."
        )
    attributes = set(mapper.attrs.keys())
    for option, names in (("filters", filters), ("sort", sort)):
        missing = [n for n in names if n not in mapper.columns]
        if missing:
            raise ConfigurationError(
                f"add_api_resource({name!r}): {option}= names {', '.join(missing)}, which "
                f"are not columns of {model.__name__}; its columns are "
                f"{', '.join(mapper.columns.keys())}."
            )
    order = tuple(ordering) if ordering else (str(mapper.primary_key[0].key),)
    missing = [n for n in order if n.lstrip("-") not in mapper.columns]
    if missing:
        raise ConfigurationError(
            f"add_api_resource({name!r}): ordering= names {', '.join(missing)}, which "
            f"are not columns of {model.__name__}."
        )
    resolved_schema = config.maybe_dotted(schema)
    if fields is None:
        from .schemas import schema_field_names

        pk = str(mapper.primary_key[0].key)
        fields = [pk, *(n for n in schema_field_names(resolved_schema) if n != pk)]
        fields = [n for n in fields if n in attributes or hasattr(model, n)]
    resource = ApiResource(
        name=name,
        model=model,
        schema=resolved_schema,
        create_schema=config.maybe_dotted(create_schema) or resolved_schema,
        update_schema=config.maybe_dotted(update_schema) or resolved_schema,
        path="/" + (path if path is not None else name).strip("/"),
        fields=tuple(fields),
        filters=tuple(filters),
        sort=tuple(sort),
        ordering=order,
        permissions={**DEFAULT_PERMISSIONS, **(permissions or {})},
        actions=tuple(actions),
        require_if_match=require_if_match,
        factory=config.maybe_dotted(factory),
        item_factory=config.maybe_dotted(item_factory) or _item_factory(config, model),
        query_options=tuple(query_options),
        query=config.maybe_dotted(query),
        page_size=page_size,
        max_page_size=max_page_size,
        create=config.maybe_dotted(create),
        update=config.maybe_dotted(update),
        delete=config.maybe_dotted(delete),
        serializer=config.maybe_dotted(serializer),
        response_schema=config.maybe_dotted(response_schema),
        title=title or name.replace("_", " ").capitalize(),
        description=description,
        tags=tuple(tags) if tags is not None else (name,),
        parameters=tuple(parameters),
    )
    state = api_state(config.registry)
    collection_route = api_route(config, resource.path, factory=resource.factory)
    item_route = api_route(config, f"{resource.path}/{{id}}", factory=resource.item_factory)
    operations = resource_operations(resource, collection_route, item_route)

    def register() -> None:
        state.resources[name] = resource
        state.operations.extend(operations)

    register_resource_views(config, resource, collection_route, item_route)
    intr = config.introspectable("api resources", name, f"API resource {name}", "api resource")
    intr["model"] = model
    intr["path"] = state.base + resource.path
    intr["actions"] = resource.actions
    intr["permissions"] = dict(resource.permissions)
    config.action(("pyramidion_api.resource", name), register, introspectables=(intr,))


def _item_factory(config: Configurator, model: type[Any]) -> Callable[..., Any]:
    """The core's ``model_factory(model)``, one per model, so that resources
    and views on one model's items share their route's factory."""
    from pyramidion import model_factory

    factories = api_state(config.registry).item_factories
    factory: Callable[..., Any] | None = factories.get(model)
    if factory is None:
        factory = factories[model] = model_factory(model)
    return factory


def resource_operations(
    resource: ApiResource, collection_route: str, item_route: str
) -> list[Operation]:
    """The operations of ``resource``'s actions, for the OpenAPI document."""
    from .resource_views import operation_for

    return [
        operation_for(resource, action, collection_route, item_route)
        for action in resource.actions
    ]
