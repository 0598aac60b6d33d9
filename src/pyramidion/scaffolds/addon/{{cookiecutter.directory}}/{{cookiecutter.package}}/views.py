"""The list page and the form that adds items."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyramidion import get_settings
from pyramidion_forms import FormView
from sqlalchemy import select

from .models import Item
from .schemas import ItemSchema
from .settings import {{ cookiecutter.class_prefix }}Settings

if TYPE_CHECKING:
    from pyramid.request import Request

    from .resources import Items


def item_list(context: Items, request: Request) -> dict[str, Any]:
    """The newest items, as many as the per_page setting says."""
    settings = get_settings(request.registry, {{ cookiecutter.class_prefix }}Settings)
    items = request.dbsession.scalars(
        select(Item).order_by(Item.id.desc()).limit(settings.per_page)
    ).all()
    return {
        "page_title": "{{ cookiecutter.title }}",
        "items": items,
        "add_url": request.route_url("{{ cookiecutter.name }}.item.add"),
    }


class ItemForm(FormView):
    """``/new``: a valid submission adds an item and goes back to the list."""

    schema = ItemSchema
    title = "New item"
    submit_title = "Add"
    success_message = "The item was added."

    def on_success(self, appstruct: dict[str, Any]) -> str:
        self.request.dbsession.add(Item(title=appstruct["title"], notes=appstruct["notes"]))
        return str(self.request.route_url("{{ cookiecutter.name }}.item.list"))
