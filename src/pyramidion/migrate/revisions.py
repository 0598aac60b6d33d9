"""Comparing the models with the database, and writing new revisions."""

from __future__ import annotations

import io
import os
import shutil
import sys
from contextlib import redirect_stdout
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import Script

from .. import db
from ..errors import CommandError, DatabaseError
from ..state import app_state
from .apply import upgrade_branch
from .config import (
    CORE_BRANCH,
    alembic_config,
    branches,
    context_options,
    enabled_addon,
    migration_dir,
)
from .destructive import destructive_steps
from .errors import alembic_errors
from .graph import VersionGraph, forget_cached_graph, pending_migrations

if TYPE_CHECKING:
    from alembic.config import Config
    from pyramid.registry import Registry
    from sqlalchemy.engine import Connection

__all__ = ["check", "drift", "make_revision"]


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

    Reports branches with pending revisions, then each table or column a
    pending revision drops or renames (see :func:`destructive_steps`: the
    release still serving during a rolling deploy may use it), then every
    difference between the models and the schema the migrations produce. When revisions are
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
        problems.extend(destructive_steps(registry, connection))
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
    addon = enabled_addon(registry, addon_name)
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
    graph = VersionGraph.read(config)
    existing = graph.of_branch(addon_name)
    kwargs: dict[str, Any] = {"version_path": str(directory)}
    if existing:
        kwargs["head"] = f"{addon_name}@head"
    else:
        kwargs["head"] = "base"
        kwargs["branch_label"] = addon_name
        depends: list[str] = []
        for required in addon.required_names:
            depends.extend(graph.of_branch(required)[-1:])
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
        # Options go through configparser interpolation.
        executable = ruff.replace("%", "%%")
        config.set_section_option("post_write_hooks", f"{name}.executable", executable)
        config.set_section_option("post_write_hooks", f"{name}.options", options)
    return True
