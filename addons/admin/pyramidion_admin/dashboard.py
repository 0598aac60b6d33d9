"""The admin's front page (``/admin/``): the models the user may administer,
grouped by add-on, the latest changes they may read, and, for the admin
group, the health an operator watches.

Health comes from checks that add-ons contribute with the directive
``config.add_admin_health(name, check)``: ``check(request)`` returns
:class:`HealthLine` objects. The admin contributes the database's state
(pending migrations, add-ons enabled but not installed, add-ons installed
but no longer enabled) and auth's failed logins in the last hour; the
storage add-on contributes the files awaiting garbage collection.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy.exc import SQLAlchemyError

from pyramidion import DatabaseError, app_state, database_state
from pyramidion_auth.interfaces import Clock
from pyramidion_auth.throttle import failed_logins_since

from .history import SEE_ALL, HistoryFilters, HistoryView, read_history, visible
from .options import admin_site
from .resources import ADMIN_ACCESS, AdminRoot
from .views import visible_models

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.registry import Registry
    from pyramid.request import Request

__all__ = ["HealthCheck", "HealthLine", "add_admin_health", "dashboard", "health", "includeme"]

log = logging.getLogger(__name__)

TEMPLATES = "pyramidion_admin:templates/"

#: How many of the latest changes the dashboard lists.
RECENT = 10


@dataclass(frozen=True)
class HealthLine:
    """One line of the dashboard's health panel."""

    label: str
    value: str
    #: "ok": nothing to do; "warning": the operator has something to do (``hint``).
    status: Literal["ok", "warning"] = "ok"
    #: What to do about it.
    hint: str = ""


#: ``check(request)``: the lines a health check shows, as :class:`HealthLine`
#: objects or mappings of their fields (so that an add-on that does not
#: require the admin contributes a check without importing it).
HealthCheck = Callable[["Request"], Sequence[HealthLine | Mapping[str, str]]]


@dataclass(frozen=True)
class _Registered:
    name: str
    check: HealthCheck
    order: int


def _checks(registry: Registry) -> dict[str, _Registered]:
    checks: dict[str, _Registered] | None = getattr(registry, "pyramidion_admin_health", None)
    if checks is None:
        checks = {}
        registry.pyramidion_admin_health = checks
    return checks


def add_admin_health(
    config: Configurator, name: str, check: HealthCheck | str, *, order: int = 100
) -> None:
    """Directive: show what ``check(request)`` returns in the health panel of
    the admin's dashboard, seen by the admin group. Checks are shown by
    ``order``, then ``name``; two checks with one ``name`` conflict.

    A check runs on every view of the dashboard, in a savepoint of the
    request's transaction: keep it to a few quick queries. A check that
    fails with a database or OS error is logged and shown as "could not be
    checked"; the rest of the page is unaffected.
    """
    resolved: HealthCheck = config.maybe_dotted(check)

    def register() -> None:
        _checks(config.registry)[name] = _Registered(name, resolved, order)

    intr = config.introspectable(
        "pyramidion admin health checks", name, name, "admin health check"
    )
    intr["check"] = resolved
    intr["order"] = order
    config.action(("pyramidion_admin.health", name), register, introspectables=(intr,))


def health(request: Request) -> list[HealthLine]:
    """The lines of every registered check, in order."""
    lines: list[HealthLine] = []
    registered = sorted(_checks(request.registry).values(), key=lambda c: (c.order, c.name))
    for entry in registered:
        try:
            # Each check in a savepoint: on PostgreSQL a failed statement
            # would otherwise abort the transaction the page still reads in.
            with request.dbsession.begin_nested():
                lines.extend(_line(line) for line in entry.check(request))
        except (SQLAlchemyError, DatabaseError, OSError):
            log.exception("admin health check %s failed", entry.name)
            lines.append(
                HealthLine(
                    entry.name, "could not be checked", "warning", "The log has the details."
                )
            )
    return lines


def _line(line: HealthLine | Mapping[str, str]) -> HealthLine:
    if isinstance(line, HealthLine):
        return line
    warning = line.get("status") == "warning"
    return HealthLine(
        line["label"], line["value"], "warning" if warning else "ok", line.get("hint", "")
    )


def database_health(request: Request) -> list[HealthLine]:
    """Pending migrations, add-ons enabled but not installed, and add-ons
    installed but no longer enabled."""
    state = database_state(request.registry, request.dbsession.connection())
    hint = app_state(request.registry).config_hint
    pending = sum(len(revisions) for revisions in state.pending.values())
    lines = [
        HealthLine(
            "Pending migrations",
            f"{pending} ({', '.join(sorted(state.pending))})" if pending else "none",
            "warning" if pending else "ok",
            f"Run: pyramidion db upgrade {hint}" if pending else "",
        ),
        HealthLine(
            "Add-ons enabled but not installed",
            ", ".join(state.not_installed) or "none",
            "warning" if state.not_installed else "ok",
            f"Run: pyramidion db upgrade {hint}" if state.not_installed else "",
        ),
    ]
    if state.installed_not_enabled:
        lines.append(
            HealthLine(
                "Add-ons installed but not enabled",
                ", ".join(state.installed_not_enabled),
                "ok",
                f"Their tables stay until `pyramidion addons uninstall NAME {hint}` removes them.",
            )
        )
    return lines


def login_health(request: Request) -> list[HealthLine]:
    """Failed logins in the last hour, as auth's throttle counted them."""
    since = request.find_service(Clock).now() - datetime.timedelta(hours=1)
    failures = failed_logins_since(request.dbsession, since)
    return [HealthLine("Failed logins in the last hour", str(failures))]


def dashboard(context: AdminRoot, request: Request) -> dict[str, Any]:
    """``/admin/``: the models the user may see grouped by add-on, the
    latest changes they may read and, for the admin group, health."""
    site = admin_site(request.registry)
    groups = []
    for addon in site.addons():
        models = visible_models(request, site.models(addon), context)
        if models:
            groups.append((addon, models))
    recent = read_history(request.dbsession, visible(request), [], {}, page_size=RECENT)
    operator = bool(request.has_permission(SEE_ALL, context))
    return {
        "page_title": "Administration",
        "groups": groups,
        "recent": recent,
        "view": HistoryView(request, HistoryFilters(), recent),
        "health": health(request) if operator else [],
        "operator": operator,
    }


def includeme(config: Configurator) -> None:
    """Register the dashboard (the admin root's default view), the
    directive ``add_admin_health`` and the admin's own health checks."""
    config.add_directive("add_admin_health", add_admin_health)
    config.add_view(
        dashboard,
        context=AdminRoot,
        name="",
        renderer=TEMPLATES + "dashboard.pt",
        permission=ADMIN_ACCESS,
    )
    config.add_admin_health("database", database_health, order=10)
    config.add_admin_health("logins", login_health, order=20)
