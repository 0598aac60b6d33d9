"""The admin's pages, registered by context type in :mod:`.routes`.

Every page checks its permission on its context (the view's
``permission=``) and, for a page about rows, on each row's
:class:`~pyramidion_admin.resources.ObjectContext`. Unsafe actions are
POSTs carrying the CSRF token (the core refuses one without it); deleting
and bulk actions go through a confirmation page that lists what will
change. Each change calls :func:`pyramidion_admin.history.record_change`
before the session is flushed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import colander
import deform
import sqlalchemy as sa
from pyramid.csrf import get_csrf_token
from pyramid.httpexceptions import HTTPBadRequest, HTTPForbidden, HTTPSeeOther
from pyramid.renderers import render_to_response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import MANYTOONE

from pyramidion import column_value
from pyramidion_forms import FormError, FormView, flash, model_schema

from . import history
from .display import display_value, field_label, object_label
from .files import AdminFileStore, file_fields, file_store, remove_field
from .listing import ListPage, filters_of, list_page, sortable
from .options import AdminAction, ModelAdmin, admin_site
from .resources import (
    AddonSection,
    AdminRoot,
    ModelSection,
    ObjectContext,
    object_key,
    view_permission,
)

if TYPE_CHECKING:
    from pyramid.request import Request
    from pyramid.response import Response

__all__ = [
    "AddView",
    "EditView",
    "ListView",
    "action_view",
    "addon_page",
    "delete_view",
    "object_page",
    "visible_models",
]

TEMPLATES = "pyramidion_admin:templates/"

#: Most rows one bulk action may change at once.
MAX_SELECTED = 1000

#: Longest text kept of an answer to an action's question (``asks``).
MAX_ANSWER = 500


def can(request: Request, action: str | AdminAction, context: Any) -> bool:
    """Whether the user may do ``action`` on ``context`` (a model or a row)."""
    return bool(request.has_permission(view_permission(action), context))


def visible_models(
    request: Request, models: list[ModelAdmin], root: AdminRoot
) -> list[ModelAdmin]:
    """The registrations among ``models`` whose rows the user may see."""
    return [m for m in models if can(request, "view", root[m.addon][m.name])]


def addon_page(context: AddonSection, request: Request) -> dict[str, Any]:
    """``/admin/<addon>/``: that add-on's models the user may see."""
    models = visible_models(request, context.models(), context.__parent__)
    return {
        "page_title": f"Administration: {context.addon}",
        "addon": context.addon,
        "models": models,
    }


def _model_url(
    request: Request, context: ModelSection, *elements: str, query: Mapping[str, Any] | None = None
) -> str:
    return str(request.resource_url(context, *elements, query=query or {}))


def _related_url(request: Request, obj: Any) -> str | None:
    """The admin page of ``obj`` when its model is registered and the user may see it."""
    model_admin = admin_site(request.registry).for_model(type(obj))
    if model_admin is None:
        return None
    root = request.root["admin"]
    section = root[model_admin.addon][model_admin.name]
    if not can(request, "view", section):
        return None
    return str(request.resource_url(section, object_key(obj)))


class ListView:
    """``/admin/<addon>/<model>/``: search, filters, sortable columns, cursor
    pages, and the selection form for bulk actions."""

    def __init__(self, context: ModelSection, request: Request) -> None:
        self.context = context
        self.request = request
        self.model_admin = context.model_admin

    def __call__(self) -> Response:
        page = list_page(self.request, self.model_admin, self.request.GET)
        return render_to_response(
            TEMPLATES + "list.pt",
            {
                "page_title": self.model_admin.plural,
                "view": self,
                "model_admin": self.model_admin,
                "page": page,
                "filters": filters_of(self.model_admin),
                "actions": self.actions(),
                "can_add": can(self.request, "add", self.context),
                "computed": self.computed(page),
                "label": field_label,
                "display": display_value,
                "object_label": object_label,
                "csrf_token": get_csrf_token(self.request),
            },
            request=self.request,
        )

    def actions(self) -> list[tuple[str, str]]:
        """The bulk actions the user may run, as (name, label)."""
        offered = []
        if can(self.request, "delete", self.context):
            offered.append(("delete", "Delete"))
        offered += [
            (a.name, a.label)
            for a in self.model_admin.actions
            if can(self.request, a, self.context)
        ]
        return offered

    def url(self, *elements: str, **query: Any) -> str:
        return _model_url(self.request, self.context, *elements, query=query)

    def computed(self, page: ListPage) -> list[tuple[str, Mapping[Any, str]]]:
        """Each computed column's label and its text for the page's rows, by key."""
        return [
            (column.label, column.values(self.request, page.rows) if page.rows else {})
            for column in self.model_admin.list_computed
        ]

    def row_url(self, obj: Any) -> str:
        return _model_url(self.request, self.context, object_key(obj))

    def page_url(self, page: ListPage, **query: str) -> str:
        return _model_url(self.request, self.context, query={**page.state, **query})

    def sort_url(self, page: ListPage, name: str) -> str | None:
        """The link of a column heading: sort by it, or the other way when it
        already sorts the list; None for a column the list cannot sort by."""
        if name not in sortable(self.model_admin):
            return None
        first = page.sort[0]
        spec = f"-{name}" if first.name == name and not first.descending else name
        state = {k: v for k, v in page.state.items() if k != "sort"}
        return _model_url(self.request, self.context, query={**state, "sort": spec})

    def sorted_by(self, page: ListPage, name: str) -> str | None:
        """``ascending`` or ``descending`` for the column the list is sorted by."""
        first = page.sort[0]
        if first.name != name:
            return None
        return "descending" if first.descending else "ascending"


def _selected(request: Request, context: ModelSection) -> list[Any]:
    model_admin = context.model_admin
    raw = request.POST.getall("ids")
    if len(raw) > MAX_SELECTED:
        raise HTTPBadRequest(f"Select at most {MAX_SELECTED} rows at a time.")
    keys = []
    for value in raw:
        key = column_value(model_admin.pk, value)
        if key is None:
            raise HTTPBadRequest(f"{value!r} is not the key of a {model_admin.label.lower()}.")
        keys.append(key)
    if not keys:
        return []
    rows = request.dbsession.scalars(
        sa.select(model_admin.model).where(model_admin.pk.in_(keys)).order_by(model_admin.pk)
    ).all()
    return list(rows)


def action_view(context: ModelSection, request: Request) -> Response:
    """POST ``/admin/<addon>/<model>/action``: a bulk action on the selected rows.

    Without ``confirm`` it answers the confirmation page, listing the rows
    and what will happen to them; with it, it runs the action (after the
    permission is checked on every row), flashes the outcome and goes back
    to the list.
    """
    model_admin = context.model_admin
    name = request.POST.get("action", "")
    action = model_admin.action(name)
    if name != "delete" and action is None:
        raise HTTPBadRequest(f"{model_admin.plural} have no action {name!r}.")
    permission: str | AdminAction = "delete" if action is None else action
    label = "Delete" if action is None else action.label
    back = request.POST.get("came_from", "")
    list_url = _model_url(request, context)
    if not back.startswith(list_url):
        back = list_url
    rows = _selected(request, context)
    if not rows:
        flash(
            request,
            f"Select the {model_admin.plural.lower()} to {label.lower()} first.",
            "warning",
        )
        return HTTPSeeOther(location=back)
    contexts = [ObjectContext(request, row, parent=context) for row in rows]
    if not all(can(request, permission, c) for c in contexts):
        raise HTTPForbidden()
    destructive = action is None or action.destructive
    if request.POST.get("confirm") != "yes":
        return _confirm_action(request, context, name, label, rows, destructive, back)
    if action is None:
        for row in rows:
            history.record_change(request, row, "delete", None)
        try:
            with request.dbsession.begin_nested():
                for row in rows:
                    request.dbsession.delete(row)
                request.dbsession.flush()
        except IntegrityError:
            return _confirm_action(
                request,
                context,
                name,
                label,
                rows,
                destructive,
                back,
                error=f"These {model_admin.plural.lower()} cannot all be deleted while other "
                "records refer to them.",
                status=409,
            )
        what = model_admin.plural if len(rows) != 1 else model_admin.label
        message = f"{len(rows)} {what.lower()} deleted."
    else:
        # Handlers may query (and so flush) between rows, which would empty
        # the attribute history of the rows changed before: compare with
        # what each row held before the handler ran instead.
        before = [history.snapshot(row) for row in rows]
        message = action.handler(request, rows)
        answers = [
            f"{label}: {text}"
            for name, label in action.asks
            if (text := str(request.POST.get(name, "")).strip()[:MAX_ANSWER])
        ]
        for row, values in zip(rows, before, strict=True):
            history.record_change(
                request,
                row,
                action.name,
                history.changes_since(row, values),
                message="; ".join(answers),
            )
        request.dbsession.flush()
    flash(request, message)
    return HTTPSeeOther(location=back)


def _confirm_action(
    request: Request,
    context: ModelSection,
    name: str,
    label: str,
    rows: list[Any],
    destructive: bool,
    back: str,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    model_admin = context.model_admin
    action = model_admin.action(name)
    response = render_to_response(
        TEMPLATES + "confirm_action.pt",
        {
            "page_title": f"{label}: {len(rows)} {model_admin.plural.lower()}",
            "model_admin": model_admin,
            "action_name": name,
            "action_label": label,
            "rows": [(object_key(r), object_label(r)) for r in rows],
            "destructive": destructive,
            "came_from": back,
            "action_url": _model_url(request, context, "action"),
            "csrf_token": get_csrf_token(request),
            "error": error,
            "asks": () if action is None else action.asks,
            "max_answer": MAX_ANSWER,
        },
        request=request,
    )
    response.status_int = status
    return response


def object_page(context: ObjectContext, request: Request) -> dict[str, Any]:
    """``/admin/<addon>/<model>/<pk>``: the row's fields (secrets left out),
    its related rows and the inline children, with the buttons the user may use."""
    model_admin = context.model_admin
    obj = context.obj
    mapper = sa.inspect(model_admin.model)
    secrets = set(model_admin.secret_fields)
    fields: list[tuple[str, str, str | None]] = []
    for attr in mapper.column_attrs:
        if attr.key in secrets:
            continue
        fields.append((field_label(attr.key), display_value(obj, attr.key), None))
    for rel in mapper.relationships:
        if rel.direction is MANYTOONE and rel.key not in secrets:
            related = getattr(obj, rel.key)
            url = _related_url(request, related) if related is not None else None
            fields.append((field_label(rel.key), display_value(obj, rel.key), url))
    inlines = []
    for name in model_admin.inlines:
        children = list(getattr(obj, name))
        child_admin = admin_site(request.registry).for_model(
            sa.inspect(model_admin.model).relationships[name].mapper.class_
        )
        shown = child_admin.list_display if child_admin is not None else ()
        inlines.append(
            {
                "label": field_label(name),
                "columns": [field_label(c) for c in shown],
                "rows": [
                    (
                        object_label(c),
                        _related_url(request, c),
                        [display_value(c, n) for n in shown],
                    )
                    for c in children
                ],
            }
        )
    return {
        "page_title": f"{model_admin.label}: {object_label(obj)}",
        "model_admin": model_admin,
        "fields": fields,
        "inlines": inlines,
        "can_change": can(request, "change", context),
        "can_delete": can(request, "delete", context),
        "list_url": str(request.resource_url(context.__parent__)),
    }


def delete_view(context: ObjectContext, request: Request) -> Response:
    """``/admin/<addon>/<model>/<pk>/delete``: GET asks for confirmation,
    POST deletes the row and goes back to the list."""
    model_admin = context.model_admin
    list_url = str(request.resource_url(context.__parent__))

    def confirm(error: str | None = None, status: int = 200) -> Response:
        response = render_to_response(
            TEMPLATES + "delete.pt",
            {
                "page_title": f"Delete {model_admin.label.lower()}: {object_label(context.obj)}",
                "error": error,
                "object_url": str(request.resource_url(context)),
                "csrf_token": get_csrf_token(request),
            },
            request=request,
        )
        response.status_int = status
        return response

    if request.method != "POST":
        return confirm()
    history.record_change(request, context.obj, "delete", None)
    try:
        with request.dbsession.begin_nested():
            request.dbsession.delete(context.obj)
            request.dbsession.flush()
    except IntegrityError:
        return confirm(
            f"This {model_admin.label.lower()} cannot be deleted while other records refer to it.",
            status=409,
        )
    flash(request, f"{model_admin.label} “{object_label(context.obj)}” deleted.")
    return HTTPSeeOther(location=list_url)


# -- forms ----------------------------------------------------------------------


def form_schema(
    model_admin: ModelAdmin,
    file_nodes: Mapping[str, Any] | None = None,
    *,
    without: Sequence[str] = (),
) -> Any:
    """The add and edit form: the registration's ``schema``, or the forms
    add-on's ``model_schema`` of its editable fields, with foreign keys as
    an id to type rather than a select of every row of the other table,
    ``file_nodes`` in place of their columns and the fields ``without``
    left out (file fields when no file store is registered)."""
    if model_admin.schema is not None:
        return model_admin.schema
    from deform.widget import TextInputWidget

    mapper = sa.inspect(model_admin.model)
    columns = {attr.key: attr.columns[0] for attr in mapper.column_attrs}
    editable = [
        f
        for f in model_admin.fields
        if f in columns
        and f not in model_admin.readonly_fields
        and f not in model_admin.secret_fields
        and f not in without
    ]
    overrides: dict[str, Any] = {}
    for name in editable:
        if file_nodes and name in file_nodes:
            overrides[name] = file_nodes[name]
        elif columns[name].foreign_keys:
            overrides[name] = {
                "widget": TextInputWidget(attributes={"inputmode": "numeric"}),
                "description": "The id of the related record.",
            }
    return model_schema(model_admin.model, include=editable, overrides=overrides)


class _AdminForm(FormView):
    template = TEMPLATES + "form.pt"
    context: Any
    #: Whether an empty file field keeps the row's file (editing) or is
    #: refused when the column needs one (adding).
    keeps_files = False

    @property
    def model_admin(self) -> ModelAdmin:
        return self.context.model_admin  # type: ignore[no-any-return]

    @property
    def file_store(self) -> AdminFileStore | None:
        return file_store(self.request)

    @property
    def file_fields(self) -> tuple[str, ...]:
        return file_fields(self.model_admin, self.file_store)

    def get_schema(self) -> Any:
        store = self.file_store
        if store is None:
            return form_schema(self.model_admin, without=self.file_fields)
        columns = sa.inspect(self.model_admin.model).columns
        nodes = {}
        for name in self.file_fields:
            optional = self.keeps_files or columns[name].nullable
            nodes[name] = colander.SchemaNode(
                deform.FileData(),
                name=name,
                title=field_label(name.removesuffix("_id")),
                widget=store.widget(self.request),
                missing=colander.null if optional else colander.required,
                description=(
                    "Choose a file to replace the current one; leave empty to keep it."
                    if self.keeps_files
                    else ""
                ),
            )
        return form_schema(self.model_admin, nodes)

    def appstruct_files(self, values: dict[str, Any]) -> dict[str, Any]:
        """``values`` with the file fields empty: the upload widget shows only
        a new upload, the current file is shown beside the form."""
        return {**values, **dict.fromkeys(self.file_fields, colander.null)}

    def current_files(self, obj: Any) -> list[tuple[str, str, str | None]]:
        """(label, file name, download URL) of each of ``obj``'s files."""
        store = self.file_store
        if store is None:
            return []
        shown = []
        for name in self.file_fields:
            file_id = getattr(obj, name, None)
            described = None if file_id is None else store.describe(self.request, file_id)
            if described is not None:
                shown.append((field_label(name), *described))
        return shown

    def assign(self, obj: Any, appstruct: Mapping[str, Any]) -> list[Any]:
        """Set ``appstruct`` on ``obj``; returns the ids of the files that new
        uploads replaced or that were removed.

        File fields come last, so that the registration's ``file_placement``
        sees the row as the form leaves it.
        """
        model_admin = self.model_admin
        attrs = sa.inspect(model_admin.model).attrs
        files = set(self.file_fields) if self.file_store is not None else set()
        for key, value in appstruct.items():
            if key not in attrs or key in model_admin.readonly_fields or key == model_admin.pk.key:
                continue
            if key in model_admin.secret_fields and value in (None, ""):
                # A secret is never shown, so an empty field means "keep it".
                continue
            if key in files:
                continue
            if getattr(obj, key, None) != value:
                setattr(obj, key, value)
        replaced = []
        for key in self.file_fields:
            if key not in files or key not in appstruct or key in model_admin.readonly_fields:
                continue
            value = appstruct[key]
            old = getattr(obj, key, None)
            if value in (None, colander.null):
                if old is not None and appstruct.get(remove_field(key)):
                    setattr(obj, key, None)
                    replaced.append(old)
                continue
            try:
                value = self.keep_file(obj, key, value, old)
            except LookupError as exc:
                raise FormError(str(exc), field=key) from None
            if old is not None and old != value:
                replaced.append(old)
            if old != value:
                setattr(obj, key, value)
        return replaced

    def keep_file(self, obj: Any, key: str, value: Any, old: Any) -> Any:
        """The store's id for the upload ``value`` of ``obj``'s ``key``,
        placed where the registration says when it replaces no file."""
        store: Any = self.file_store
        placement = self.model_admin.file_placement
        if old is None and placement is not None:
            where = placement(self.request, obj, key)
            if where is not None:
                return store.keep(self.request, value, old, placement=dict(where))
        return store.keep(self.request, value, old)

    def save(self, obj: Any, action: str, appstruct: Mapping[str, Any]) -> None:
        """Set ``appstruct`` on ``obj``, record it and flush, in a savepoint.

        A savepoint keeps the transaction usable after a constraint error,
        so the form can be shown again. It begins before the row changes:
        beginning one flushes what is pending, outside its protection, and a
        row that was refused inside it (a new one included) leaves the
        session with it, so the layout's next query does not flush it again.
        Files that new uploads replaced go to the file store once the row
        no longer refers to them.
        """
        dbsession = self.request.dbsession
        try:
            with dbsession.begin_nested():
                replaced = self.assign(obj, appstruct)
                dbsession.add(obj)
                history.record_change(self.request, obj, action, None)
                dbsession.flush()
                if replaced:
                    # The row's relationships to the files still hold the
                    # replaced ones until they are loaded again.
                    dbsession.expire(obj)
                    for file_id in replaced:
                        self.file_store.release(self.request, file_id)  # type: ignore[union-attr]
                    dbsession.flush()
        except IntegrityError:
            raise FormError(
                f"This {self.model_admin.label.lower()} conflicts with another one, or refers "
                "to something that no longer exists. Check the values and try again."
            ) from None


class AddView(_AdminForm):
    """``/admin/<addon>/<model>/add``: a new row."""

    submit_title = "Add"

    def page_values(self) -> dict[str, Any]:
        return {
            "page_title": f"Add {self.model_admin.label.lower()}",
            "readonly": [],
            "current_files": [],
        }

    def appstruct(self) -> Mapping[str, Any]:
        # The columns' own defaults, so a new row starts as the model would.
        values = {}
        for attr in sa.inspect(self.model_admin.model).column_attrs:
            default: Any = attr.columns[0].default
            if getattr(default, "is_scalar", False):
                values[attr.key] = default.arg
        return self.appstruct_files(values)

    def on_success(self, appstruct: dict[str, Any]) -> str:
        obj = self.model_admin.model()
        self.save(obj, "add", appstruct)
        flash(self.request, f"{self.model_admin.label} “{object_label(obj)}” added.")
        return str(self.request.resource_url(self.context, object_key(obj)))


class EditView(_AdminForm):
    """``/admin/<addon>/<model>/<pk>/edit``: change a row; read-only fields
    are shown above the form, secrets are never shown nor pre-filled."""

    submit_title = "Save"
    keeps_files = True

    def bind_kw(self) -> dict[str, Any]:
        return {"context": self.context, "obj": self.context.obj}

    def get_schema(self) -> Any:
        """The form, with "Remove the current file" after each file field
        whose column may be empty and that holds a file now."""
        schema = super().get_schema()
        if self.file_store is None:
            return schema
        obj = self.context.obj
        columns = sa.inspect(self.model_admin.model).columns
        for name in self.file_fields:
            if name not in schema or not columns[name].nullable or getattr(obj, name) is None:
                continue
            index = [child.name for child in schema.children].index(name)
            schema.children.insert(
                index + 1,
                colander.SchemaNode(
                    colander.Boolean(),
                    name=remove_field(name),
                    title=f"Remove the current {field_label(name.removesuffix('_id')).lower()}",
                    description="Ignored when a new file is chosen.",
                    missing=False,
                    widget=deform.widget.CheckboxWidget(),
                ),
            )
        return schema

    def page_values(self) -> dict[str, Any]:
        obj = self.context.obj
        shown = list(self.model_admin.readonly_fields)
        if self.file_store is None:
            # Without a file store a file field cannot change: show its value.
            shown += [n for n in self.file_fields if n in self.model_admin.fields]
        readonly = [(field_label(n), display_value(obj, n)) for n in shown]
        return {
            "page_title": f"Edit {self.model_admin.label.lower()}: {object_label(obj)}",
            "readonly": readonly,
            "current_files": self.current_files(obj),
        }

    def appstruct(self) -> Mapping[str, Any]:
        obj = self.context.obj
        secrets = set(self.model_admin.secret_fields)
        return self.appstruct_files(
            {
                attr.key: getattr(obj, attr.key)
                for attr in sa.inspect(self.model_admin.model).column_attrs
                if attr.key not in secrets
            }
        )

    def on_success(self, appstruct: dict[str, Any]) -> str:
        obj = self.context.obj
        self.save(obj, "change", appstruct)
        flash(self.request, f"{self.model_admin.label} “{object_label(obj)}” saved.")
        return str(self.request.resource_url(self.context))
