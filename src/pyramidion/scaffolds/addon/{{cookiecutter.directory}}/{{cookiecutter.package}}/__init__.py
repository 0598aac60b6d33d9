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
    views and a navigation entry. With the ``api`` add-on enabled, includes
    :mod:`.api` too: the items as a JSON resource under ``/api/v1/NAME``.
    Reads no settings itself; the list page reads ``NAME.per_page`` through
    the add-on's settings class.
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
    if "api" in app_state(config.registry).resolution:
        config.include(".api")


addon = Addon(
    name="{{ cookiecutter.name }}",
    title="{{ cookiecutter.title }}",
    includeme="{{ cookiecutter.package }}:includeme",
    requires=("forms",),
    # When api is enabled, it comes first, so that add_api_resource exists.
    after=("api",),
    settings={{ cookiecutter.class_prefix }}Settings,
    models="{{ cookiecutter.package }}.models",
    migrations="{{ cookiecutter.package }}:migrations",
)
