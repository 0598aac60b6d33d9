"""The add-on's routes, views and navigation entry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .resources import Items
from .views import ItemForm, item_list

if TYPE_CHECKING:
    from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.add_route("{{ cookiecutter.name }}.item.list", "/", factory=Items)
    config.add_route("{{ cookiecutter.name }}.item.add", "/new", factory=Items)
    config.add_view(
        item_list,
        route_name="{{ cookiecutter.name }}.item.list",
        renderer="{{ cookiecutter.package }}:templates/items.pt",
        permission="{{ cookiecutter.name }}.item.list",
    )
    config.add_view(
        ItemForm,
        route_name="{{ cookiecutter.name }}.item.add",
        permission="{{ cookiecutter.name }}.item.add",
    )
    config.add_nav_item(
        "{{ cookiecutter.name }}.items",
        "{{ cookiecutter.title }}",
        route_name="{{ cookiecutter.name }}.item.list",
        permission="{{ cookiecutter.name }}.item.list",
        context=Items,
    )
