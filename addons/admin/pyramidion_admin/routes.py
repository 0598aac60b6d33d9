"""The admin's views, registered by context type on the traversal tree.

=============================  ==============  =========  =================
URL                            context         view name  permission
=============================  ==============  =========  =================
/admin/                        AdminRoot       ""         admin.access
/admin/<addon>/                AddonSection    ""         admin.access
/admin/<addon>/<model>/        ModelSection    ""         admin.view
/admin/<addon>/<model>/add     ModelSection    add        admin.add
/admin/<addon>/<model>/action  ModelSection    action     admin.view (POST;
                                                          each action checks
                                                          its own on every row)
/admin/<addon>/<model>/<pk>    ObjectContext   ""         admin.view
.../<pk>/edit                  ObjectContext   edit       admin.change
.../<pk>/delete                ObjectContext   delete     admin.delete
=============================  ==============  =========  =================
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyramid.config import Configurator

TEMPLATES = "pyramidion_admin:templates/"


def includeme(config: Configurator) -> None:
    """Register the admin's views on :mod:`pyramidion_admin.resources`' contexts."""
    from . import views
    from .resources import (
        ADMIN_ACCESS,
        AddonSection,
        ModelSection,
        ObjectContext,
        view_permission,
    )

    config.add_view(
        views.addon_page,
        context=AddonSection,
        name="",
        renderer=TEMPLATES + "addon.pt",
        permission=ADMIN_ACCESS,
    )
    config.add_view(
        views.ListView,
        context=ModelSection,
        name="",
        request_method=("GET", "HEAD"),
        permission=view_permission("view"),
    )
    config.add_view(
        views.AddView,
        context=ModelSection,
        name="add",
        request_method=("GET", "HEAD", "POST"),
        permission=view_permission("add"),
        form_limits=True,
    )
    config.add_view(
        views.action_view,
        context=ModelSection,
        name="action",
        request_method="POST",
        permission=view_permission("view"),
        form_limits=True,
    )
    config.add_view(
        views.object_page,
        context=ObjectContext,
        name="",
        request_method=("GET", "HEAD"),
        renderer=TEMPLATES + "object.pt",
        permission=view_permission("view"),
    )
    config.add_view(
        views.EditView,
        context=ObjectContext,
        name="edit",
        request_method=("GET", "HEAD", "POST"),
        permission=view_permission("change"),
        form_limits=True,
    )
    config.add_view(
        views.delete_view,
        context=ObjectContext,
        name="delete",
        request_method=("GET", "HEAD", "POST"),
        permission=view_permission("delete"),
        form_limits=True,
    )
