"""The admin's views, registered by context type on the traversal tree."""

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
        AdminRoot,
        ModelSection,
        ObjectContext,
        view_permission,
    )

    config.add_view(
        views.dashboard,
        context=AdminRoot,
        name="",
        renderer=TEMPLATES + "dashboard.pt",
        permission=ADMIN_ACCESS,
    )
    config.add_view(
        views.addon_page,
        context=AddonSection,
        name="",
        renderer=TEMPLATES + "addon.pt",
        permission=ADMIN_ACCESS,
    )
    config.add_view(
        views.model_list,
        context=ModelSection,
        name="",
        renderer=TEMPLATES + "list.pt",
        permission=view_permission("view"),
    )
    config.add_view(
        views.object_page,
        context=ObjectContext,
        name="",
        renderer=TEMPLATES + "object.pt",
        permission=view_permission("view"),
    )
