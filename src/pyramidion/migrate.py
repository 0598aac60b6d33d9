"""Alembic, configured in code: one version graph, one branch per add-on.

There is no ``alembic.ini``. :func:`alembic_config` builds the configuration
from the application's registry:

- ``script_location`` is the core's ``pyramidion/migrations`` directory (its
  ``env.py`` and ``script.py.mako``);
- ``version_locations`` are the core's ``versions`` directory (the branch
  labelled ``pyramidion``) and the ``migrations`` directory of every enabled
  add-on that declares one (a branch labelled with the add-on's name), plus
  those of add-ons recorded as installed in the database but no longer
  enabled, so that their applied revisions can still be located;
- the version table is ``pyramidion_alembic_version``, named for the core
  like its other tables and apart from any Alembic setup of the integrator's
  own in the same database.

Every function here works on a connection the caller opened and whose
transaction the caller owns (``env.py`` never commits), so a command's
migrations, hooks and records are kept or dropped together. Migrations never
run at start-up; only the ``pyramidion db`` and ``pyramidion addons``
commands apply them.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError as AlembicCommandError
from sqlalchemy import inspect, select
from sqlalchemy.exc import SQLAlchemyError

from . import db
from .errors import CommandError, DatabaseError

if TYPE_CHECKING:
    from pyramid.registry import Registry
    from sqlalchemy.engine import Connection

    from .addon import Addon

__all__ = [
    "CORE_BRANCH",
    "MIGRATIONS_DIR",
    "VERSION_TABLE",
    "BranchRevision",
    "alembic_config",
    "branches",
    "cached_pending_migrations",
    "check",
    "context_options",
    "current_heads",
    "current_revisions",
    "database_error",
    "downgrade",
    "drift",
    "history",
    "make_include_object",
    "make_revision",
    "migration_dir",
    "pending_migrations",
    "upgrade_branch",
]

#: The branch label of the core's own revisions.
CORE_BRANCH = "pyramidion"
#: The core's Alembic script location (``env.py``, ``script.py.mako``).
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: The table in which Alembic records the applied head of each branch.
VERSION_TABLE = "pyramidion_alembic_version"


# -- configuration ---------------------------------------------------------


def migration_dir(addon: Addon) -> Path | None:
    """The directory an add-on's ``migrations`` asset spec names, or None.

    ``"pyramidion_blog:migrations"`` is the ``migrations`` directory inside
    the ``pyramidion_blog`` package. Raises :class:`CommandError` when the
    package cannot be found or is not a directory on disk.
    """
    if addon.migrations is None:
        return None
    package, _, relative = addon.migrations.partition(":")
    if not relative:
        # A bare package name means the package directory itself.
        relative = "."
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or ()) if spec else []
    if not locations:
        raise CommandError(
            f"add-on '{addon.name}' ({addon.distribution} {addon.version}) "
            f"declares migrations={addon.migrations!r}, but '{package}' is not "
            "an importable package. Fix the asset spec in the add-on's "
            "descriptor (for example 'pyramidion_blog:migrations')."
        )
    path = (Path(locations[0]) / relative).resolve()
    if path.exists() and not path.is_dir():
        raise CommandError(
            f"add-on '{addon.name}' declares migrations={addon.migrations!r}, "
            f"but {path} is not a directory."
        )
    return path


def _enabled_addons(registry: Registry) -> tuple[Addon, ...]:
    from .app import app_state

    return app_state(registry).addons


def _enabled_addon(registry: Registry, name: str) -> Addon:
    from .app import app_state

    resolution = app_state(registry).resolution
    if name not in resolution:
        raise CommandError(
            f"add-on '{name}' is not enabled in this application. Add it to "
            "pyramidion.addons in the ini file, then run the command again."
        )
    return resolution[name].addon


def branches(registry: Registry) -> list[str]:
    """The branches of this application: the core's, then each enabled
    add-on's that declares migrations, in resolution order."""
    names = [CORE_BRANCH]
    names.extend(a.name for a in _enabled_addons(registry) if a.migrations is not None)
    return names


def _version_locations(registry: Registry, connection: Connection | None) -> list[Path]:
    locations = [MIGRATIONS_DIR / "versions"]
    enabled = _enabled_addons(registry)
    for addon in enabled:
        path = migration_dir(addon)
        if path is not None and path.is_dir():
            locations.append(path)
    if connection is not None:
        locations.extend(_disabled_installed_locations(registry, connection, enabled))
    return locations


def _disabled_installed_locations(
    registry: Registry, connection: Connection, enabled: Sequence[Addon]
) -> list[Path]:
    """Migration directories of add-ons installed in the database but not
    enabled; their revisions stay in the version table and Alembic must be
    able to locate them to compute anything."""
    from .app import app_state
    from .errors import PyramidionError
    from .models import InstalledAddon

    enabled_names = {a.name for a in enabled}
    if not inspect(connection).has_table(InstalledAddon.__tablename__):
        return []
    recorded = connection.execute(select(InstalledAddon.__table__.c.name)).scalars().all()
    candidates = app_state(registry).installed
    found = []
    for name in recorded:
        if name in enabled_names or name not in candidates:
            continue
        try:
            path = migration_dir(candidates[name].load())
        except PyramidionError:
            # A broken add-on that is not enabled must not stop the others;
            # if its revisions are needed, Alembic's error says which.
            continue
        if path is not None and path.is_dir():
            found.append(path)
    return found


def alembic_config(registry: Registry, connection: Connection | None = None) -> Config:
    """An Alembic :class:`~alembic.config.Config` for this application.

    With ``connection``, ``env.py`` runs on it (``config.attributes
    ["connection"]``) and the version locations include add-ons recorded as
    installed in that database but not enabled.
    """
    # Quiet: commands report what they did in their own words.
    config = Config(stdout=io.StringIO(), cmd_opts=argparse.Namespace(quiet=True))
    config.set_main_option("script_location", _escape(str(MIGRATIONS_DIR)))
    config.set_main_option("path_separator", "newline")
    locations = _version_locations(registry, connection)
    config.set_main_option(
        "version_locations", _escape("\n".join(str(p) for p in dict.fromkeys(locations)))
    )
    config.attributes["registry"] = registry
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _escape(value: str) -> str:
    # Config options go through configparser interpolation.
    return value.replace("%", "%%")


def context_options(config: Config) -> dict[str, Any]:
    """The options ``env.py`` passes to ``context.configure``.

    ``target_metadata`` is :data:`pyramidion.db.metadata`; ``include_object``
    limits comparison to the tables of the core and of enabled add-ons (or
    of the one add-on in ``config.attributes["pyramidion.only"]``), so
    autogenerate and ``db check`` never propose dropping the tables of an
    add-on that is installed but not enabled, or tables Pyramidion does not
    own.
    """
    registry = config.attributes["registry"]
    connection = config.attributes["connection"]
    return {
        "target_metadata": db.metadata,
        "include_object": make_include_object(registry, config.attributes.get("pyramidion.only")),
        "compare_type": True,
        "render_as_batch": connection.dialect.name == "sqlite",
        "version_table": VERSION_TABLE,
    }


IncludeObject = Callable[[Any, str | None, str, bool, Any], bool]


def make_include_object(registry: Registry, only: str | None = None) -> IncludeObject:
    """An Alembic ``include_object`` hook for this application's tables."""
    from .app import app_state

    state = app_state(registry)
    managed = {CORE_BRANCH, *state.resolution.names} if only is None else {only}
    # Every installed add-on's name counts when deciding who owns a table,
    # so that 'blog_stats_x' of a disabled 'blog_stats' is not taken for
    # a table of an enabled 'blog'.
    known = {CORE_BRANCH, *state.resolution.names, *state.installed}

    def include_object(
        obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
    ) -> bool:
        if type_ != "table":
            return True
        if name == VERSION_TABLE:
            return False
        owner = db.table_owner(name or "", known)
        return owner in managed

    return include_object


# -- reading the version graph ---------------------------------------------


@dataclass(frozen=True)
class BranchRevision:
    """One revision of a branch, for ``pyramidion db history``."""

    revision: str
    message: str
    down_revision: tuple[str, ...]
    depends_on: tuple[str, ...]
    path: str


def _script_directory(config: Config) -> ScriptDirectory:
    with alembic_errors():
        return ScriptDirectory.from_config(config)


def _branch_revisions(script: ScriptDirectory, branch: str) -> list[Script]:
    """The revisions of a branch, oldest first."""
    with alembic_errors():
        revisions = [r for r in script.walk_revisions() if branch in r.branch_labels]
    revisions.reverse()
    return revisions


def _tuple(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def current_heads(connection: Connection) -> tuple[str, ...]:
    """The revisions recorded in the version table (empty on a new database)."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_heads()


def _applied(script: ScriptDirectory, heads: Sequence[str]) -> set[str]:
    """Every revision applied when ``heads`` are: the heads and all their
    ancestors, dependencies included. Heads this script directory does not
    know (add-ons that are neither enabled nor installed) are skipped."""
    graph = _graph(script)
    applied: set[str] = set()
    todo = [h for h in heads if h in graph]
    while todo:
        rev = todo.pop()
        if rev in applied:
            continue
        applied.add(rev)
        todo.extend(graph[rev])
    return applied


def _graph(script: ScriptDirectory) -> dict[str, tuple[str, ...]]:
    """Each revision mapped to the revisions it needs (down revisions and
    ``depends_on``, branch labels resolved)."""
    graph: dict[str, tuple[str, ...]] = {}
    with alembic_errors():
        for rev in script.walk_revisions():
            needs = list(_tuple(rev.down_revision))
            for dep in _tuple(rev.dependencies):
                needs.extend(r.revision for r in script.get_revisions(dep) if r is not None)
            graph[rev.revision] = tuple(needs)
    return graph


@dataclass(frozen=True)
class _GraphFacts:
    """What the code says, computed once per registry for readiness."""

    branch_revisions: Mapping[str, tuple[str, ...]]
    graph: Mapping[str, tuple[str, ...]]


def _facts(registry: Registry) -> _GraphFacts:
    facts: _GraphFacts | None = getattr(registry, "pyramidion_migration_facts", None)
    if facts is None:
        script = _script_directory(alembic_config(registry))
        facts = _GraphFacts(
            branch_revisions={
                b: tuple(r.revision for r in _branch_revisions(script, b))
                for b in branches(registry)
            },
            graph=_graph(script),
        )
        registry.pyramidion_migration_facts = facts
    return facts


def forget_cached_graph(registry: Registry) -> None:
    """Drop the cached version graph (after a revision file was written)."""
    registry.__dict__.pop("pyramidion_migration_facts", None)


def cached_pending_migrations(registry: Registry, connection: Connection) -> dict[str, list[str]]:
    """:func:`pending_migrations` from a version graph cached per registry;
    only the version table is read from the database."""
    facts = _facts(registry)
    heads = current_heads(connection)
    applied: set[str] = set()
    todo = [h for h in heads if h in facts.graph]
    while todo:
        rev = todo.pop()
        if rev not in applied:
            applied.add(rev)
            todo.extend(facts.graph[rev])
    return {
        branch: [r for r in revisions if r not in applied]
        for branch, revisions in facts.branch_revisions.items()
        if any(r not in applied for r in revisions)
    }


def pending_migrations(registry: Registry, connection: Connection) -> dict[str, list[str]]:
    """Revisions not yet applied, oldest first, by branch (the core's and
    each enabled add-on's). Branches that are up to date are left out."""
    script = _script_directory(alembic_config(registry, connection))
    applied = _applied(script, current_heads(connection))
    pending = {}
    for branch in branches(registry):
        missing = [
            r.revision for r in _branch_revisions(script, branch) if r.revision not in applied
        ]
        if missing:
            pending[branch] = missing
    return pending


def current_revisions(registry: Registry, connection: Connection) -> dict[str, str | None]:
    """The newest applied revision of each branch (None: none applied)."""
    script = _script_directory(alembic_config(registry, connection))
    applied = _applied(script, current_heads(connection))
    current: dict[str, str | None] = {}
    for branch in branches(registry):
        revisions = [r.revision for r in _branch_revisions(script, branch)]
        done = [r for r in revisions if r in applied]
        current[branch] = done[-1] if done else None
    return current


def history(registry: Registry) -> dict[str, list[BranchRevision]]:
    """The revisions of each branch, oldest first."""
    script = _script_directory(alembic_config(registry))
    return {
        branch: [
            BranchRevision(
                revision=r.revision,
                message=(r.doc or "").strip().splitlines()[0] if r.doc else "",
                down_revision=_tuple(r.down_revision),
                depends_on=_tuple(r.dependencies),
                path=r.path,
            )
            for r in _branch_revisions(script, branch)
        ]
        for branch in branches(registry)
    }


# -- changing the database -------------------------------------------------


@contextmanager
def alembic_errors() -> Iterator[None]:
    """Turn Alembic's command errors into :class:`DatabaseError`."""
    try:
        yield
    except AlembicCommandError as exc:
        text = str(exc)
        if "Can't locate revision" in text:
            text += (
                ". The database has a revision that no enabled add-on provides: "
                "an add-on was probably removed from pyramidion.addons (or "
                "uninstalled with pip) without 'pyramidion addons uninstall'. "
                "Enable it again, or reinstall its distribution."
            )
        raise DatabaseError(f"migration failed: {text}") from exc


def upgrade_branch(registry: Registry, connection: Connection, branch: str) -> list[str]:
    """Apply a branch's pending revisions (and those they depend on).

    Returns the revisions applied, oldest first; nothing happens for a
    branch without revisions.
    """
    before = pending_migrations(registry, connection).get(branch, [])
    if not before:
        return []
    config = alembic_config(registry, connection)
    with alembic_errors():
        command.upgrade(config, f"{branch}@head")
    return before


def downgrade(
    registry: Registry, connection: Connection, branch: str, target: str = "-1"
) -> list[str]:
    """Revert revisions of one branch, newest first.

    ``target`` is a relative step (``-1``, ``-2``), a revision id of the
    branch, or ``base`` (every revision of the branch). Returns the
    revisions reverted, newest first.
    """
    if branch != CORE_BRANCH:
        _enabled_addon(registry, branch)
    config = alembic_config(registry, connection)
    script = _script_directory(config)
    revisions = [r.revision for r in _branch_revisions(script, branch)]
    if not revisions:
        raise CommandError(
            f"branch '{branch}' has no revisions, so there is nothing to downgrade."
        )
    graph = _graph(script)
    applied_before = _applied(script, current_heads(connection))
    current = [r for r in revisions if r in applied_before]
    if not current:
        raise CommandError(f"branch '{branch}' has no applied revisions; nothing to downgrade.")
    if target.startswith("-") and target[1:].isdigit():
        keep = max(len(current) - int(target[1:]), 0)
    elif target == "base":
        keep = 0
    else:
        matches = [r for r in revisions if r.startswith(target)]
        if len(matches) != 1:
            raise CommandError(
                f"'{target}' is not a revision of branch '{branch}'. Its "
                f"revisions, oldest first: {', '.join(revisions)}. Give one of "
                "them, a step such as -1, or base."
            )
        keep = revisions.index(matches[0]) + 1
    to_revert = set(current[keep:])
    if not to_revert:
        raise CommandError(f"branch '{branch}' is already at {target}; nothing to downgrade.")
    dependents = sorted(
        rev for rev in applied_before - set(revisions) if _needs_any(graph, rev, to_revert)
    )
    if dependents:
        raise CommandError(
            f"downgrading '{branch}' to {target} would also revert revisions of "
            f"other branches that depend on it ({', '.join(dependents)}); nothing "
            "was changed. Downgrade or uninstall those add-ons first."
        )
    alembic_target = current[keep - 1] if keep else f"{branch}@base"
    with alembic_errors():
        command.downgrade(config, alembic_target)
    applied_after = _applied(script, current_heads(connection))
    reverted = [r for r in reversed(revisions) if r in applied_before - applied_after]
    return reverted


def _needs_any(graph: Mapping[str, tuple[str, ...]], rev: str, targets: set[str]) -> bool:
    """Whether ``rev`` needs any of ``targets``, directly or not."""
    seen: set[str] = set()
    todo = list(graph.get(rev, ()))
    while todo:
        current = todo.pop()
        if current in targets:
            return True
        if current not in seen:
            seen.add(current)
            todo.extend(graph.get(current, ()))
    return False


# -- checking and writing revisions -----------------------------------------


def _describe_diff(diff: Any) -> str:
    """One line for a difference reported by Alembic's comparison."""
    if isinstance(diff, list):
        return "; ".join(_describe_diff(d) for d in diff)
    kind = diff[0]
    if kind in ("add_table", "remove_table"):
        table = diff[1]
        verb = "model has table" if kind == "add_table" else "database has table"
        missing = "no migration creates it" if kind == "add_table" else "no model defines it"
        return f"{verb} '{table.name}' but {missing}"
    if kind in ("add_column", "remove_column"):
        _, _schema, table, column = diff
        if kind == "add_column":
            return f"model has column '{table}.{column.name}' but no migration adds it"
        return f"database has column '{table}.{column.name}' but no model defines it"
    if kind.startswith("modify_"):
        _, _schema, table, column, _info, old, new = diff
        what = kind[len("modify_") :]
        return f"column '{table}.{column}' {what} differs: database {old!r}, model {new!r}"
    if kind in ("add_index", "remove_index"):
        index = diff[1]
        where = "model" if kind == "add_index" else "database"
        return f"{where} alone has index '{index.name}' on '{index.table.name}'"
    if kind in ("add_fk", "remove_fk", "add_constraint", "remove_constraint"):
        constraint = diff[1]
        where = "model" if kind.startswith("add") else "database"
        table = getattr(constraint.table, "name", "?")
        return f"{where} alone has constraint '{constraint.name}' on '{table}'"
    return repr(diff)


def _table_of_diff(diff: Any) -> str | None:
    if isinstance(diff, list):
        return _table_of_diff(diff[0]) if diff else None
    item = diff[1] if len(diff) > 1 else None
    if diff[0] in ("add_table", "remove_table"):
        return str(getattr(item, "name", "")) or None
    if len(diff) > 2 and isinstance(diff[2], str):
        return diff[2]
    table = getattr(item, "table", None)
    return getattr(table, "name", None)


def drift(registry: Registry, connection: Connection) -> list[str]:
    """Differences between the models and the database, one line each,
    limited to the tables of the core and of enabled add-ons."""
    config = alembic_config(registry, connection)
    options = context_options(config)
    options.pop("target_metadata")
    context = MigrationContext.configure(connection, opts=options)
    diffs = compare_metadata(context, db.metadata)
    from .app import app_state

    known = [CORE_BRANCH, *app_state(registry).resolution.names]
    lines = []
    for diff in diffs:
        table = _table_of_diff(diff)
        owner = db.table_owner(table, known) if table else None
        line = _describe_diff(diff)
        lines.append(f"{owner}: {line}" if owner else line)
    return lines


def check(registry: Registry, connection: Connection, config_hint: str = "CONFIG") -> list[str]:
    """Problems that ``pyramidion db check`` reports, or an empty list.

    Reports branches with pending revisions, then every difference between
    the models and the schema the migrations produce. When revisions are
    pending they are applied inside a savepoint that is rolled back, so the
    comparison is between models and migrations even on a database that is
    behind.
    """
    problems = []
    pending = pending_migrations(registry, connection)
    for branch, revisions in pending.items():
        problems.append(
            f"the database is not up to date: branch '{branch}' has "
            f"{len(revisions)} pending revision(s) ({', '.join(revisions)}). "
            f"Run: pyramidion db upgrade {config_hint}"
        )
    if pending:
        savepoint = connection.begin_nested()
        try:
            for branch in branches(registry):
                upgrade_branch(registry, connection, branch)
            differences = drift(registry, connection)
        finally:
            savepoint.rollback()
    else:
        differences = drift(registry, connection)
    by_branch: dict[str, list[str]] = {}
    for line in differences:
        owner, sep, _rest = line.partition(": ")
        by_branch.setdefault(owner if sep else "", []).append(line)
    for owner, lines in by_branch.items():
        fix = (
            f"Write a migration: pyramidion db revision --addon {owner} -m "
            f"'describe the change' {config_hint}"
            if owner and owner != CORE_BRANCH
            else "Write a migration for these tables."
        )
        problems.append(
            "models and migrations differ:\n  - " + "\n  - ".join(lines) + f"\n  {fix}"
        )
    return problems


def make_revision(
    registry: Registry,
    connection: Connection,
    addon_name: str,
    message: str,
    *,
    autogenerate: bool = True,
) -> Path:
    """Write a new revision into an enabled add-on's migrations directory.

    With ``autogenerate`` the revision holds the differences between the
    add-on's models and the database (which must be up to date); otherwise
    it is empty. The add-on's first revision starts its branch, labelled
    with its name, and ``depends_on`` the current heads of the branches of
    the add-ons it requires, so that cross-add-on foreign keys find their
    tables. Returns the path of the new file.
    """
    addon = _enabled_addon(registry, addon_name)
    directory = migration_dir(addon)
    if directory is None:
        raise CommandError(
            f"add-on '{addon_name}' declares no migrations directory. Add "
            f'migrations="{addon.package}:migrations" to its Addon(...) '
            "descriptor and create that directory."
        )
    directory.mkdir(parents=True, exist_ok=True)
    if autogenerate:
        pending = pending_migrations(registry, connection)
        if pending:
            raise CommandError(
                "the database is not up to date ("
                + ", ".join(f"{b}: {len(r)} pending" for b, r in pending.items())
                + "), so its differences from the models would include those "
                "migrations. Run 'pyramidion db upgrade CONFIG' first."
            )
    config = alembic_config(registry, connection)
    config.attributes["pyramidion.only"] = addon_name
    script = _script_directory(config)
    existing = _branch_revisions(script, addon_name)
    kwargs: dict[str, Any] = {"version_path": str(directory)}
    if existing:
        kwargs["head"] = f"{addon_name}@head"
    else:
        kwargs["head"] = "base"
        kwargs["branch_label"] = addon_name
        depends: list[str] = []
        for required in addon.required_names:
            depends.extend(r.revision for r in _branch_revisions(script, required)[-1:])
        if depends:
            kwargs["depends_on"] = depends
    _add_ruff_hooks(config)
    # Alembic announces each post-write hook on sys.stdout; the command
    # reports the revision in its own words.
    with alembic_errors(), redirect_stdout(io.StringIO()):
        result = command.revision(config, message=message, autogenerate=autogenerate, **kwargs)
    forget_cached_graph(registry)
    if not isinstance(result, Script):
        raise DatabaseError(f"Alembic did not write a revision for '{addon_name}'.")
    return Path(result.path)


def _add_ruff_hooks(config: Config) -> bool:
    """Have Alembic run ruff on each revision it writes; False without ruff.

    Alembic's ``post_write_hooks`` run ``ruff check --fix`` and then
    ``ruff format`` on the new file, with the settings ruff finds for it
    (the add-on's own ``pyproject.toml``), so a new revision passes the
    add-on's lint as written. ruff is looked up next to the running Python,
    then on ``PATH``.
    """
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    ruff = shutil.which("ruff", path=search)
    if ruff is None:
        return False
    hooks = {
        "ruff_check": "check --fix --quiet --exit-zero REVISION_SCRIPT_FILENAME",
        "ruff_format": "format --quiet REVISION_SCRIPT_FILENAME",
    }
    config.set_section_option("post_write_hooks", "hooks", ", ".join(hooks))
    for name, options in hooks.items():
        config.set_section_option("post_write_hooks", f"{name}.type", "exec")
        config.set_section_option("post_write_hooks", f"{name}.executable", _escape(ruff))
        config.set_section_option("post_write_hooks", f"{name}.options", options)
    return True


def describe_database_error(registry: Registry, exc: SQLAlchemyError) -> str:
    """The driver's first line of error, with any password masked."""
    from .app import get_database

    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    detail = f"{type(original).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    password = get_database(registry).engine.url.password
    if password:
        detail = detail.replace(str(password), "***")
    return detail


def database_error(registry: Registry, exc: SQLAlchemyError) -> DatabaseError:
    """A :class:`DatabaseError` for a failed connection, without secrets."""
    from .app import get_database

    engine = get_database(registry).engine
    return DatabaseError(
        f"cannot use the database {db.redacted_url(engine)}: "
        f"{describe_database_error(registry, exc)}\n"
        "Check sqlalchemy.url in the ini file (or PYRAMIDION_SQLALCHEMY__URL) "
        "and that the database server is running and reachable."
    )
