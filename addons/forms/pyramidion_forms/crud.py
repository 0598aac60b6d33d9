"""``config.add_crud``: list, view, add, edit and delete pages for a model."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pyramid.csrf import get_csrf_token
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.interfaces import IRootFactory
from pyramid.renderers import render_to_response
from pyramid.security import NO_PERMISSION_REQUIRED
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import MANYTOONE, joinedload, selectinload

from pyramidion import column_value

from .layout import flash
from .limits import forms_settings
from .schemas import SchemaSource, model_schema
from .views import FormError, FormView

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request
    from pyramid.response import Response

__all__ = ["PAGES", "Crud", "add_crud"]

#: The pages ``add_crud`` makes, each with its route ``NAME.PAGE`` and
#: permission ``NAME.PAGE``.
PAGES = ("list", "view", "add", "edit", "delete")


@dataclass(frozen=True)
class Crud:
    """What one ``add_crud`` call set up; views find it on their class."""

    model: type[Any]
    name: str
    title: str
    plural: str
    columns: tuple[str, ...]
    sortable: frozenset[str]
    default_sort: str
    per_page: int | None
    add_schema: SchemaSource
    edit_schema: SchemaSource
    factory: Callable[[Request], Any] | None
    permissions: Mapping[str, str] = field(default_factory=dict)

    def route(self, page: str) -> str:
        return f"{self.name}.{page}"

    def context(self, request: Request) -> Any:
        """The collection's context; a child of the root, so the root's rules apply too."""
        root = request.registry.getUtility(IRootFactory)(request)
        if self.factory is None:
            return root
        context = self.factory(request)
        if getattr(context, "__parent__", None) is None:
            with contextlib.suppress(AttributeError):
                context.__parent__ = root
        return context

    def eager_options(self) -> list[Any]:
        """Loader options for the relationships the list shows, so rows cost no extra queries."""
        relationships = sa.inspect(self.model).relationships
        options = []
        for name in self.columns:
            if name in relationships:
                attr = getattr(self.model, name)
                options.append(
                    selectinload(attr) if relationships[name].uselist else joinedload(attr)
                )
        return options

    def label(self, name: str) -> str:
        return name.replace("_", " ").capitalize()

    def display(self, obj: Any, name: str) -> str:
        value = getattr(obj, name)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "Yes" if value else "No"
        if hasattr(value, "value") and hasattr(value, "name") and not isinstance(value, str):
            return str(value.value)
        if isinstance(value, list | tuple | set):
            return ", ".join(str(v) for v in value)
        return str(value)

    def pk(self, obj: Any) -> str:
        return "-".join(str(v) for v in sa.inspect(obj).identity)

    def allowed(self, request: Request, page: str, context: Any) -> bool:
        permission = self.permissions[page]
        if permission == NO_PERMISSION_REQUIRED:
            return True
        return bool(request.has_permission(permission, context))


def add_crud(
    config: Configurator,
    model: type[Any],
    *,
    name: str,
    path: str | None = None,
    title: str | None = None,
    plural: str | None = None,
    columns: Sequence[str] | None = None,
    sortable: Sequence[str] | None = None,
    default_sort: str | None = None,
    per_page: int | None = None,
    schema: SchemaSource | None = None,
    add_schema: SchemaSource | None = None,
    edit_schema: SchemaSource | None = None,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    overrides: Mapping[str, Any] | None = None,
    permissions: Mapping[str, str] | None = None,
    factory: Callable[[Request], Any] | str | None = None,
    nav: bool = True,
    nav_order: int = 100,
) -> None:
    """Directive: pages to list, view, add, edit and delete rows of ``model``.

    ``name`` (``"blog.post"``) prefixes the route names ``NAME.list``,
    ``NAME.view``, ``NAME.add``, ``NAME.edit`` and ``NAME.delete`` and the
    permissions of the same names, which are declared; ``permissions``
    maps a page to another permission (``{"list": PUBLIC}``). The pages
    live under ``path`` (default: the table name without the add-on prefix,
    ``/posts``): ``/posts/``, ``/posts/new``, ``/posts/{id}``,
    ``/posts/{id}/edit``, ``/posts/{id}/delete`` (GET asks for confirmation,
    POST deletes). ``factory`` makes the context whose ``__acl__`` grants
    them (default: the root); rows get it as ``__parent__``.

    The list shows ``columns`` (attribute names; relationships are loaded
    with the rows, never one query per row), sorted by ``?sort=NAME`` or
    ``?sort=-NAME`` when NAME is in ``sortable`` (default: the plain
    columns shown) and otherwise by ``default_sort``, ``per_page`` rows a
    page (default: ``forms.per_page``), ``?page=N``.

    Forms use ``add_schema``/``edit_schema``, or ``schema`` for both, or
    :func:`~pyramidion_forms.model_schema` of the model with ``include``,
    ``exclude`` and ``overrides``. With ``nav``, the list is a navigation
    entry for users who may see it.
    """
    mapper = sa.inspect(model)
    if len(mapper.primary_key) != 1:
        raise TypeError(f"add_crud({model.__name__}): the model needs a one-column primary key")
    plain = [
        attr.key
        for attr in mapper.column_attrs
        if not attr.columns[0].primary_key and not attr.columns[0].foreign_keys
    ]
    if columns is None:
        shown_rel = [rel.key for rel in mapper.relationships if rel.direction is MANYTOONE]
        columns = [
            *[c for c in plain if not isinstance(mapper.columns[c].type, sa.Text)],
            *shown_rel,
        ]
    unknown = [c for c in columns if c not in mapper.attrs]
    if unknown:
        raise ValueError(
            f"add_crud({model.__name__}): columns names {', '.join(unknown)}, which "
            f"{model.__name__} does not have"
        )
    sortable = list(sortable) if sortable is not None else [c for c in columns if c in plain]
    not_columns = [s for s in sortable if s not in mapper.column_attrs]
    if not_columns:
        raise ValueError(
            f"add_crud({model.__name__}): sortable names {', '.join(not_columns)}, which "
            "are not columns; only columns can be sorted by"
        )
    if path is None:
        table = mapper.local_table.name
        path = "/" + (table.split("_", 1)[1] if "_" in table else table)
    path = "/" + path.strip("/")
    title = title or model.__name__
    plural = plural or f"{title}s"
    generated = (
        model_schema(model, include=include, exclude=exclude, overrides=overrides)
        if schema is None and (add_schema is None or edit_schema is None)
        else None
    )
    chosen = dict(permissions or {})
    unknown_pages = [p for p in chosen if p not in PAGES]
    if unknown_pages:
        raise ValueError(
            f"add_crud({model.__name__}): permissions names pages {', '.join(unknown_pages)}; "
            f"the pages are {', '.join(PAGES)}"
        )
    for page in PAGES:
        chosen.setdefault(page, f"{name}.{page}")
    crud = Crud(
        model=model,
        name=name,
        title=title,
        plural=plural,
        columns=tuple(columns),
        sortable=frozenset(sortable),
        default_sort=default_sort or mapper.primary_key[0].key,
        per_page=per_page,
        add_schema=add_schema or schema or generated,
        edit_schema=edit_schema or schema or generated,
        factory=config.maybe_dotted(factory),
        permissions=chosen,
    )
    descriptions = {
        "list": f"See the list of {plural.lower()}",
        "view": f"See one {title.lower()}",
        "add": f"Add {plural.lower()}",
        "edit": f"Edit {plural.lower()}",
        "delete": f"Delete {plural.lower()}",
    }
    for page, permission in chosen.items():
        if permission == f"{name}.{page}":
            config.declare_permission(permission, descriptions[page])

    object_factory = _object_factory(crud)
    # "new" is matched before "{id}", so it is registered first.
    routes: list[tuple[str, str, Any, Any]] = [
        ("list", f"{path}/", crud.context, CrudList),
        ("add", f"{path}/new", crud.context, CrudAdd),
        ("view", f"{path}/{{id}}", object_factory, CrudView),
        ("edit", f"{path}/{{id}}/edit", object_factory, CrudEdit),
        ("delete", f"{path}/{{id}}/delete", object_factory, CrudDelete),
    ]
    for page, pattern, route_factory, base in routes:
        view = type(f"{model.__name__}{base.__name__}", (base,), {"crud": crud})
        config.add_route(crud.route(page), pattern, factory=route_factory)
        config.add_view(
            view, route_name=crud.route(page), permission=chosen[page], form_limits=True
        )
    if nav:
        config.add_nav_item(
            crud.route("list"),
            plural,
            route_name=crud.route("list"),
            permission=chosen["list"],
            order=nav_order,
            context=crud.context,
        )
    intr = config.introspectable("pyramidion crud", name, f"{name} ({model.__name__})", "crud")
    intr["model"] = model
    intr["path"] = path
    intr["permissions"] = dict(chosen)
    config.action(("pyramidion_forms.crud", name), None, introspectables=(intr,))


def _object_factory(crud: Crud) -> Callable[[Request], Any]:
    def factory(request: Request) -> Any:
        pk_column = sa.inspect(crud.model).primary_key[0]
        key = column_value(pk_column, request.matchdict["id"])
        if key is None:
            raise HTTPNotFound()
        obj = request.dbsession.get(crud.model, key, options=crud.eager_options())
        if obj is None:
            raise HTTPNotFound()
        if getattr(obj, "__parent__", None) is None:
            # The row inherits the collection's ACL unless it has its own rules.
            obj.__parent__ = crud.context(request)
        return obj

    factory.__name__ = f"{crud.model.__name__}_crud_factory"
    return factory


class _CrudPage:
    crud: Crud

    def __init__(self, context: Any, request: Request) -> None:
        self.context = context
        self.request = request

    def render(self, template: str, values: dict[str, Any], status: int = 200) -> Response:
        values = {"crud": self.crud, "view": self, **values}
        response = render_to_response(
            f"pyramidion_forms:templates/{template}", values, request=self.request
        )
        response.status_int = status
        return response

    def url(self, which: str, obj: Any = None, query: Mapping[str, Any] | None = None) -> str:
        """The URL of page ``which`` (of ``obj`` for row pages), with ``query``."""
        if obj is None:
            return str(self.request.route_url(self.crud.route(which), _query=query or {}))
        return str(self.request.route_url(self.crud.route(which), id=self.crud.pk(obj)))

    def can(self, page: str, obj: Any = None) -> bool:
        """Whether the user may open ``page`` (for ``obj``, a row on the list)."""
        if obj is not None and getattr(obj, "__parent__", None) is None:
            obj.__parent__ = self.context
        return self.crud.allowed(self.request, page, obj if obj is not None else self.context)


class CrudList(_CrudPage):
    """One page of rows, sorted by a whitelisted column."""

    def __call__(self) -> Response:
        crud = self.crud
        request = self.request
        sort = request.GET.get("sort", crud.default_sort)
        descending = sort.startswith("-")
        column = sort.lstrip("-")
        if column not in crud.sortable and column != crud.default_sort.lstrip("-"):
            # Only whitelisted columns can be sorted by; anything else gets
            # the default order rather than an error page.
            sort, column = crud.default_sort, crud.default_sort.lstrip("-")
            descending = crud.default_sort.startswith("-")
        per_page = crud.per_page or forms_settings(request).per_page
        try:
            page = int(request.GET.get("page", "1"))
        except ValueError:
            raise HTTPNotFound() from None
        total = request.dbsession.scalar(sa.select(sa.func.count()).select_from(crud.model))
        pages = max(1, math.ceil((total or 0) / per_page))
        if not 1 <= page <= pages:
            raise HTTPNotFound()
        order = getattr(crud.model, column)
        pk = sa.inspect(crud.model).primary_key[0]
        query = (
            sa.select(crud.model)
            .options(*crud.eager_options())
            .order_by(order.desc() if descending else order.asc(), pk.asc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
        rows = request.dbsession.scalars(query).unique().all()
        return self.render(
            "crud_list.pt",
            {
                "page_title": crud.plural,
                "rows": rows,
                "sort": sort,
                "page": page,
                "pages": pages,
                "total": total,
            },
        )

    def sort_url(self, column: str) -> str:
        current = self.request.GET.get("sort", self.crud.default_sort)
        return self.url("list", query={"sort": f"-{column}" if current == column else column})

    def page_url(self, page: int) -> str:
        query: dict[str, Any] = {"page": page}
        if "sort" in self.request.GET:
            query["sort"] = self.request.GET["sort"]
        return self.url("list", query=query)


class CrudView(_CrudPage):
    """One row with every column and relationship the list shows."""

    def __call__(self) -> Response:
        crud = self.crud
        mapper = sa.inspect(crud.model)
        names = [
            attr.key
            for attr in mapper.column_attrs
            if not attr.columns[0].primary_key and not attr.columns[0].foreign_keys
        ]
        names += [n for n in crud.columns if n not in names]
        fields = [(crud.label(n), crud.display(self.context, n)) for n in names]
        return self.render(
            "crud_view.pt",
            {"page_title": str(self.context), "obj": self.context, "fields": fields},
        )


class _CrudForm(FormView):
    crud: Crud

    def url(self, page: str, obj: Any) -> str:
        return str(self.request.route_url(self.crud.route(page), id=self.crud.pk(obj)))

    def save(self, obj: Any, appstruct: Mapping[str, Any]) -> None:
        for key, value in appstruct.items():
            if key in sa.inspect(self.crud.model).attrs:
                setattr(obj, key, value)
        dbsession = self.request.dbsession
        try:
            # A savepoint keeps the transaction usable after a constraint
            # error, so the form can be shown again (PostgreSQL would
            # otherwise refuse every further query).
            with dbsession.begin_nested():
                dbsession.add(obj)
                dbsession.flush()
        except IntegrityError:
            raise FormError(
                f"This {self.crud.title.lower()} conflicts with another one, or refers to "
                "something that no longer exists. Check the values and try again."
            ) from None


class CrudAdd(_CrudForm):
    submit_title = "Add"

    def get_schema(self) -> SchemaSource:
        return self.crud.add_schema

    def page_values(self) -> dict[str, Any]:
        return {"page_title": f"Add {self.crud.title.lower()}"}

    def appstruct(self) -> Mapping[str, Any]:
        # The columns' own defaults, so a new row starts as the model would.
        values = {}
        for attr in sa.inspect(self.crud.model).column_attrs:
            default: Any = attr.columns[0].default
            if getattr(default, "is_scalar", False):
                values[attr.key] = default.arg
        return values

    def on_success(self, appstruct: dict[str, Any]) -> str:
        obj = self.crud.model()
        self.save(obj, appstruct)
        flash(self.request, f"{self.crud.title} added.")
        return self.url("view", obj)


class CrudEdit(_CrudForm):
    submit_title = "Save"

    def get_schema(self) -> SchemaSource:
        return self.crud.edit_schema

    def bind_kw(self) -> dict[str, Any]:
        return {"context": self.context, "obj": self.context}

    def page_values(self) -> dict[str, Any]:
        return {"page_title": f"Edit {self.context}"}

    def appstruct(self) -> Mapping[str, Any]:
        # Every column's value: the form shows those its schema has.
        return {
            attr.key: getattr(self.context, attr.key)
            for attr in sa.inspect(self.crud.model).column_attrs
        }

    def on_success(self, appstruct: dict[str, Any]) -> str:
        self.save(self.context, appstruct)
        flash(self.request, f"{self.crud.title} saved.")
        return self.url("view", self.context)


class CrudDelete(_CrudPage):
    """GET asks for confirmation; POST deletes and goes back to the list."""

    def __call__(self) -> Response:
        if self.request.method != "POST":
            return self.confirm()
        dbsession = self.request.dbsession
        try:
            with dbsession.begin_nested():
                dbsession.delete(self.context)
                dbsession.flush()
        except IntegrityError:
            return self.confirm(
                error=f"This {self.crud.title.lower()} cannot be deleted while other "
                "records refer to it.",
                status=409,
            )
        flash(self.request, f"{self.crud.title} deleted.")
        return HTTPSeeOther(location=self.url("list"))

    def confirm(self, error: str | None = None, status: int = 200) -> Response:
        return self.render(
            "crud_delete.pt",
            {
                "page_title": f"Delete {self.context}",
                "obj": self.context,
                "error": error,
                "csrf_token": get_csrf_token(self.request),
            },
            status=status,
        )
