"""The core's installed add-ons in the admin: a read-only page.

``/admin/@@installed`` shows what ``pyramidion addons list`` and
``pyramidion settings CONFIG`` show: each enabled add-on's version,
distribution, why it is enabled and its migration state, the installed
add-ons that are not enabled, and every setting with the value in use
(secrets masked) and where it came from. Only members of the admin group
see it (the permission ``admin.installed.view`` is granted to nobody else),
and to them the navigation bar shows "Add-ons".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyramidion import app_settings, list_addons

from ..resources import AdminRoot, admin_factory

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request

__all__ = ["INSTALLED_PERMISSION", "includeme", "installed_addons", "migration_text"]

#: Seeing the installed add-ons and the settings in use; only the admin
#: group has it (the admin's root allows it everything).
INSTALLED_PERMISSION = "admin.installed.view"


def migration_text(info: Any) -> str:
    """An enabled add-on's migration state in words, as ``pyramidion addons list`` says it."""
    state = info.migrations
    if state is None:
        return "unknown: the database could not be read"
    if state.pending:
        return f"{len(state.pending)} pending migration(s): run pyramidion db upgrade"
    if state.installed_version is None:
        return "not installed: run pyramidion db upgrade" if info.has_migrations else "no tables"
    return f"installed at {state.installed_version}, up to date"


def installed_addons(context: AdminRoot, request: Request) -> dict[str, Any]:
    """``/admin/@@installed``: the add-ons, their migration state and the settings."""
    listing = list_addons(request.registry)
    return {
        "page_title": "Installed add-ons",
        "listing": listing,
        "migration_text": migration_text,
        "sections": app_settings(request.registry),
    }


def includeme(config: Configurator) -> None:
    """Register the view ``installed`` on the admin's root, its permission
    and the navigation entry "Add-ons"."""
    config.declare_permission(
        INSTALLED_PERMISSION, "See the installed add-ons and the settings in use, in the admin"
    )
    config.add_view(
        installed_addons,
        context=AdminRoot,
        name="installed",
        renderer="pyramidion_admin:templates/installed.pt",
        permission=INSTALLED_PERMISSION,
    )
    # Only for building URLs (static routes never match): the page itself
    # is reached by traversal.
    config.add_route("admin.installed", "/admin/@@installed", static=True)
    config.add_nav_item(
        "admin.installed",
        "Add-ons",
        route_name="admin.installed",
        permission=INSTALLED_PERMISSION,
        context=admin_factory,
        order=910,
    )
