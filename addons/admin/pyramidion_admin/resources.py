"""The admin's traversal tree, mounted on the core's root as ``admin``.

::

    /admin                        AdminRoot      (dashboard)
    /admin/<addon>                AddonSection   (that add-on's models)
    /admin/<addon>/<model>        ModelSection   (list; @@add, actions)
    /admin/<addon>/<model>/<pk>   ObjectContext  (detail; edit, delete)

Each level carries its own ``__acl__``. Members of the core's admin group
(:data:`pyramidion.ADMIN_PRINCIPAL`) may do everything. A model's level
allows each of its permissions (``admin.<addon>.<model>.<action>``) to the
groups granted it in ``admin_grants``, under the name the views check
(:func:`view_permission`: ``admin.change`` for ``admin.blog.post.change``
on the posts' level); the add-on's level and the root
allow :data:`ADMIN_ACCESS` (open the admin's pages) to every group holding
any admin permission beneath them. An object's level puts the row's own
``__acl__`` first when the model has one, so a row may refuse (or allow)
more than its model's grants say. Grants are read once per request
(``request.admin_grants``).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pyramid.authorization import ALL_PERMISSIONS, Allow

from pyramidion import ADMIN_PRINCIPAL, column_value

from .options import AdminAction, ModelAdmin, admin_site, model_permission

if TYPE_CHECKING:
    from pyramid.request import Request

__all__ = [
    "ADMIN_ACCESS",
    "AddonSection",
    "AdminRoot",
    "ModelSection",
    "ObjectContext",
    "admin_factory",
    "load_grants",
    "object_key",
    "view_permission",
]

#: The permission to open the admin's pages at all (the dashboard and an
#: add-on's page); every group holding any admin permission has it there.
ADMIN_ACCESS = "admin.access"

Acl = list[tuple[str, str, Any]]

#: Keys read at a time when a model's rows are iterated.
_BATCH = 100


def view_permission(action: str | AdminAction) -> str:
    """The permission the admin's views check for ``action`` on a model's
    context: ``admin.view``, ``admin.add``, ``admin.change``,
    ``admin.delete``, or ``admin.action.<name>`` for a model's own action.

    A model's context allows it to the groups granted the model's own
    permission (:func:`~pyramidion_admin.options.model_permission`).
    """
    if isinstance(action, AdminAction):
        return f"admin.action.{action.name}"
    return f"admin.{action}"


def load_grants(request: Request) -> Mapping[str, frozenset[str]]:
    """``request.admin_grants``: each granted permission with the principals
    (``group:<name>``) that hold it, read once per request."""
    from pyramidion_auth.models import Group

    from .models import AdminGrant

    rows = request.dbsession.execute(
        sa.select(AdminGrant.permission, Group.name).join(Group, Group.id == AdminGrant.group_id)
    )
    grants: dict[str, set[str]] = {}
    for permission, group in rows:
        grants.setdefault(permission, set()).add(f"group:{group}")
    return {permission: frozenset(groups) for permission, groups in grants.items()}


def _allow_access(request: Request, permissions: Iterable[str]) -> Acl:
    grants: Mapping[str, frozenset[str]] = request.admin_grants
    principals = sorted({p for permission in permissions for p in grants.get(permission, ())})
    return [(Allow, principal, ADMIN_ACCESS) for principal in principals]


class _Resource:
    __name__: str
    __parent__: Any

    def __init__(self, request: Request) -> None:
        # Weak, as the core's root holds its request: the request holds
        # its context, and a strong reference back would be a cycle.
        self._request = weakref.ref(request)

    @property
    def request(self) -> Request:
        request = self._request()
        if request is None:
            raise RuntimeError("this admin resource outlived the request it was made for")
        return request


class AdminRoot(_Resource):
    """``/admin``: the add-ons with registered models."""

    __name__ = "admin"
    __parent__: Any = None

    @property
    def __acl__(self) -> Acl:
        site = admin_site(self.request.registry)
        every = [p for model_admin in site for p in model_admin.permissions]
        return [(Allow, ADMIN_PRINCIPAL, ALL_PERMISSIONS), *_allow_access(self.request, every)]

    def __iter__(self) -> Iterator[str]:
        """The add-ons with registered models."""
        return iter(admin_site(self.request.registry).addons())

    def __getitem__(self, name: str) -> AddonSection:
        if name not in admin_site(self.request.registry).addons():
            raise KeyError(name)
        return AddonSection(self.request, name, parent=self)


class AddonSection(_Resource):
    """``/admin/<addon>``: one add-on's registered models."""

    def __init__(self, request: Request, addon: str, *, parent: AdminRoot) -> None:
        super().__init__(request)
        self.addon = addon
        self.__name__ = addon
        self.__parent__ = parent

    @property
    def __acl__(self) -> Acl:
        site = admin_site(self.request.registry)
        every = [p for model_admin in site.models(self.addon) for p in model_admin.permissions]
        return _allow_access(self.request, every)

    def models(self) -> list[ModelAdmin]:
        return admin_site(self.request.registry).models(self.addon)

    def __iter__(self) -> Iterator[str]:
        """The names of the add-on's registered models."""
        return iter([m.name for m in self.models()])

    def __getitem__(self, name: str) -> ModelSection:
        model_admin = admin_site(self.request.registry).get(self.addon, name)
        if model_admin is None:
            raise KeyError(name)
        return ModelSection(self.request, model_admin, parent=self)


class ModelSection(_Resource):
    """``/admin/<addon>/<model>``: the rows of one registered model."""

    def __init__(self, request: Request, model_admin: ModelAdmin, *, parent: AddonSection) -> None:
        super().__init__(request)
        self.model_admin = model_admin
        self.__name__ = model_admin.name
        self.__parent__ = parent

    @property
    def __acl__(self) -> Acl:
        grants: Mapping[str, frozenset[str]] = self.request.admin_grants
        acl: Acl = []
        model_admin = self.model_admin
        for action in model_admin.every_action:
            granted = sorted(grants.get(model_permission(model_admin, action), ()))
            # The stored permission names the model; the views check the
            # same permission for every model (``admin.change``), so the
            # model's level translates one into the other.
            acl.extend((Allow, principal, view_permission(action)) for principal in granted)
        return acl

    def __iter__(self) -> Iterator[str]:
        """The rows' keys in key order, read a batch at a time as iteration
        goes on (so taking the first few costs one small query)."""
        pk = self.model_admin.pk
        dbsession = self.request.dbsession
        last: Any = None
        while True:
            statement = sa.select(pk).order_by(pk).limit(_BATCH)
            if last is not None:
                statement = statement.where(pk > last)
            keys = list(dbsession.scalars(statement))
            yield from (str(k) for k in keys)
            if len(keys) < _BATCH:
                return
            last = keys[-1]

    def __getitem__(self, key: str) -> ObjectContext:
        # A segment the key column cannot hold ("add", a number out of
        # range) names no row: traversal then takes it as a view name.
        value = column_value(self.model_admin.pk, key)
        if value is None:
            raise KeyError(key)
        obj = self.request.dbsession.get(self.model_admin.model, value)
        if obj is None:
            raise KeyError(key)
        return ObjectContext(self.request, obj, parent=self)


class ObjectContext(_Resource):
    """``/admin/<addon>/<model>/<pk>``: one row, as ``.obj``."""

    def __init__(self, request: Request, obj: Any, *, parent: ModelSection) -> None:
        super().__init__(request)
        self.obj = obj
        self.model_admin = parent.model_admin
        self.__name__ = object_key(obj)
        self.__parent__ = parent

    @property
    def __acl__(self) -> Acl:
        own = getattr(self.obj, "__acl__", None)
        if own is None:
            return []
        return list(own() if callable(own) else own)


def object_key(obj: Any) -> str:
    """The URL segment of a row: its primary key."""
    identity = sa.inspect(obj).identity
    return str(identity[0]) if identity else ""


def admin_factory(request: Request) -> AdminRoot:
    """The core's traversal child ``admin``: the admin's root."""
    return AdminRoot(request)
