"""The views of ``config.add_api_resource``: list, create, get, update, replace, delete."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pyramid.httpexceptions import HTTPConflict, HTTPNotModified

from pyramidion import problem_response

from .collections import (
    encode_cursor,
    filter_clauses,
    keyset_condition,
    order_clauses,
    parse_list_query,
)
from .operations import Operation, api_state
from .representation import etag_of, serialize, strong_etags, weak_etags
from .schemas import partial_schema

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request
    from pyramid.response import Response

    from .resources import ApiResource

__all__ = ["operation_for", "register_resource_views"]

#: Content types a body may be sent as (PATCH also takes JSON Merge Patch's,
#: whose meaning it has: the fields sent are changed, the others kept).
JSON_TYPES = frozenset({"application/json"})
PATCH_TYPES = JSON_TYPES | {"application/merge-patch+json"}


def require_json(request: Request, accepted: frozenset[str] = JSON_TYPES) -> Response | None:
    """A 415 problem when the request's body is not sent as JSON, else None."""
    if request.content_type in accepted:
        return None
    return problem_response(
        request,
        415,
        "Unsupported Media Type",
        f"Send the body as JSON, with Content-Type: {' or '.join(sorted(accepted))}.",
    )


class ResourceViews:
    """The six views of one resource, as a view class (Pyramid creates one per request)."""

    def __init__(self, context: Any, request: Request) -> None:
        self.context = context
        self.request = request
        self.resource: ApiResource = api_state(request.registry).by_route[
            request.matched_route.name
        ]

    # -- collection ---------------------------------------------------------------

    def list(self) -> Any:
        """``GET``: a page of items, the ``next`` page's URL and cursor (null on the last)."""
        resource, request = self.resource, self.request
        state = api_state(request.registry)
        settings = state.settings
        query = parse_list_query(
            resource,
            request.GET,
            page_size=resource.page_size or settings.page_size,
            max_page_size=resource.max_page_size or settings.max_page_size,
            cursor_key=state.cursor_key,
        )
        model = resource.model
        statement = sa.select(model).options(*resource.query_options)
        if resource.query is not None:
            statement = resource.query(request, statement)
        statement = statement.where(*filter_clauses(model, query.filters))
        if query.after is not None:
            statement = statement.where(keyset_condition(model, query.order, query.after))
        statement = statement.order_by(*order_clauses(model, query.order)).limit(query.limit + 1)
        rows = list(request.dbsession.scalars(statement).unique())
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        items = [self._fields(serialize(request, resource, row), query.fields) for row in rows]
        next_url = None
        cursor = None
        if more:
            last = rows[-1]
            cursor = encode_cursor(
                tuple(getattr(last, n) for n, _ in query.order), query.sort, state.cursor_key
            )
            params = [(k, v) for k, v in request.GET.items() if k != "cursor"]
            next_url = request.current_route_url(_query=[*params, ("cursor", cursor)])
            request.response.headers["Link"] = f'<{next_url}>; rel="next"'
        return {"items": items, "next": next_url, "next_cursor": cursor}

    def create(self) -> Any:
        """``POST``: a new item from the body: 201 with ``Location`` and ``ETag``."""
        resource, request = self.resource, self.request
        refused = require_json(request)
        if refused is not None:
            return refused
        from pyramidion_forms import validate_json

        appstruct = validate_json(request, resource.create_schema)
        if resource.create is not None:
            obj = resource.create(request, appstruct)
        else:
            obj = resource.model(**appstruct)
        request.dbsession.add(obj)
        _flush(request)
        representation = serialize(request, resource, obj)
        response = request.response
        response.status_int = 201
        response.headers["ETag"] = etag_of(resource, obj, representation)
        response.location = request.route_url(
            _item_route(request, resource), id=getattr(obj, resource.pk)
        )
        return representation

    # -- item ---------------------------------------------------------------------

    def get(self) -> Any:
        """``GET``: the item with its ``ETag``, or 304 when ``If-None-Match`` names it."""
        resource, request, obj = self.resource, self.request, self.context
        representation = serialize(request, resource, obj)
        etag = etag_of(resource, obj, representation)
        header = request.environ.get("HTTP_IF_NONE_MATCH")
        if header is not None:
            anything, tags = weak_etags(header)
            if anything or etag in tags:
                raise HTTPNotModified(headers={"ETag": etag})
        request.response.headers["ETag"] = etag
        fields = self._requested_fields()
        return self._fields(representation, fields)

    def update(self) -> Any:
        """``PATCH``: change the fields the body holds, keep the others."""
        return self._change(partial=True)

    def replace(self) -> Any:
        """``PUT``: the item as the body says; fields left out take their defaults."""
        return self._change(partial=False)

    def delete(self) -> Any:
        """``DELETE``: remove the item: 204."""
        resource, request, obj = self.resource, self.request, self.context
        refused = self._precondition()
        if refused is not None:
            return refused
        if resource.delete is not None:
            resource.delete(request, obj)
        else:
            request.dbsession.delete(obj)
        request.dbsession.flush()
        from pyramid.response import Response

        response = Response(status=204)
        # No body, so no type (WebOb gives every response text/html by default).
        response.content_type = None
        return response

    def _change(self, *, partial: bool) -> Any:
        resource, request, obj = self.resource, self.request, self.context
        refused = require_json(request, PATCH_TYPES if partial else JSON_TYPES)
        if refused is None:
            refused = self._precondition()
        if refused is not None:
            return refused
        from pyramidion_forms import validate_json

        schema = partial_schema(resource.update_schema) if partial else resource.update_schema
        appstruct = validate_json(request, schema, obj=obj)
        if resource.update is not None:
            resource.update(request, obj, appstruct)
        else:
            for name, value in appstruct.items():
                setattr(obj, name, value)
        _flush(request)
        representation = serialize(request, resource, obj)
        request.response.headers["ETag"] = etag_of(resource, obj, representation)
        return representation

    def _precondition(self) -> Response | None:
        """428 without If-Match when the resource requires it, 412 when it is stale."""
        resource, request, obj = self.resource, self.request, self.context
        header = request.headers.get("If-Match")
        if header is None:
            if resource.require_if_match:
                return problem_response(
                    request,
                    428,
                    "Precondition Required",
                    "Send If-Match with the ETag of the item as you last read it, so "
                    "that changes made since are not overwritten.",
                )
            return None
        # The row is read again, locked until the transaction ends, so that
        # two clients holding the same ETag cannot both pass this check.
        # Only the item's own row is locked (FOR UPDATE OF): the refresh
        # repeats the loader options the item was read with, and PostgreSQL
        # refuses to lock the outer side of a joined relationship.
        request.dbsession.refresh(obj, with_for_update={"of": type(obj)})
        anything, tags = strong_etags(header)
        current = etag_of(resource, obj, serialize(request, resource, obj))
        if anything or current in tags:
            return None
        response = problem_response(
            request,
            412,
            "Precondition Failed",
            "The item has changed since you read it (its ETag is no longer the one you "
            "sent in If-Match). Read it again, reapply your change and send it with the "
            "new ETag.",
        )
        response.headers["ETag"] = current
        return response

    def _requested_fields(self) -> tuple[str, ...] | None:
        if not self.request.query_string:
            return None  # no query: no need to parse one
        raw = self.request.GET.get("fields")
        if raw is None:
            return None
        from pyramid.httpexceptions import HTTPBadRequest

        fields = tuple(f.strip() for f in raw.split(",") if f.strip())
        wrong = [f for f in fields if f not in self.resource.fields]
        if wrong or not fields:
            raise HTTPBadRequest(
                f"Unknown field {', '.join(wrong) or '(none given)'} in fields; the fields "
                f"are {', '.join(self.resource.fields)}."
            )
        return fields

    @staticmethod
    def _fields(representation: dict[str, Any], fields: tuple[str, ...] | None) -> dict[str, Any]:
        if fields is None:
            return representation
        return {name: representation[name] for name in fields if name in representation}


def _flush(request: Request) -> None:
    """Write the changes now, so that a constraint they break is a 409, not a 500."""
    # Two clients changing one item at the same moment on SQLite: the core
    # marks the refused write retryable, and the retry sees the other's
    # change, so a conditional request answers 412.
    try:
        request.dbsession.flush()
    except sa.exc.IntegrityError:
        # The transaction is aborted with the error response.
        raise HTTPConflict(
            "The data conflicts with what is stored (a value that must be unique is "
            "taken, or a referenced item does not exist). Change it and send it again."
        ) from None


def _item_route(request: Request, resource: ApiResource) -> str:
    return api_state(request.registry).routes[f"{resource.path}/{{id}}"][0]


def register_resource_views(
    config: Configurator, resource: ApiResource, collection_route: str, item_route: str
) -> None:
    """Add the views of ``resource``'s actions on its two routes."""
    from .resources import ACTIONS

    by_route = api_state(config.registry).by_route
    by_route[collection_route] = resource
    by_route[item_route] = resource
    for action in resource.actions:
        method, where = ACTIONS[action]
        config.add_view(
            ResourceViews,
            attr=action,
            route_name=collection_route if where == "collection" else item_route,
            request_method=(method, "HEAD") if method == "GET" else method,
            renderer="json",
            permission=resource.permissions[action],
        )


def operation_for(
    resource: ApiResource, action: str, collection_route: str, item_route: str
) -> Operation:
    """The OpenAPI operation of one of ``resource``'s actions."""
    from .resources import ACTIONS

    method, where = ACTIONS[action]
    path = resource.path if where == "collection" else f"{resource.path}/{{id}}"
    statuses = {
        "list": (200, (400, 401, 403)),
        "create": (201, (400, 401, 403, 409, 413, 415, 422)),
        "get": (200, (304, 400, 401, 403, 404)),
        "update": (200, (400, 401, 403, 404, 409, 412, 413, 415, 422, 428)),
        "replace": (200, (400, 401, 403, 404, 409, 412, 413, 415, 422, 428)),
        "delete": (204, (401, 403, 404, 412, 428)),
    }
    status, errors = statuses[action]
    if not resource.require_if_match:
        errors = tuple(s for s in errors if s != 428)
    words = {
        "list": f"List {resource.title.lower()}",
        "create": f"Create an item of {resource.title.lower()}",
        "get": f"Get an item of {resource.title.lower()}",
        "update": f"Change some fields of an item of {resource.title.lower()}",
        "replace": f"Replace an item of {resource.title.lower()}",
        "delete": f"Delete an item of {resource.title.lower()}",
    }
    request_schema = None
    if action == "create":
        request_schema = resource.create_schema
    elif action in ("update", "replace"):
        request_schema = resource.update_schema
    return Operation(
        path=path,
        method=method,
        operation_id=f"{resource.name}.{action}",
        route_name=collection_route if where == "collection" else item_route,
        summary=words[action],
        description=resource.description,
        tags=resource.tags,
        permission=resource.permissions[action],
        request_schema=request_schema,
        response_schema=None,
        status=status,
        errors=errors,
        resource=resource.name,
        action=action,
        parameters=resource.parameters if action == "list" else (),
    )
