"""The add-on's models in the admin (``/admin/{{ cookiecutter.name }}/item/``).

Included by ``includeme`` only when the ``admin`` add-on is enabled, so
the add-on works with and without it; it uses only the admin's directive
and never imports the admin. Members of the admin group may do everything
there; other groups get ``admin.{{ cookiecutter.name }}.item.view`` (add,
change, delete) with ``pyramidion admin grant CONFIG GROUP PERMISSION``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .models import Item

if TYPE_CHECKING:
    from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    """Register :class:`Item` with the admin: listed by title, searched by title."""
    config.add_admin_model(
        Item,
        list_display=("id", "title"),
        search_fields=("title",),
        ordering=("-id",),
    )
