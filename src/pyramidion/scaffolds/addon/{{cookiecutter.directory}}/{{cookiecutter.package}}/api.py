"""The add-on's items as a JSON resource of the ``api`` add-on.

Included by :func:`includeme` only when ``api`` is enabled in the app:
``GET``/``POST /api/v1/{{ cookiecutter.name }}`` list and add items,
``GET /api/v1/{{ cookiecutter.name }}/{id}`` reads one, each validated by
the form's :class:`~.schemas.ItemSchema` and listed in the OpenAPI document
at ``/api/v1/openapi.json`` (browsable at ``/api/v1/docs``). Who may do
what is the ``__acl__`` of :class:`~.resources.Items`, as for the pages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyramidion import model_factory

from .models import Item
from .resources import Items
from .schemas import ItemSchema

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request


def item_context(request: Request) -> Item:
    """The item the URL names, under :class:`Items` so that its ``__acl__`` applies."""
    return model_factory(Item, parent=Items(request))(request)


def includeme(config: Configurator) -> None:
    config.add_api_resource(
        "{{ cookiecutter.name }}",
        model=Item,
        schema=ItemSchema,
        factory=Items,
        item_factory=item_context,
        actions=("list", "create", "get"),
        permissions={
            "list": "{{ cookiecutter.name }}.item.list",
            "get": "{{ cookiecutter.name }}.item.list",
            "create": "{{ cookiecutter.name }}.item.add",
        },
        sort=("title",),
    )
