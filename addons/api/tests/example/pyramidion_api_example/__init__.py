"""``apitest``: an add-on that exposes its notes and tags through the API, for the tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyramidion import Addon, app_state

if TYPE_CHECKING:
    from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    # The optional-API pattern: the add-on works without api, and offers
    # its resources when api is enabled.
    if "api" in app_state(config.registry).resolution:
        config.include(".api")


addon = Addon(
    name="apitest",
    includeme="pyramidion_api_example.includeme",
    requires=("auth", "forms"),
    after=("api",),
    models="pyramidion_api_example.models",
    migrations="pyramidion_api_example:migrations",
)
