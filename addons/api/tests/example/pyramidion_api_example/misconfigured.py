"""A resource filtering on a column its model does not have."""

from __future__ import annotations

from typing import TYPE_CHECKING

import colander

from .models import Note

if TYPE_CHECKING:
    from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.add_api_resource("others", model=Note, schema=colander.Schema(), filters=("nope",))
