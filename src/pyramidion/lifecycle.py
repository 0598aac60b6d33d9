"""Installing, upgrading and uninstalling add-ons in a database.

An add-on is *enabled* when the ini lists it (or an enabled add-on requires
it) and *installed* when this database has its tables and a row in
``pyramidion_addons``. Enabling never installs: migrations and install hooks
run only from ``pyramidion db upgrade`` and ``pyramidion addons install``,
never at start-up; until then ``/readyz`` reports what is missing, with the
command that fixes it.

Every function that changes the database works inside the transaction of
the connection it is given, so a failing install hook or migration leaves
nothing behind: no tables, no record.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pyramid.path import DottedNameResolver
from sqlalchemy import column, delete, func, insert, inspect, select, table, update
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session

# pyramidion.migrate, and Alembic with it, is imported by the functions that
# read or run migrations, not with this module: see readiness().
from . import db
from .addon import Addon, LifecycleContext
from .errors import AddonImportError, CommandError, DatabaseError
from .models import InstalledAddon
from .state import app_state, get_database

if TYPE_CHECKING:
    from pyramid.registry import Registry
    from sqlalchemy import ColumnClause, Table
    from sqlalchemy.engine import Connection

__all__ = [
    "DatabaseState",
    "ReadinessProblem",
    "TableImpact",
    "UninstallPlan",
    "database_state",
    "install_addon",
    "installed_addons",
    "readiness",
    "readiness_problems",
    "uninstall_addon",
    "uninstall_plan",
    "upgrade",
]

_ADDONS = cast("Table", InstalledAddon.__table__)


def installed_addons(connection: Connection) -> dict[str, str]:
    """Add-ons recorded as installed in the database: name -> version.

    Empty when the core's tables do not exist yet.
    """
    if not inspect(connection).has_table(InstalledAddon.__tablename__):
        return {}
    rows = connection.execute(select(_ADDONS.c.name, _ADDONS.c.version).order_by(_ADDONS.c.name))
    return {str(name): str(version) for name, version in rows}


@dataclass(frozen=True)
class DatabaseState:
    """How the database stands against the enabled add-ons (see :func:`database_state`)."""

    #: Revisions not yet applied, oldest first, by branch; up-to-date branches left out.
    pending: dict[str, list[str]]
    #: Enabled add-ons with no record in ``pyramidion_addons``, in resolution order.
    not_installed: list[str]
    #: Add-ons recorded as installed that the ini no longer enables, by name.
    installed_not_enabled: list[str]


def database_state(registry: Registry, connection: Connection) -> DatabaseState:
    """What ``/readyz`` checks, as data for a status page: pending migrations
    and enabled add-ons not installed, read on ``connection``, plus add-ons
    installed but no longer enabled.

    The version graph comes from the code and is cached per registry.
    """
    from . import migrate

    pending = migrate.cached_pending_migrations(registry, connection)
    installed = installed_addons(connection)
    enabled = [e.name for e in app_state(registry).resolution.addons]
    return DatabaseState(
        pending=pending,
        not_installed=[name for name in enabled if name not in installed],
        installed_not_enabled=sorted(set(installed) - set(enabled)),
    )


# -- install and upgrade -------------------------------------------------------


def upgrade(
    registry: Registry, connection: Connection, *, dbsession: Session | None = None
) -> list[str]:
    """Bring the database up to date with the enabled add-ons.

    Migrates the core's branch, then each enabled add-on's branch in
    resolution order, to its head; runs the install hook of every enabled
    add-on not yet recorded in ``pyramidion_addons`` and records it; updates
    the recorded version of the others. Returns what was done, one line per
    step. ``dbsession`` is what install hooks receive; by default a session
    on ``connection``.
    """
    from . import migrate

    lines = _migrate(registry, connection, migrate.CORE_BRANCH, "core")
    installed = installed_addons(connection)
    with _hook_session(connection, dbsession) as session:
        for enabled in app_state(registry).resolution.addons:
            lines.extend(_install_one(registry, connection, session, enabled.addon, installed))
    if not lines:
        lines.append("the database is up to date; nothing to do")
    return lines


def install_addon(
    registry: Registry,
    connection: Connection,
    name: str,
    *,
    dbsession: Session | None = None,
    config: str = "CONFIG",
) -> list[str]:
    """Install one enabled add-on, and the add-ons it requires that are not
    installed yet: migrate their branches to head, run their install hooks
    and record them. Returns what was done, one line per step. ``config``
    is the ini file that error messages name in the commands they suggest."""
    from . import migrate

    state = app_state(registry)
    if name not in state.resolution:
        where = (
            f"It is installed (distribution {state.installed[name].distribution}) but not enabled."
            if name in state.installed
            else "No installed distribution provides it either."
        )
        raise CommandError(
            f"add-on '{name}' is not enabled in {config}. {where} "
            f"Add '{name}' to pyramidion.addons in the ini file, then run: "
            f"pyramidion addons install {name} {config}"
        )
    needed = {name, *_requirements(state.resolution, name)}
    lines = _migrate(registry, connection, migrate.CORE_BRANCH, "core")
    installed = installed_addons(connection)
    with _hook_session(connection, dbsession) as session:
        for enabled in state.resolution.addons:
            if enabled.name not in needed:
                continue
            if enabled.name != name and enabled.name in installed:
                continue
            reason = "" if enabled.name == name else f" (required by {name})"
            steps = _install_one(registry, connection, session, enabled.addon, installed)
            lines.extend(line + reason for line in steps)
    if name in installed and not any(name in line for line in lines):
        lines.append(f"{name} {installed[name]} is already installed and up to date")
    return lines


def _requirements(resolution: Any, name: str) -> set[str]:
    found: set[str] = set()
    todo = list(resolution[name].addon.required_names)
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo.extend(resolution[current].addon.required_names)
    return found


def _migrate(registry: Registry, connection: Connection, branch: str, label: str) -> list[str]:
    from . import migrate

    applied = migrate.upgrade_branch(registry, connection, branch)
    if not applied:
        return []
    return [f"{label}: applied {len(applied)} migration(s) ({', '.join(applied)})"]


def _install_one(
    registry: Registry,
    connection: Connection,
    session: Session,
    addon: Addon,
    installed: dict[str, str],
) -> list[str]:
    lines = []
    if addon.migrations is not None:
        lines.extend(_migrate(registry, connection, addon.name, addon.name))
    if addon.name not in installed:
        _run_hook(registry, session, addon, "install")
        connection.execute(
            insert(_ADDONS).values(
                name=addon.name, version=addon.version, distribution=addon.distribution
            )
        )
        installed[addon.name] = addon.version
        lines.append(f"installed {addon.name} {addon.version} ({addon.distribution})")
    elif installed[addon.name] != addon.version:
        connection.execute(
            update(_ADDONS)
            .where(_ADDONS.c.name == addon.name)
            .values(version=addon.version, distribution=addon.distribution, updated_at=func.now())
        )
        lines.append(f"{addon.name}: recorded version {installed[addon.name]} -> {addon.version}")
        installed[addon.name] = addon.version
    return lines


@contextmanager
def _hook_session(connection: Connection, dbsession: Session | None) -> Iterator[Session]:
    if dbsession is not None:
        yield dbsession
        return
    # The session joins the connection's transaction without owning it:
    # it never commits the caller's work, and closing it leaves it alone.
    session = Session(bind=connection, join_transaction_mode="rollback_only")
    try:
        yield session
    finally:
        session.close()


def _run_hook(registry: Registry, session: Session, addon: Addon, which: str) -> None:
    target = addon.install if which == "install" else addon.uninstall
    if target is None:
        return
    hook = _resolve_hook(addon, target, which)
    settings = app_state(registry).settings.get(addon.name)
    hook(LifecycleContext(addon=addon, registry=registry, dbsession=session, settings=settings))
    # Flushed here so that a hook's mistakes surface as its own failure, and
    # its rows are written before the add-on is recorded or its tables go.
    session.flush()


def _resolve_hook(addon: Addon, target: Any, which: str) -> Callable[[LifecycleContext], None]:
    if callable(target):
        return target  # type: ignore[no-any-return]

    try:
        resolved = DottedNameResolver().resolve(target)
    except Exception as exc:
        raise AddonImportError(
            f"the {which} hook of add-on '{addon.name}' ({addon.distribution} "
            f"{addon.version}), '{target}', could not be imported: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    return resolved  # type: ignore[no-any-return]


# -- uninstall ----------------------------------------------------------------


@dataclass(frozen=True)
class TableImpact:
    """A table an uninstall drops, and how many rows it holds."""

    name: str
    rows: int


@dataclass(frozen=True)
class UninstallPlan:
    """What ``pyramidion addons uninstall NAME`` would do."""

    name: str
    #: The version recorded in the database; None when not recorded.
    installed_version: str | None
    tables: tuple[TableImpact, ...]
    #: Enabled add-ons that require this one, directly or not.
    dependents: tuple[str, ...]

    def describe(self) -> list[str]:
        """The plan in sentences, for the confirmation prompt."""
        version = f" {self.installed_version}" if self.installed_version else ""
        lines = [f"Uninstalling {self.name}{version} from the database will:"]
        if self.tables:
            lines.append("  drop these tables and every row in them:")
            lines.extend(f"    {t.name}: {t.rows} row(s)" for t in self.tables)
        else:
            lines.append("  drop no tables (it has none in this database)")
        lines.append(f"  run its uninstall hook and remove its record from {_ADDONS.name}")
        if self.dependents:
            lines.append(
                "It cannot be uninstalled while these enabled add-ons require it: "
                + ", ".join(self.dependents)
            )
        return lines


def uninstall_plan(
    registry: Registry, connection: Connection, name: str, *, config: str = "CONFIG"
) -> UninstallPlan:
    """What uninstalling ``name`` would drop and who depends on it."""
    from . import migrate

    state = app_state(registry)
    if name not in state.resolution:
        raise CommandError(
            f"add-on '{name}' is not enabled in {config}, so its "
            "migrations and uninstall hook cannot be run. Add it back to "
            "pyramidion.addons, run 'pyramidion addons uninstall' again, then "
            "remove it from the ini file."
        )
    known = [migrate.CORE_BRANCH, *state.resolution.names, *state.installed]
    existing = set(inspect(connection).get_table_names())
    names = [t.name for t in db.tables_of(name, known) if t.name in existing]
    names.extend(
        sorted(
            t
            for t in existing
            if db.table_owner(t, known) == name and t not in names and t != migrate.VERSION_TABLE
        )
    )
    tables = tuple(
        TableImpact(
            t, int(connection.execute(select(func.count()).select_from(table(t))).scalar_one())
        )
        for t in names
    )
    return UninstallPlan(
        name=name,
        installed_version=installed_addons(connection).get(name),
        tables=tables,
        dependents=state.resolution.dependents(name),
    )


def uninstall_addon(
    registry: Registry,
    connection: Connection,
    name: str,
    export_dir: Path | None = None,
    *,
    dbsession: Session | None = None,
    config: str = "CONFIG",
) -> list[str]:
    """Remove an add-on from the database, in the connection's transaction.

    Refuses while an enabled add-on requires it. Exports each of its tables
    as JSON lines (``export_dir/<table>.jsonl``) when ``export_dir`` is
    given, runs its uninstall hook, reverts its branch to base (dropping its
    tables) and deletes its record. Returns what was done, one line per step.
    """
    from . import migrate

    plan = uninstall_plan(registry, connection, name, config=config)
    hint = config
    if plan.dependents:
        raise CommandError(
            f"cannot uninstall '{name}': the enabled add-on(s) "
            f"{', '.join(plan.dependents)} require it. Uninstall them first "
            f"(pyramidion addons uninstall {plan.dependents[0]} {hint}) and remove "
            "them from pyramidion.addons."
        )
    current = migrate.current_revisions(registry, connection).get(name)
    if plan.installed_version is None and current is None:
        raise CommandError(
            f"add-on '{name}' is not installed in this database, so there is nothing to uninstall."
        )
    lines = []
    if export_dir is not None:
        lines.extend(export_tables(connection, [t.name for t in plan.tables], export_dir))

    addon = app_state(registry).resolution[name].addon
    with _hook_session(connection, dbsession) as session:
        _run_hook(registry, session, addon, "uninstall")
    if current is not None:
        reverted = migrate.downgrade(registry, connection, name, "base")
        lines.append(f"{name}: reverted {len(reverted)} migration(s) ({', '.join(reverted)})")
    left = set(inspect(connection).get_table_names()) & {t.name for t in plan.tables}
    for t in plan.tables:
        if t.name in left:
            lines.append(
                f"warning: table {t.name} still exists: the migrations of "
                f"'{name}' do not drop it. Drop it by hand if it is not needed."
            )
        else:
            lines.append(f"dropped table {t.name} ({t.rows} row(s))")
    connection.execute(delete(_ADDONS).where(_ADDONS.c.name == name))
    lines.append(f"uninstalled {name}; now remove '{name}' from pyramidion.addons in {hint}")
    return lines


def export_tables(connection: Connection, names: list[str], directory: Path) -> list[str]:
    """Write each table's rows as JSON lines to ``directory/<table>.jsonl``.

    Dates and times are written in ISO 8601, decimals and UUIDs as strings,
    bytes in base64.
    """
    directory.mkdir(parents=True, exist_ok=True)
    lines = []
    for name in names:
        path = directory / f"{name}.jsonl"
        columns = [c["name"] for c in inspect(connection).get_columns(name)]
        count = 0
        with path.open("w", encoding="utf-8") as out:
            columns_sql: list[ColumnClause[Any]] = [column(c) for c in columns]
            query = select(*columns_sql).select_from(table(name))
            for row in connection.execute(query):
                out.write(json.dumps(dict(zip(columns, row, strict=True)), default=_json_value))
                out.write("\n")
                count += 1
        lines.append(f"exported {count} row(s) of {name} to {path}")
    return lines


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"cannot export a value of type {type(value).__name__}")


# -- readiness ----------------------------------------------------------------


@dataclass(frozen=True)
class ReadinessProblem:
    """One reason the app is not ready, told two ways.

    ``public`` is what ``/readyz`` shows anyone: what is wrong and what to
    do, without connection details. ``detail`` adds them (the database URL
    with its password hidden, the driver's error, the ini file) for the
    log and for commands run by the operator.
    """

    public: str
    detail: str
    #: The problem is a dependency every process shares (the database is
    #: unreachable), not this process's own: ``/readyz`` reports it
    #: without failing unless asked to (``pyramidion.readiness_requires_database``).
    shared: bool = False


def readiness(registry: Registry) -> list[ReadinessProblem]:
    """Why the app is not ready to serve, or an empty list.

    Opens one short connection of its own, bounded by
    ``pyramidion.readiness_timeout`` on PostgreSQL (connecting and each
    statement), so a hung database is reported within that bound. Reports
    an unreachable database, branches with pending migrations, and enabled
    add-ons not installed in the database, each with the command that
    fixes it. The version graph comes from the code and is cached per
    registry; the database is read on every call. Alembic, which reads
    the version graph, is imported at the first call rather than at
    start-up: about 10 MB of resident memory that a process nobody probes
    never loads.
    """
    from . import migrate

    database = get_database(registry)
    engine = database.readiness_engine or database.engine
    hint = app_state(registry).config_hint
    try:
        with engine.connect() as connection:
            pending = migrate.cached_pending_migrations(registry, connection)
            installed = installed_addons(connection)
    except SQLAlchemyError as exc:
        return [
            ReadinessProblem(
                "the database is unreachable: check that the database server is running "
                "and that sqlalchemy.url points to it (the log has the details)",
                f"the database {db.redacted_url(engine)} is unreachable: "
                f"{migrate.describe_database_error(registry, exc)}",
                shared=isinstance(exc, OperationalError | InterfaceError | PoolTimeoutError),
            )
        ]
    except DatabaseError as exc:
        return [
            ReadinessProblem(
                "the database cannot be read: run `pyramidion check` on the app's ini "
                "file (the log has the details)",
                exc.message,
            )
        ]
    problems = [
        ReadinessProblem(
            f"branch '{branch}' has {len(revisions)} pending migration(s); run "
            "`pyramidion db upgrade` on the app's ini file",
            f"branch '{branch}' has {len(revisions)} pending migration(s); run: "
            f"pyramidion db upgrade {hint}",
        )
        for branch, revisions in pending.items()
    ]
    for enabled in app_state(registry).resolution.addons:
        if enabled.name not in installed:
            problems.append(
                ReadinessProblem(
                    f"add-on '{enabled.name}' is enabled but not installed in the "
                    f"database; run `pyramidion addons install {enabled.name}` on the "
                    "app's ini file",
                    f"add-on '{enabled.name}' is enabled but not installed in the "
                    f"database; run: pyramidion addons install {enabled.name} {hint}",
                )
            )
    return problems


def readiness_problems(registry: Registry) -> list[str]:
    """Why the app is not ready, in full (see :func:`readiness`), or an empty list."""
    return [problem.detail for problem in readiness(registry)]
