"""A plain Pyramid include that adds two checks to the admin's dashboard:
one whose query fails and one that warns."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import text

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request


def broken(request: Request) -> list[dict[str, str]]:
    request.dbsession.execute(text("SELECT count(*) FROM admintest_no_such_table"))
    return []


def queue(request: Request) -> list[dict[str, str]]:
    return [{"label": "Queue", "value": "1200 waiting", "status": "warning", "hint": "Look."}]


def includeme(config: Configurator) -> None:
    config.add_admin_health("admintest.broken", broken, order=1)
    config.add_admin_health("admintest.queue", queue, order=5)
