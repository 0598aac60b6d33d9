"""``admintest``: an add-on whose models the admin's tests administer.

It registers its models the way every add-on should: in ``admin.py``,
included only when the ``admin`` add-on is enabled, so it works without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyramidion import Addon, app_state

if TYPE_CHECKING:
    from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    if "admin" in app_state(config.registry).resolution:
        config.include(".admin")


addon = Addon(
    name="admintest",
    includeme="pyramidion_admin_example.includeme",
    requires=("auth",),
    after=("admin",),
    models="pyramidion_admin_example.models",
    migrations="pyramidion_admin_example:migrations",
)
