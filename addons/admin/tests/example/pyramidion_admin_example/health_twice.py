"""A plain Pyramid include that claims the name of the admin's own database
health check: a conflict."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .health import queue

if TYPE_CHECKING:
    from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.add_admin_health("database", queue)
