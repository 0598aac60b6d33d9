"""What a registration says: :class:`ModelAdmin`, :class:`AdminAction`, and
the directive ``config.add_admin_model`` that makes them.

An add-on registers a model with::

    config.add_admin_model(
        Post,
        list_display=("title", "author", "hidden", "created_at"),
        search_fields=("title", "body"),
        list_filter=("hidden", "created_at", "author"),
        actions=[{"name": "hide", "label": "Hide", "handler": hide_posts}],
    )

Every option left out gets a default from the model's columns and
relationships (see :func:`add_admin_model`). Permissions are strings
``admin.<addon>.<model>.<action>`` made by :func:`model_permission`; the
actions ``view``, ``add``, ``change`` and ``delete`` exist for every model,
and each :class:`AdminAction` adds its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import MANYTOONE, ONETOMANY

from pyramidion import app_state

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.registry import Registry
    from pyramid.request import Request

__all__ = [
    "BASE_ACTIONS",
    "ActionHandler",
    "AdminAction",
    "AdminSite",
    "ComputedColumn",
    "FilePlacement",
    "ModelAdmin",
    "add_admin_model",
    "admin_site",
    "model_permission",
]

#: The actions every registered model has, each with its permission.
BASE_ACTIONS = ("view", "add", "change", "delete")

#: ``handler(request, objects)`` does the action to the selected rows and
#: returns the message flashed afterwards.
ActionHandler = Callable[["Request", Sequence[Any]], str]

#: Column names whose values are never shown, pre-filled or recorded,
#: unless a registration says otherwise with ``secret_fields``.
SECRET_NAME = re.compile(r"(password|secret|token|hash|digest|api_key)", re.IGNORECASE)

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

#: The fields the confirmation page of an action posts itself.
_CONFIRM_FIELDS = frozenset({"csrf_token", "action", "confirm", "came_from", "ids"})


@dataclass(frozen=True)
class AdminAction:
    """An action on selected rows of a model, offered on its list page.

    ``handler(request, objects)`` returns the flash message. ``permission``
    defaults to ``admin.<addon>.<model>.<name>``. A ``destructive`` action
    is shown as such and its confirmation page says it cannot be undone.
    ``asks`` names text fields, ``(name, label)``, that the confirmation
    page asks for (a reason, say): the handler reads them from
    ``request.POST``, and what was written is the message of each row's
    history record.
    """

    name: str
    label: str
    handler: ActionHandler
    permission: str | None = None
    destructive: bool = False
    asks: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not _NAME.match(self.name) or self.name in BASE_ACTIONS:
            raise ValueError(
                f"admin action name {self.name!r} must be lower-case letters, digits and "
                f"underscores, and not one of {', '.join(BASE_ACTIONS)}"
            )
        if not callable(self.handler):
            raise TypeError(f"admin action {self.name!r}: handler must be callable")
        try:
            asks = tuple((str(name), str(label)) for name, label in self.asks)
        except (TypeError, ValueError):
            raise TypeError(
                f"admin action {self.name!r}: asks must be (name, label) pairs"
            ) from None
        taken = [n for n, _ in asks if not _NAME.match(n) or n in _CONFIRM_FIELDS]
        if taken:
            raise ValueError(
                f"admin action {self.name!r}: asks names {', '.join(taken)}; use lower-case "
                f"letters, digits and underscores, and not {', '.join(sorted(_CONFIRM_FIELDS))}"
            )
        # A frozen dataclass: normalise the pairs given as lists.
        object.__setattr__(self, "asks", asks)


#: ``values(request, rows)`` gives a computed column's text for a page's
#: rows, by primary key: one call (one query, say) for the whole page.
ComputedValues = Callable[["Request", Sequence[Any]], Mapping[Any, str]]

#: ``placement(request, obj, field)`` says what a new file in ``obj``'s
#: column ``field`` belongs to: keyword arguments for the file store's
#: ``keep`` (storage's: ``owner_id``, ``public``, ``realm``), or None for
#: the store's own default. Called once the form's other values are set.
FilePlacement = Callable[["Request", Any, str], "Mapping[str, Any] | None"]


@dataclass(frozen=True)
class ComputedColumn:
    """A list column that is not a model attribute (a file's state, say),
    shown after ``list_display``; it cannot be sorted by."""

    name: str
    label: str
    values: ComputedValues

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(
                f"computed column name {self.name!r} must be lower-case letters, digits and "
                "underscores"
            )
        if not callable(self.values):
            raise TypeError(f"computed column {self.name!r}: values must be callable")


@dataclass(frozen=True)
class ModelAdmin:
    """One model as the admin shows it; made by ``config.add_admin_model``.

    Its URL is ``/admin/<addon>/<name>/``, its permissions
    ``admin.<addon>.<name>.<action>``.
    """

    model: type[Any]
    addon: str
    name: str
    label: str
    list_display: tuple[str, ...]
    search_fields: tuple[str, ...]
    list_filter: tuple[str, ...]
    ordering: tuple[str, ...]
    fields: tuple[str, ...]
    readonly_fields: tuple[str, ...] = ()
    inlines: tuple[str, ...] = ()
    actions: tuple[AdminAction, ...] = ()
    schema: Any = None
    secret_fields: tuple[str, ...] = ()
    page_size: int | None = None
    #: Columns holding a stored file's id that the admin cannot tell by
    #: their foreign key (see :mod:`pyramidion_admin.files`).
    file_fields: tuple[str, ...] = ()
    #: What a new file of a row belongs to (see :data:`FilePlacement`).
    file_placement: FilePlacement | None = field(default=None, compare=False)
    #: Columns computed for each list page, after ``list_display``.
    list_computed: tuple[ComputedColumn, ...] = ()
    #: Where the registration came from, for error messages.
    source: str = field(default="", compare=False)

    @property
    def plural(self) -> str:
        """The label for many rows ("Users")."""
        return self.label if self.label.endswith("s") else f"{self.label}s"

    @property
    def pk(self) -> sa.Column[Any]:
        """The model's one primary-key column."""
        column: sa.Column[Any] = sa.inspect(self.model).primary_key[0]
        return column

    @property
    def every_action(self) -> tuple[str | AdminAction, ...]:
        """The base actions' names, then the model's own actions."""
        return (*BASE_ACTIONS, *self.actions)

    @property
    def permissions(self) -> tuple[str, ...]:
        """Every permission of this model: the base actions' and its own actions'."""
        return tuple(model_permission(self, a) for a in self.every_action)

    def action(self, name: str) -> AdminAction | None:
        """The model's own action called ``name``, or None."""
        return next((a for a in self.actions if a.name == name), None)


def model_permission(model_admin: ModelAdmin, action: str | AdminAction) -> str:
    """The permission that ``action`` on ``model_admin``'s rows needs.

    ``admin.<addon>.<model>.<action>`` for the base actions (``view``,
    ``add``, ``change``, ``delete``) and for custom actions without a
    permission of their own.
    """
    if isinstance(action, AdminAction):
        if action.permission:
            return action.permission
        action = action.name
    return f"admin.{model_admin.addon}.{model_admin.name}.{action}"


class AdminSite:
    """Every registered :class:`ModelAdmin` of the app, by add-on and name."""

    def __init__(self) -> None:
        self._by_path: dict[tuple[str, str], ModelAdmin] = {}
        self._by_model: dict[type[Any], ModelAdmin] = {}

    def register(self, model_admin: ModelAdmin) -> None:
        self._by_path[(model_admin.addon, model_admin.name)] = model_admin
        self._by_model[model_admin.model] = model_admin

    def get(self, addon: str, name: str) -> ModelAdmin | None:
        """The registration at ``/admin/<addon>/<name>``, or None."""
        return self._by_path.get((addon, name))

    def for_model(self, model: type[Any]) -> ModelAdmin | None:
        """The registration of ``model``, or None."""
        return self._by_model.get(model)

    def addons(self) -> list[str]:
        """Add-ons with at least one registered model, sorted."""
        return sorted({addon for addon, _ in self._by_path})

    def models(self, addon: str | None = None) -> list[ModelAdmin]:
        """Registrations (of ``addon`` only, when given), sorted by add-on and label."""
        found = [m for m in self._by_path.values() if addon is None or m.addon == addon]
        return sorted(found, key=lambda m: (m.addon, m.label.lower()))

    def permissions(self) -> dict[str, str]:
        """Every admin permission, with what it allows, sorted by name."""
        described: dict[str, str] = {}
        for model_admin in self.models():
            for action in model_admin.every_action:
                what = action.label if isinstance(action, AdminAction) else action.capitalize()
                described[model_permission(model_admin, action)] = (
                    f"{what}: {model_admin.plural.lower()} ({model_admin.addon})"
                )
        return dict(sorted(described.items()))

    def __iter__(self) -> Iterator[ModelAdmin]:
        return iter(self.models())

    def __len__(self) -> int:
        return len(self._by_path)


def admin_site(registry: Registry) -> AdminSite:
    """The app's :class:`AdminSite` (empty when no model is registered)."""
    site: AdminSite | None = getattr(registry, "pyramidion_admin_site", None)
    if site is None:
        site = AdminSite()
        registry.pyramidion_admin_site = site
    return site


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _calling_addon(config: Configurator, model: type[Any]) -> str | None:
    """The add-on an ``add_admin_model`` call comes from, found publicly.

    First the add-on whose package holds the includeme that is running
    (``config.package``: ``config.include(".admin")`` from
    ``pyramidion_blog`` runs with package ``pyramidion_blog``); then the add-on
    named by the model's table prefix (``blog_posts`` -> ``blog``).
    """
    resolution = app_state(config.registry).resolution
    package = (config.package_name or "").split(".", 1)[0]
    for enabled in resolution.addons:
        if enabled.addon.package == package:
            return enabled.name
    table = getattr(model, "__tablename__", "")
    prefix = table.split("_", 1)[0] if "_" in table else ""
    if prefix in resolution:
        return prefix
    return None


def _actions(
    model: type[Any], given: Sequence[AdminAction | Mapping[str, Any]]
) -> tuple[AdminAction, ...]:
    actions: list[AdminAction] = []
    for action in given:
        if isinstance(action, Mapping):
            action = AdminAction(**action)
        if not isinstance(action, AdminAction):
            raise TypeError(
                f"add_admin_model({model.__name__}): actions must be AdminAction(...) or "
                f"mappings with name, label and handler; got {action!r}"
            )
        actions.append(action)
    names = [a.name for a in actions]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(
            f"add_admin_model({model.__name__}): two actions are called {', '.join(twice)}"
        )
    return tuple(actions)


def _computed(
    model: type[Any], given: Sequence[ComputedColumn | Mapping[str, Any]], attrs: Any
) -> tuple[ComputedColumn, ...]:
    columns = [c if isinstance(c, ComputedColumn) else ComputedColumn(**c) for c in given]
    clashing = [c.name for c in columns if c.name in attrs]
    names = [c.name for c in columns]
    clashing += sorted({n for n in names if names.count(n) > 1})
    if clashing:
        raise ValueError(
            f"add_admin_model({model.__name__}): list_computed names {', '.join(clashing)} "
            f"twice, or as {model.__name__} names an attribute; give each its own name"
        )
    return tuple(columns)


def _check_names(model: type[Any], option: str, names: Sequence[str], known: Any) -> None:
    unknown = [n.lstrip("-") for n in names if n.lstrip("-") not in known]
    if unknown:
        raise ValueError(
            f"add_admin_model({model.__name__}): {option} names {', '.join(unknown)}, which "
            f"{model.__name__} does not have"
        )


def search_lookup(name: str) -> tuple[str, str]:
    """``(lookup, field)`` of a ``search_fields`` entry: ``"^email"`` is
    ``("prefix", "email")`` (the field starts with the word), ``"=email"``
    ``("exact", "email")`` (the field is the word), and a bare name
    ``("contains", name)``; every lookup ignores case."""
    if name.startswith("^"):
        return "prefix", name[1:]
    if name.startswith("="):
        return "exact", name[1:]
    return "contains", name


def _searchable(mapper: Any, columns: Mapping[str, Any]) -> set[str]:
    """Column names, and ``relation.column`` for many-to-one relationships."""
    names = set(columns)
    for rel in mapper.relationships:
        if rel.direction is MANYTOONE:
            names.update(f"{rel.key}.{c.key}" for c in rel.mapper.column_attrs)
    return names


def build_model_admin(
    model: type[Any],
    *,
    addon: str,
    name: str | None = None,
    label: str | None = None,
    list_display: Sequence[str] | None = None,
    search_fields: Sequence[str] | None = None,
    list_filter: Sequence[str] | None = None,
    ordering: Sequence[str] | None = None,
    fields: Sequence[str] | None = None,
    readonly_fields: Sequence[str] = (),
    inlines: Sequence[str] = (),
    actions: Sequence[AdminAction | Mapping[str, Any]] = (),
    schema: Any = None,
    secret_fields: Sequence[str] | None = None,
    page_size: int | None = None,
    file_fields: Sequence[str] = (),
    file_placement: FilePlacement | None = None,
    list_computed: Sequence[ComputedColumn | Mapping[str, Any]] = (),
) -> ModelAdmin:
    """A :class:`ModelAdmin` for ``model`` with defaults filled in (see
    :func:`add_admin_model`); raises ValueError or TypeError with a sentence
    when an option names something the model does not have."""
    try:
        mapper = sa.inspect(model)
    except sa.exc.NoInspectionAvailable:
        raise TypeError(f"add_admin_model({model!r}): not a SQLAlchemy mapped class") from None
    if len(mapper.primary_key) != 1:
        raise TypeError(
            f"add_admin_model({model.__name__}): the admin needs a one-column primary key"
        )
    pk = mapper.primary_key[0].key
    columns = {attr.key: attr.columns[0] for attr in mapper.column_attrs}
    relationships = mapper.relationships
    if secret_fields is None:
        secret_fields = [
            key
            for key, column in columns.items()
            if SECRET_NAME.search(key) or column.info.get("secret")
        ]
    secrets = set(secret_fields)
    plain = [
        key
        for key, column in columns.items()
        if not column.primary_key and not column.foreign_keys and key not in secrets
    ]
    to_one = [rel.key for rel in relationships if rel.direction is MANYTOONE]
    if list_display is None:
        shown = [k for k in plain if not isinstance(columns[k].type, sa.Text)][:6]
        list_display = [pk, *shown, *to_one[:2]]
    if search_fields is None:
        search_fields = [
            k
            for k in plain
            if isinstance(columns[k].type, sa.String)
            and not isinstance(columns[k].type, sa.Text)
            and not isinstance(columns[k].type, sa.Enum)
        ]
    if list_filter is None:
        list_filter = [
            k
            for k in plain
            if isinstance(columns[k].type, sa.Boolean | sa.Enum | sa.Date | sa.DateTime)
        ] + to_one
    if ordering is None:
        ordering = [f"-{pk}"]
    if fields is None:
        fields = [
            key
            for key, column in columns.items()
            if not column.primary_key and key not in secrets and key not in readonly_fields
        ]
    _check_names(model, "list_display", list_display, mapper.attrs)
    _check_names(
        model,
        "search_fields",
        [search_lookup(n)[1] for n in search_fields],
        _searchable(mapper, columns),
    )
    to_many = [rel.key for rel in relationships if rel.uselist]
    _check_names(model, "list_filter", list_filter, {*columns, *to_one, *to_many})
    _check_names(model, "ordering", ordering, columns)
    _check_names(model, "fields", fields, mapper.attrs)
    _check_names(model, "readonly_fields", readonly_fields, mapper.attrs)
    _check_names(model, "secret_fields", secret_fields, mapper.attrs)
    _check_names(model, "file_fields", file_fields, columns)
    children = [rel.key for rel in relationships if rel.direction is ONETOMANY or rel.uselist]
    _check_names(model, "inlines", inlines, children)
    searched = [search_lookup(n)[1] for n in search_fields]
    shown_secrets = [n for n in (*list_display, *searched, *list_filter) if n in secrets]
    if shown_secrets:
        raise ValueError(
            f"add_admin_model({model.__name__}): {', '.join(shown_secrets)} is secret "
            "(secret_fields) and cannot be listed, searched or filtered on"
        )
    name = name or _snake(model.__name__)
    if not _NAME.match(name):
        raise ValueError(
            f"add_admin_model({model.__name__}): name {name!r} must be lower-case letters, "
            "digits and underscores"
        )
    if file_placement is not None and not callable(file_placement):
        raise TypeError(
            f"add_admin_model({model.__name__}): file_placement must be callable "
            "as placement(request, obj, field)"
        )
    if page_size is not None and not 1 <= page_size <= 1000:
        raise ValueError(f"add_admin_model({model.__name__}): page_size must be 1 to 1000")
    return ModelAdmin(
        model=model,
        addon=addon,
        name=name,
        label=label or _snake(model.__name__).replace("_", " ").capitalize(),
        list_display=tuple(list_display),
        search_fields=tuple(search_fields),
        list_filter=tuple(list_filter),
        ordering=tuple(ordering),
        fields=tuple(f for f in fields if f not in secrets or schema is not None),
        readonly_fields=tuple(readonly_fields),
        inlines=tuple(inlines),
        actions=_actions(model, actions),
        schema=schema,
        secret_fields=tuple(secret_fields),
        page_size=page_size,
        file_fields=tuple(file_fields),
        file_placement=file_placement,
        list_computed=_computed(model, list_computed, mapper.attrs),
    )


def add_admin_model(
    config: Configurator,
    model: type[Any],
    *,
    addon: str | None = None,
    name: str | None = None,
    label: str | None = None,
    list_display: Sequence[str] | None = None,
    search_fields: Sequence[str] | None = None,
    list_filter: Sequence[str] | None = None,
    ordering: Sequence[str] | None = None,
    fields: Sequence[str] | None = None,
    readonly_fields: Sequence[str] = (),
    inlines: Sequence[str] = (),
    actions: Sequence[AdminAction | Mapping[str, Any]] = (),
    schema: Any = None,
    secret_fields: Sequence[str] | None = None,
    page_size: int | None = None,
    file_fields: Sequence[str] = (),
    file_placement: FilePlacement | None = None,
    list_computed: Sequence[ComputedColumn | Mapping[str, Any]] = (),
) -> None:
    """Directive: show ``model`` in the admin at ``/admin/<addon>/<name>/``.

    ``addon`` defaults to the add-on whose ``includeme`` is running (the
    package of ``config.package``), then to the add-on named by the
    model's table prefix; pass it when neither says. ``name`` defaults to
    the class name in snake case (``ApiToken`` -> ``api_token``), ``label``
    to it in words ("Api token").

    Options left out get defaults from the model: ``list_display`` the
    primary key, up to six plain non-text columns and two many-to-one
    relationships; ``search_fields`` its string columns (``"author.email"`` searches a
    column of a many-to-one relationship; ``"^email"`` matches the start of
    the field, ``"=email"`` the whole field, a bare name any part of it,
    see :func:`search_lookup`); ``list_filter``
    its boolean, enum, date and many-to-one columns; ``ordering`` newest
    primary key first (``"-id"``; a leading ``-`` sorts descending);
    ``fields`` (the edit form) every column but the key, the secret and the
    read-only ones; ``secret_fields`` the columns whose name says password,
    secret, token, hash or digest, or whose ``info`` has ``secret=True``:
    never listed, shown, pre-filled or recorded in history. ``inlines``
    names one-to-many relationships shown on the object's page.
    ``actions`` are :class:`AdminAction` objects or mappings of their
    fields (so that an add-on that does not require the admin can register
    actions without importing it). ``schema`` replaces the form the forms
    add-on's ``model_schema`` generates. ``page_size`` defaults to
    ``admin.page_size``. ``file_fields`` names columns that hold a stored
    file's id; foreign keys to the file store's table need no naming (see
    :mod:`pyramidion_admin.files`): with a file store they are upload
    fields, without one they are read-only. ``file_placement(request, obj,
    field)`` says what a file uploaded for a row with no file in that
    column belongs to (owner, visibility, realm: the store's ``keep``
    keywords, see :data:`FilePlacement`); without it the store decides (a
    file that replaces another keeps the replaced one's). ``list_computed`` adds list
    columns that are not attributes: :class:`ComputedColumn` objects or
    mappings of their fields, whose ``values(request, rows)`` gives the
    text of a whole page's rows by primary key.

    Registering one model twice, or two models at one URL, is a
    configuration conflict. Declares the model's permissions.
    """
    model = config.maybe_dotted(model)
    file_placement = config.maybe_dotted(file_placement)
    owner = addon or _calling_addon(config, model)
    if owner is None:
        raise ValueError(
            f"add_admin_model({getattr(model, '__name__', model)!r}): cannot tell which add-on "
            "registers this model; pass addon='<add-on name>'"
        )
    model_admin = build_model_admin(
        model,
        addon=owner,
        name=name,
        label=label,
        list_display=list_display,
        search_fields=search_fields,
        list_filter=list_filter,
        ordering=ordering,
        fields=fields,
        readonly_fields=readonly_fields,
        inlines=inlines,
        actions=actions,
        schema=schema,
        secret_fields=secret_fields,
        page_size=page_size,
        file_fields=file_fields,
        file_placement=file_placement,
        list_computed=list_computed,
    )

    def register() -> None:
        admin_site(config.registry).register(model_admin)

    intr = config.introspectable(
        "pyramidion admin models",
        (owner, model_admin.name),
        f"/admin/{owner}/{model_admin.name}/ ({model.__module__}.{model.__name__})",
        "admin model",
    )
    intr["model"] = model
    intr["addon"] = owner
    intr["name"] = model_admin.name
    intr["permissions"] = model_admin.permissions
    intr["model_admin"] = model_admin
    config.action(("pyramidion_admin.model", model), register, introspectables=(intr,))
    # Two models at one URL conflict as well.
    config.action(("pyramidion_admin.model_url", owner, model_admin.name), None)
    for permission, description in _descriptions(model_admin).items():
        config.declare_permission(permission, description)


def _descriptions(model_admin: ModelAdmin) -> dict[str, str]:
    plural = model_admin.plural.lower()
    described = {
        model_permission(model_admin, "view"): f"See {plural} in the admin",
        model_permission(model_admin, "add"): f"Add {plural} in the admin",
        model_permission(model_admin, "change"): f"Change {plural} in the admin",
        model_permission(model_admin, "delete"): f"Delete {plural} in the admin",
    }
    for action in model_admin.actions:
        described[model_permission(model_admin, action)] = f"{action.label}: {plural} in the admin"
    return described
