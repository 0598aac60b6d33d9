"""The admin's history: who changed which object, when, and from what to what.

:func:`record_change` is the one documented call. The admin's own views
call it for every add, change, delete and action; an add-on's code calls it
for changes it makes itself: imported, when the add-on requires the admin,
or as ``request.record_change(...)`` when the admin is optional (see the
README's "History" section). Records name their object by add-on, model
and primary key, never by a foreign key, so the records of a deleted
object stay readable; secrets are never stored.

The views: ``@@history`` on an object (its records) and on the admin's root
(``/admin/@@history``, the site-wide log with filters and keyset paging).
A user sees the records of the models they may view; the admin group sees
all, including the records of models no longer registered.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyramid.httpexceptions import HTTPBadRequest
from sqlalchemy import ColumnElement, and_, event, false, inspect, or_, select

from pyramidion_auth.interfaces import Clock

from .models import HistoryRecord
from .options import SECRET_NAME, ModelAdmin, admin_site
from .resources import ADMIN_ACCESS, AdminRoot, ObjectContext, view_permission
from .routes import TEMPLATES

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.registry import Registry
    from pyramid.request import Request
    from sqlalchemy.orm import Mapper, Session

__all__ = [
    "CHANGED",
    "SEE_ALL",
    "HistoryFilters",
    "HistoryPage",
    "HistoryView",
    "changes_since",
    "includeme",
    "object_history",
    "read_history",
    "record_change",
    "secret_fields",
    "site_history",
    "snapshot",
    "visible",
]

#: What a secret field's entry in ``changes`` holds instead of its values.
CHANGED = "(changed)"

#: What a binary value is recorded as.
BINARY = "(binary)"

#: The longest object label and message kept.
REPR_LENGTH = 200
MESSAGE_LENGTH = 2000


def secret_fields(mapper: Mapper[Any], declared: tuple[str, ...] = ()) -> frozenset[str]:
    """The column attributes of ``mapper`` whose values history never stores:
    those ``declared`` (a ModelAdmin's ``secret_fields``) and, whatever the
    registration says, those whose name contains password, secret, token,
    hash, digest or api_key and columns with ``info={"secret": True}``:
    better a value missing from the history than a leaked one."""
    secrets = set(declared)
    for prop in mapper.column_attrs:
        if SECRET_NAME.search(prop.key) or any(c.info.get("secret") for c in prop.columns):
            secrets.add(prop.key)
    return frozenset(secrets)


def json_value(value: Any) -> Any:
    """``value`` in a form JSON stores and a person reads: dates in ISO
    format, decimals and UUIDs as strings, enums by value, bytes as
    "(binary)"."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return BINARY
    if isinstance(value, enum.Enum):
        return json_value(value.value)
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    return str(value)


def diff(obj: Any, action: str, secrets: frozenset[str]) -> dict[str, Any]:
    """``{field: [old, new]}`` for ``obj``'s column attributes.

    For ``add``, the values the object has (call after its flush, so that
    defaults are there); for ``delete``, its last values, secrets left out;
    otherwise the fields SQLAlchemy's attribute history says changed since
    the object was loaded or last flushed (call before the flush).
    """
    state = inspect(obj)
    changes: dict[str, Any] = {}
    for prop in state.mapper.column_attrs:
        key = prop.key
        secret = key in secrets
        if action == "add":
            value = getattr(obj, key)
            if value is not None:
                changes[key] = CHANGED if secret else [None, json_value(value)]
        elif action == "delete":
            if not secret:
                changes[key] = [json_value(getattr(obj, key)), None]
        else:
            history = state.attrs[key].history
            if not history.has_changes():
                continue
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if old == new:
                continue
            changes[key] = CHANGED if secret else [json_value(old), json_value(new)]
    return changes


def snapshot(obj: Any) -> dict[str, Any]:
    """The values of ``obj``'s column attributes now, for :func:`changes_since`.

    SQLAlchemy's attribute history, which :func:`record_change` reads by
    default, is emptied by every flush, and any query flushes. Code that
    changes several objects and queries in between (an action that ends a
    user's sessions, then deactivates the next user) takes a snapshot of
    each object first and passes ``changes=changes_since(obj, before)``.
    """
    return {prop.key: getattr(obj, prop.key) for prop in inspect(obj).mapper.column_attrs}


def changes_since(obj: Any, before: Mapping[str, Any]) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for the fields of ``obj`` that differ from
    ``before`` (a :func:`snapshot`), whether or not the session has flushed."""
    changes: dict[str, list[Any]] = {}
    for key, old in before.items():
        new = getattr(obj, key)
        if new != old:
            changes[key] = [old, new]
    return changes


def _masked(changes: Mapping[str, Any], secrets: frozenset[str]) -> dict[str, Any]:
    """Changes a caller passed, made JSON-safe, with secret fields masked
    (and any field whose name says it is one, column or not)."""
    out: dict[str, Any] = {}
    for key, pair in changes.items():
        if key in secrets or SECRET_NAME.search(str(key)):
            out[str(key)] = CHANGED
        elif isinstance(pair, list | tuple) and len(pair) == 2:
            out[str(key)] = [json_value(pair[0]), json_value(pair[1])]
        else:
            out[str(key)] = [None, json_value(pair)]
    return out


def object_label(obj: Any, model_label: str, pk: str) -> str:
    """How a record names its object: the object's own ``str()`` when its
    class defines one, else the model's label and primary key."""
    cls: Any = type(obj)
    own = cls.__str__ is not object.__str__
    return (str(obj) if own else f"{model_label} {pk}")[:REPR_LENGTH]


def registration_of(registry: Registry, model: type[Any]) -> tuple[str, str, str, tuple[str, ...]]:
    """How records name ``model``: (add-on, name, label, secret fields) of
    its admin registration, or for a model not registered, the add-on its
    table's prefix names and the class name in snake case."""
    model_admin = admin_site(registry).for_model(model)
    if model_admin is not None:
        return model_admin.addon, model_admin.name, model_admin.label, model_admin.secret_fields
    table = str(getattr(model, "__tablename__", ""))
    addon = table.split("_", 1)[0] if "_" in table else ""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", model.__name__).lower()
    return addon, name, name.replace("_", " ").capitalize(), ()


def _primary_key(obj: Any) -> str:
    identity = inspect(obj).identity
    if identity is None:
        return ""
    return ",".join(str(part) for part in identity)


def record_change(
    request: Request,
    obj: Any,
    action: str,
    changes: Mapping[str, Any] | None = None,
    message: str = "",
) -> HistoryRecord:
    """Record that the request's user did ``action`` to ``obj``; returns the
    record, added to ``request.dbsession`` (it commits with the change, or
    not at all).

    ``action`` is ``add``, ``change``, ``delete`` or the name of a custom
    action. With ``changes=None`` the changed fields are read from
    SQLAlchemy's attribute history, so call it *before* the session
    flushes (a query flushes it too): right after setting the attributes
    of a change (for a bulk action, after changing all the objects, one
    call per object: recording never flushes them), before
    ``dbsession.delete(obj)`` for a delete; for an ``add``, before the
    flush too: the record is completed with the new object's key and values
    (defaults included) when the session flushes it, and is in the session
    from then on. ``changes`` given as ``{field: [old, new]}`` is stored
    as given, made JSON-safe. Either way the values of secret fields (see
    :func:`secret_fields`) are replaced by "(changed)".

    The model is named as its admin registration names it, or, for a model
    not registered, by its add-on (the table name's prefix) and table name.
    """
    dbsession = request.dbsession
    state = inspect(obj)
    addon, model, label, declared = registration_of(request.registry, type(obj))
    secrets = secret_fields(state.mapper, declared)
    if state.transient:
        dbsession.add(obj)
    # Reading the user may query the session; a flush then would empty the
    # attribute history of the other objects a bulk action changed.
    with dbsession.no_autoflush:
        user = getattr(request, "user", None)
        record = HistoryRecord(
            at=request.find_service(Clock).now(),
            actor_id=None if user is None else user.id,
            actor_label="" if user is None else user.email,
            addon=addon,
            model=model,
            action=action[:100],
            message=message[:MESSAGE_LENGTH],
            request_id=str(getattr(request, "request_id", "") or "")[:200],
        )
        given = None if changes is None else _masked(changes, secrets)

        def complete() -> None:
            pk = _primary_key(obj)
            record.object_pk = pk[:200]
            record.object_repr = object_label(obj, label, pk)
            record.changes = given if given is not None else diff(obj, action, secrets)
            dbsession.add(record)

        if state.key is not None or state.deleted:
            complete()
            return record

    def after_flush(session: Session, context: Any) -> None:
        with session.no_autoflush:
            complete()

    # A new object has no key until it is flushed; the record is completed
    # (key, defaults) and added then, by the flush the caller or the commit
    # makes, so that a constraint error surfaces where the caller expects it.
    event.listen(dbsession, "after_flush_postexec", after_flush, once=True)
    return record


# -- reading ---------------------------------------------------------------------

#: Records per page of the site-wide log and of an object's history.
PAGE_SIZE = 50


@dataclass(frozen=True)
class HistoryFilters:
    """What the site-wide log is narrowed to, from its query string."""

    actor: str = ""
    #: ``addon.model``.
    model: str = ""
    object_pk: str = ""
    action: str = ""
    since: datetime.date | None = None
    until: datetime.date | None = None

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> HistoryFilters:
        """Read the filters; 400 with a sentence for a date that is not one."""
        return cls(
            actor=params.get("actor", "").strip()[:254],
            model=params.get("model", "").strip()[:201],
            object_pk=params.get("object", "").strip()[:200],
            action=params.get("action", "").strip()[:100],
            since=_date(params, "since", "From"),
            until=_date(params, "until", "To"),
        )

    def query(self) -> dict[str, str]:
        """The filters as query-string parameters (empty ones left out)."""
        values = {
            "actor": self.actor,
            "model": self.model,
            "object": self.object_pk,
            "action": self.action,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
        }
        return {key: value for key, value in values.items() if value}

    def conditions(self) -> list[ColumnElement[bool]]:
        """SQL conditions on :class:`HistoryRecord` for these filters."""
        conditions: list[ColumnElement[bool]] = []
        if self.actor:
            conditions.append(HistoryRecord.actor_label == self.actor.lower())
        if self.model:
            addon, _, model = self.model.partition(".")
            conditions.append(HistoryRecord.addon == addon)
            conditions.append(HistoryRecord.model == model)
        if self.object_pk:
            conditions.append(HistoryRecord.object_pk == self.object_pk)
        if self.action:
            conditions.append(HistoryRecord.action == self.action)
        if self.since:
            start = datetime.datetime.combine(self.since, datetime.time())
            conditions.append(HistoryRecord.at >= start)
        if self.until:
            end = datetime.datetime.combine(
                self.until + datetime.timedelta(days=1), datetime.time()
            )
            conditions.append(HistoryRecord.at < end)
        return conditions


def _date(params: Mapping[str, str], name: str, label: str) -> datetime.date | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError:
        raise HTTPBadRequest(
            detail=f"“{label}” must be a date written as YYYY-MM-DD, such as 2026-12-31."
        ) from None


def _cursor(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise HTTPBadRequest(
            detail=f"The “{name}” page link is not valid; start from the first page."
        )
    return int(raw)


@dataclass(frozen=True)
class HistoryPage:
    """One page of records, newest first, with the cursors of its neighbours."""

    records: list[HistoryRecord]
    #: Pass as ``before`` for the next (older) page; None on the last page.
    older: int | None
    #: Pass as ``after`` for the previous (newer) page; None on the first page.
    newer: int | None


def read_history(
    dbsession: Session,
    visible: ColumnElement[bool] | None,
    conditions: list[ColumnElement[bool]],
    params: Mapping[str, str],
    page_size: int = PAGE_SIZE,
) -> HistoryPage:
    """A page of the records matching ``conditions`` that ``visible`` lets
    the user see (None: all), paged by record id: ``?before=ID`` for older
    records, ``?after=ID`` for newer ones. No count of the whole table."""
    before = _cursor(params, "before")
    after = _cursor(params, "after")
    statement = select(HistoryRecord).where(*conditions)
    if visible is not None:
        statement = statement.where(visible)
    if after is not None:
        rows = list(
            dbsession.scalars(
                statement.where(HistoryRecord.id > after)
                .order_by(HistoryRecord.id.asc())
                .limit(page_size + 1)
            )
        )
        more_newer = len(rows) > page_size
        records = list(reversed(rows[:page_size]))
        more_older = True
    else:
        if before is not None:
            statement = statement.where(HistoryRecord.id < before)
        rows = list(
            dbsession.scalars(statement.order_by(HistoryRecord.id.desc()).limit(page_size + 1))
        )
        more_older = len(rows) > page_size
        records = rows[:page_size]
        more_newer = before is not None
    return HistoryPage(
        records=records,
        older=records[-1].id if records and more_older else None,
        newer=records[0].id if records and more_newer else None,
    )


def visible_condition(models: list[tuple[str, str]] | None) -> ColumnElement[bool] | None:
    """The condition that keeps the records of ``models`` ((add-on, model)
    pairs); None (no condition) when ``models`` is None, for the admin group."""
    if models is None:
        return None
    if not models:
        return false()
    return or_(*(and_(HistoryRecord.addon == a, HistoryRecord.model == m) for a, m in models))


# -- views -------------------------------------------------------------------------

#: The permission that only the admin group holds on the admin's root: it
#: sees every record, those of models no longer registered included.
SEE_ALL = "admin.history.all"


def readable_models(request: Request) -> list[ModelAdmin] | None:
    """The registrations whose records the user may read: those they may
    view; None for the admin group, who may read every record."""
    root = admin_root(request)
    if request.has_permission(SEE_ALL, root):
        return None
    site = admin_site(request.registry)
    return [
        model_admin
        for model_admin in site
        if request.has_permission(
            view_permission("view"), root[model_admin.addon][model_admin.name]
        )
    ]


def admin_root(request: Request) -> AdminRoot:
    """The admin's root for ``request`` (its context, or one made for it)."""
    context = request.context
    while context is not None and not isinstance(context, AdminRoot):
        context = getattr(context, "__parent__", None)
    return context if context is not None else AdminRoot(request)


def visible(request: Request) -> ColumnElement[bool] | None:
    """The condition on records that the user may read (None: all)."""
    models = readable_models(request)
    if models is None:
        return None
    return visible_condition([(m.addon, m.name) for m in models])


@dataclass(frozen=True)
class ChangeLine:
    """One field of a record, as a page shows it."""

    field: str
    #: False for a secret field: its values were not recorded.
    recorded: bool
    old: str = ""
    new: str = ""


def change_lines(record: HistoryRecord) -> list[ChangeLine]:
    """The fields of ``record`` in the order they were recorded."""
    lines = []
    for key, value in (record.changes or {}).items():
        if isinstance(value, list) and len(value) == 2:
            lines.append(ChangeLine(key, True, _shown(value[0]), _shown(value[1])))
        else:
            lines.append(ChangeLine(key, False))
    return lines


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= 200 else text[:200] + "…"


class HistoryView:
    """The helpers a history page's template uses."""

    def __init__(self, request: Request, filters: HistoryFilters, page: HistoryPage) -> None:
        self.request = request
        self.filters = filters
        self.page = page
        self.site = admin_site(request.registry)

    def actor(self, record: HistoryRecord) -> str:
        if not record.actor_label:
            return "(not a user)"
        if record.actor_id is None:
            return f"{record.actor_label} (deleted user)"
        return record.actor_label

    def changes(self, record: HistoryRecord) -> list[ChangeLine]:
        return change_lines(record)

    def model_label(self, record: HistoryRecord) -> str:
        model_admin = self.site.get(record.addon, record.model)
        label = model_admin.label if model_admin else record.model
        return f"{label} ({record.addon})"

    def object_url(self, record: HistoryRecord) -> str:
        """The record's object's history in the site-wide log (which also
        holds the records of a deleted object)."""
        params = {"model": f"{record.addon}.{record.model}", "object": record.object_pk}
        return str(self.request.resource_url(admin_root(self.request), "@@history", query=params))

    def page_url(self, **cursor: int) -> str:
        params = {**self.filters.query(), **{k: str(v) for k, v in cursor.items()}}
        return str(self.request.resource_url(self.request.context, "@@history", query=params))


def site_history(context: AdminRoot, request: Request) -> dict[str, Any]:
    """``/admin/@@history``: the records the user may read, newest first,
    with filters (who, model, object, action, dates) and keyset paging."""
    filters = HistoryFilters.from_query(request.GET)
    page = read_history(request.dbsession, visible(request), filters.conditions(), request.GET)
    models = readable_models(request)
    listed = list(admin_site(request.registry)) if models is None else models
    return {
        "page_title": "History",
        "view": HistoryView(request, filters, page),
        "filters": filters,
        "page": page,
        "model_choices": [(f"{m.addon}.{m.name}", f"{m.plural} ({m.addon})") for m in listed],
        "action_choices": _actions(listed),
        "object_page": None,
    }


def object_history(context: ObjectContext, request: Request) -> dict[str, Any]:
    """``/admin/<addon>/<model>/<pk>/@@history``: the object's records, newest first."""
    model_admin = context.model_admin
    filters = HistoryFilters(
        model=f"{model_admin.addon}.{model_admin.name}", object_pk=context.__name__
    )
    page = read_history(request.dbsession, None, filters.conditions(), request.GET)
    label = object_label(context.obj, model_admin.label, context.__name__)
    return {
        "page_title": f"History of {label}",
        "view": HistoryView(request, HistoryFilters(), page),
        "filters": filters,
        "page": page,
        "model_choices": [],
        "action_choices": [],
        "object_page": request.resource_url(context),
    }


def _actions(models: list[ModelAdmin]) -> list[str]:
    names = {"add", "change", "delete"}
    for model_admin in models:
        names.update(action.name for action in model_admin.actions)
    return sorted(names)


def includeme(config: Configurator) -> None:
    """Register ``request.record_change`` (:func:`record_change`, for add-ons
    that do not require the admin and so may not import it) and the history
    views: ``@@history`` on the admin's root (the site-wide log) and on an
    object (its records)."""
    config.add_request_method(record_change, "record_change")
    config.add_view(
        site_history,
        context=AdminRoot,
        name="history",
        renderer=TEMPLATES + "history.pt",
        permission=ADMIN_ACCESS,
    )
    config.add_view(
        object_history,
        context=ObjectContext,
        name="history",
        renderer=TEMPLATES + "history.pt",
        permission=view_permission("view"),
    )
