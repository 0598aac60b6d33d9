"""Destructive steps in pending migrations: what a rolling deploy must not do.

During a rolling deploy the processes of the release now serving keep
running on the database that ``pyramidion db upgrade`` has just migrated
for the next release. A revision that drops or renames a table or a column
those processes still map breaks every one of them until it is replaced:
such a step belongs in a later release (expand, then contract), once no
running code uses what it removes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alembic import command
from sqlalchemy import inspect

from .. import db
from .config import alembic_config
from .errors import alembic_errors
from .graph import VersionGraph, current_heads

if TYPE_CHECKING:
    from pyramid.registry import Registry
    from sqlalchemy.engine import Connection

__all__ = ["destructive_steps"]

Schema = dict[str, set[str]]


def _schema(connection: Connection) -> Schema:
    # A new inspector each time: an inspector caches what it has read.
    inspector = inspect(connection)
    return {
        table: {column["name"] for column in inspector.get_columns(table)}
        for table in inspector.get_table_names()
    }


def _mapped(table: str, column: str | None = None) -> bool:
    mapped = db.metadata.tables.get(table)
    if mapped is None:
        return False
    return column is None or column in mapped.c


def _changes(before: Schema, after: Schema) -> list[tuple[str, str | None]]:
    """What ``before`` had that ``after`` has not: each a description and
    whether this release's models map it."""
    gone_tables = sorted(set(before) - set(after))
    new_tables = sorted(set(after) - set(before))
    changes: list[tuple[str, str | None]] = []
    for table in gone_tables:
        verb = (
            f"renames table '{table}' (to '{new_tables[0]}')"
            if len(gone_tables) == 1 and len(new_tables) == 1
            else f"drops table '{table}'"
        )
        changes.append((verb, table if _mapped(table) else None))
    for table in sorted(set(before) & set(after)):
        gone = sorted(before[table] - after[table])
        new = sorted(after[table] - before[table])
        for column in gone:
            verb = (
                f"renames column '{table}.{column}' (to '{table}.{new[0]}')"
                if len(gone) == 1 and len(new) == 1
                else f"drops column '{table}.{column}'"
            )
            changes.append((verb, f"{table}.{column}" if _mapped(table, column) else None))
    return changes


def destructive_steps(registry: Registry, connection: Connection) -> list[str]:
    """One warning for each table or column that a pending revision drops
    or renames, naming the revision, its branch and what to do instead.

    The pending revisions are applied one at a time inside a savepoint that
    is rolled back, and the schema is compared before and after each, so
    the database is left as it was.
    """
    config = alembic_config(registry, connection)
    graph = VersionGraph.read(config)
    applied = graph.applied(current_heads(connection))
    branch_of = {rev: label for label, revs in graph.branch_revisions.items() for rev in revs}
    warnings: list[str] = []
    savepoint = connection.begin_nested()
    try:
        before = _schema(connection)
        # The graph lists revisions oldest first, dependencies before the
        # revisions that need them.
        for rev in graph.revisions:
            if rev in applied:
                continue
            with alembic_errors():
                command.upgrade(config, rev)
            applied = graph.applied(current_heads(connection))
            after = _schema(connection)
            for change, mapped in _changes(before, after):
                still = (
                    f"this release's models still map '{mapped}', so its processes fail"
                    if mapped
                    else "processes of the release now running fail if they still use it"
                )
                warnings.append(
                    f"destructive step: revision {rev} of branch "
                    f"'{branch_of.get(rev, '?')}' {change}; {still} until they are "
                    "replaced. Deploy code that no longer uses it first, and drop it "
                    "in a later release (see docs/integrators/migrations.md, "
                    "expand and contract)."
                )
            before = after
    finally:
        savepoint.rollback()
    return warnings
