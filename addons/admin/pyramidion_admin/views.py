"""The admin's pages, registered by context type (see :mod:`.routes`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from pyramidion import get_settings

from .display import display_value, field_label
from .options import ModelAdmin, admin_site
from .resources import AddonSection, AdminRoot, ModelSection, ObjectContext, view_permission
from .settings import AdminSettings

if TYPE_CHECKING:
    from pyramid.request import Request

__all__ = ["addon_page", "dashboard", "model_list", "object_page", "visible_models"]


def visible_models(
    request: Request, models: list[ModelAdmin], root: AdminRoot
) -> list[ModelAdmin]:
    """The registrations among ``models`` whose rows the user may see."""
    visible = []
    for model_admin in models:
        section = root[model_admin.addon][model_admin.name]
        if request.has_permission(view_permission("view"), section):
            visible.append(model_admin)
    return visible


def dashboard(context: AdminRoot, request: Request) -> dict[str, Any]:
    """``/admin/``: the models the user may see, grouped by add-on."""
    site = admin_site(request.registry)
    groups = []
    for addon in site.addons():
        models = visible_models(request, site.models(addon), context)
        if models:
            groups.append((addon, models))
    return {"page_title": "Administration", "groups": groups}


def addon_page(context: AddonSection, request: Request) -> dict[str, Any]:
    """``/admin/<addon>/``: that add-on's models the user may see."""
    root = context.__parent__
    models = visible_models(request, context.models(), root)
    return {
        "page_title": f"Administration: {context.addon}",
        "addon": context.addon,
        "models": models,
    }


def model_list(context: ModelSection, request: Request) -> dict[str, Any]:
    """``/admin/<addon>/<model>/``: one page of rows, in the registered order."""
    model_admin = context.model_admin
    size = model_admin.page_size or get_settings(request.registry, AdminSettings).page_size
    order = []
    for name in model_admin.ordering:
        column = getattr(model_admin.model, name.lstrip("-"))
        order.append(column.desc() if name.startswith("-") else column.asc())
    rows = request.dbsession.scalars(
        sa.select(model_admin.model).order_by(*order, model_admin.pk).limit(size)
    ).all()
    return {
        "page_title": model_admin.plural,
        "model_admin": model_admin,
        "rows": rows,
        "label": field_label,
        "display": display_value,
    }


def object_page(context: ObjectContext, request: Request) -> dict[str, Any]:
    """``/admin/<addon>/<model>/<pk>/``: one row's fields, secrets left out."""
    model_admin = context.model_admin
    names = [
        attr.key
        for attr in sa.inspect(model_admin.model).column_attrs
        if attr.key not in model_admin.secret_fields
    ]
    fields = [(field_label(n), display_value(context.obj, n)) for n in names]
    return {
        "page_title": f"{model_admin.label} {context.__name__}",
        "obj": context.obj,
        "fields": fields,
    }
