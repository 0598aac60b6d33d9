"""The add-on's models in the admin, included only when ``admin`` is enabled.

The add-on works without the admin: this module uses only the directive the
admin adds (``config.add_admin_model``) and never imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .models import Item

if TYPE_CHECKING:
    from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    """Show the items in the admin, at ``/admin/{{ cookiecutter.name }}/item/``."""
    config.add_admin_model(Item, list_display=("id", "title"), search_fields=("title",))
