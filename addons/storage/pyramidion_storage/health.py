"""The storage add-on's line in the admin's dashboard, when ``admin`` is enabled.

Uses only the directive the admin add-on adds to the configurator
(``add_admin_health``); it never imports ``pyramidion_admin``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyramidion import app_state, get_settings

from .settings import StorageSettings

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.registry import Registry
    from pyramid.request import Request

__all__ = ["admin_enabled", "garbage_health", "includeme"]


def admin_enabled(registry: Registry) -> bool:
    """Whether the ``admin`` add-on is enabled in this app."""
    return "admin" in app_state(registry).resolution


def garbage_health(request: Request) -> list[dict[str, str]]:
    """Files awaiting garbage collection: objects no row names, older than
    ``storage.gc_grace``, and expired temporary uploads. Lines are mappings,
    which the admin takes as well as its own line type."""
    from .services import count_garbage, get_backend

    settings = get_settings(request.registry, StorageSettings)
    found = count_garbage(request.dbsession, get_backend(request), grace=settings.gc_grace)
    waiting = found.orphans + found.expired_uploads
    value = (
        f"{'at least ' if found.partial else ''}{found.orphans} orphaned file(s), "
        f"{found.expired_uploads} expired temporary upload(s)"
    )
    hint = ""
    if waiting:
        hint = (
            "The periodic job storage.gc removes them."
            if "jobs" in app_state(request.registry).resolution
            else f"Run: pyramidion storage gc {app_state(request.registry).config_hint}"
        )
    return [
        {
            "label": "Files awaiting garbage collection",
            "value": value,
            "status": "warning" if waiting else "ok",
            "hint": hint,
        }
    ]


def includeme(config: Configurator) -> None:
    """Show the files awaiting garbage collection in the admin's dashboard."""
    config.add_admin_health("storage.garbage", garbage_health, order=30)
