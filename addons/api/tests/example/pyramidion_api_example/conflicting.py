"""The notes resource a second time: included by dotted name, a conflict."""

from __future__ import annotations

from typing import TYPE_CHECKING

import colander

from .models import Note

if TYPE_CHECKING:
    from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.add_api_resource("notes", model=Note, schema=colander.Schema())
