"""A plain Pyramid include that registers ``Thing`` a second time: a conflict."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .models import Thing

if TYPE_CHECKING:
    from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.add_admin_model(Thing, name="other_things")
