"""The test add-on's admin registrations: only included with ``admin`` enabled."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .models import Part, Thing

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request


def deactivate(request: Request, things: Sequence[Any]) -> str:
    for thing in things:
        thing.active = False
    return f"{len(things)} things deactivated."


def includeme(config: Configurator) -> None:
    config.add_admin_model(
        Thing,
        list_display=("id", "name", "kind", "active", "rank", "created_at", "owner"),
        search_fields=("name", "code", "owner.email"),
        readonly_fields=("created_at",),
        inlines=("parts",),
        actions=[{"name": "deactivate", "label": "Deactivate", "handler": deactivate}],
    )
    config.add_admin_model(
        Part,
        list_display=("id", "label", "count", "thing"),
        page_size=100,
        file_fields=("drawing_id",),
    )
