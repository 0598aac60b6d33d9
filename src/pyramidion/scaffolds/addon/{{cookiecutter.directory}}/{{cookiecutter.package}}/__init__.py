"""The {{ cookiecutter.name }} add-on: its descriptor and includeme."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyramidion import Addon, app_state

from .settings import {{ cookiecutter.class_prefix }}Settings

if TYPE_CHECKING:
    from pyramid.config import Configurator

__all__ = ["{{ cookiecutter.class_prefix }}Settings", "addon", "includeme"]


def includeme(config: Configurator) -> None:
    """Wire the add-on into the app.

    Declares two permissions, ``NAME.item.list`` and ``NAME.item.add``
    (NAME is this add-on's name), and includes :mod:`.routes`: routes of
    the same names (``/`` and ``/new`` under the add-on's prefix), their
    views and a navigation entry. Reads no settings itself; the list page
    reads ``NAME.per_page`` through the add-on's settings class. With the
    ``admin`` add-on enabled, includes :mod:`.admin`, which registers the
    items there; with the ``api`` add-on enabled, includes :mod:`.api`: the
    items as a JSON resource under ``/api/v1/NAME``.
    """
    config.declare_permission(
        "{{ cookiecutter.name }}.item.list",
        "See the list of items",
    )
    config.declare_permission(
        "{{ cookiecutter.name }}.item.add",
        "Add an item",
    )
    config.include(".routes")
    if "admin" in app_state(config.registry).resolution:
        config.include(".admin")
    if "api" in app_state(config.registry).resolution:
        config.include(".api")


addon = Addon(
    name="{{ cookiecutter.name }}",
    title="{{ cookiecutter.title }}",
    includeme="{{ cookiecutter.package }}:includeme",
    requires=("forms",),
    # When the admin or the api is enabled it is included first, so its
    # directives exist when this add-on registers its items with them.
    after=("admin", "api"),
    settings={{ cookiecutter.class_prefix }}Settings,
    models="{{ cookiecutter.package }}.models",
    migrations="{{ cookiecutter.package }}:migrations",
)
