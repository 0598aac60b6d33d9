"""The items in the admin: registered when the ``admin`` add-on is enabled."""

from __future__ import annotations

import pytest
from pyramidion.testing import MakeApp

from {{ cookiecutter.package }}.models import Item


def test_the_items_are_in_the_admin_when_it_is_enabled(make_pyramidion_app: MakeApp) -> None:
    pytest.importorskip("pyramidion_admin", reason="the admin add-on is not installed")
    app = make_pyramidion_app(addons=["{{ cookiecutter.name }}", "admin"])

    key = ("{{ cookiecutter.name }}", "item")
    registered = app.registry.introspector.get("pyramidion admin models", key)

    assert registered is not None
    assert registered["model"] is Item


def test_without_the_admin_the_addon_registers_nothing(make_pyramidion_app: MakeApp) -> None:
    app = make_pyramidion_app(addons=["{{ cookiecutter.name }}"])

    assert not app.registry.introspector.get_category("pyramidion admin models")
