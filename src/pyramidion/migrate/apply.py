"""Changing the database: upgrading a branch, downgrading one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from alembic import command

from ..errors import CommandError
from .config import CORE_BRANCH, alembic_config, enabled_addon
from .errors import alembic_errors
from .graph import VersionGraph, current_heads, pending_migrations, record_applied

if TYPE_CHECKING:
    from pyramid.registry import Registry
    from sqlalchemy.engine import Connection

__all__ = ["downgrade", "upgrade_branch"]


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
        record_applied(VersionGraph.read(config), connection)
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
        enabled_addon(registry, branch)
    config = alembic_config(registry, connection)
    graph = VersionGraph.read(config)
    revisions = list(graph.of_branch(branch))
    if not revisions:
        raise CommandError(
            f"branch '{branch}' has no revisions, so there is nothing to downgrade."
        )
    applied_before = graph.applied(current_heads(connection))
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
        rev for rev in applied_before - set(revisions) if graph.needs_any(rev, to_revert)
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
    record_applied(graph, connection)
    applied_after = graph.applied(current_heads(connection))
    return [r for r in reversed(revisions) if r in applied_before - applied_after]
