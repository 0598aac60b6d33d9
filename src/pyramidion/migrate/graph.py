"""Reading the version graph: which revisions exist, and which are applied.

The revisions are read from Alembic's script directory in one walk into a
:class:`VersionGraph`; every question (pending, current, history, what a
downgrade would take along) is answered from it, never by walking again.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import delete, insert, inspect, select

from ..models import AppliedRevision
from .config import VERSION_TABLE, alembic_config, branches
from .errors import alembic_errors

if TYPE_CHECKING:
    from alembic.config import Config
    from pyramid.registry import Registry
    from sqlalchemy.engine import Connection

__all__ = [
    "BranchRevision",
    "VersionGraph",
    "cached_pending_migrations",
    "cached_version_graph",
    "current_heads",
    "current_revisions",
    "forget_cached_graph",
    "history",
    "pending_migrations",
    "record_applied",
    "recorded_revisions",
    "version_graph",
]


@dataclass(frozen=True)
class BranchRevision:
    """One revision of a branch, for ``pyramidion db history``."""

    revision: str
    message: str
    down_revision: tuple[str, ...]
    depends_on: tuple[str, ...]
    path: str


@dataclass(frozen=True)
class VersionGraph:
    """Every revision the code provides, from one walk of the script directory."""

    #: Each revision by id.
    revisions: Mapping[str, BranchRevision]
    #: The revision ids of each branch label, oldest first.
    branch_revisions: Mapping[str, tuple[str, ...]]
    #: Each revision mapped to the revisions it needs (down revisions and
    #: ``depends_on``, branch labels resolved).
    needs: Mapping[str, tuple[str, ...]]

    @classmethod
    def read(cls, config: Config) -> VersionGraph:
        """Walk the script directory of ``config`` once."""
        revisions: dict[str, BranchRevision] = {}
        by_branch: dict[str, list[str]] = {}
        needs: dict[str, tuple[str, ...]] = {}
        with alembic_errors():
            script = ScriptDirectory.from_config(config)
            # walk_revisions() goes from the heads down: reversed, oldest first.
            for rev in reversed(list(script.walk_revisions())):
                depends_on = _tuple(rev.dependencies)
                down = _tuple(rev.down_revision)
                required = list(down)
                for dep in depends_on:
                    required.extend(r.revision for r in script.get_revisions(dep) if r is not None)
                needs[rev.revision] = tuple(required)
                revisions[rev.revision] = BranchRevision(
                    revision=rev.revision,
                    message=(rev.doc or "").strip().splitlines()[0] if rev.doc else "",
                    down_revision=down,
                    depends_on=depends_on,
                    path=rev.path,
                )
                for label in rev.branch_labels:
                    by_branch.setdefault(label, []).append(rev.revision)
        return cls(
            revisions=revisions,
            branch_revisions={label: tuple(ids) for label, ids in by_branch.items()},
            needs=needs,
        )

    def of_branch(self, branch: str) -> tuple[str, ...]:
        """The revision ids of ``branch``, oldest first (empty if it has none)."""
        return self.branch_revisions.get(branch, ())

    def applied(self, heads: Iterable[str]) -> set[str]:
        """Every revision applied when ``heads`` are: the heads and all their
        ancestors, dependencies included. Heads this graph does not know
        (add-ons that are neither enabled nor installed) are skipped."""
        applied: set[str] = set()
        todo = [h for h in heads if h in self.needs]
        while todo:
            rev = todo.pop()
            if rev not in applied:
                applied.add(rev)
                todo.extend(self.needs[rev])
        return applied

    def pending(
        self,
        heads: Iterable[str],
        branches: Iterable[str],
        recorded: Collection[str] = (),
    ) -> dict[str, list[str]]:
        """The revisions of ``branches`` not applied with ``heads``, oldest
        first; up-to-date branches are left out.

        ``recorded`` are revisions known to be applied whatever the heads
        say (see :func:`recorded_revisions`): with them, a database that a
        newer release migrated past this graph (heads this graph does not
        know, merges, ``depends_on`` between branches) leaves nothing of
        this graph pending that was applied.
        """
        applied = self.applied(heads) | set(recorded)
        pending = {}
        for branch in branches:
            missing = [r for r in self.of_branch(branch) if r not in applied]
            if missing:
                pending[branch] = missing
        return pending

    def current(self, heads: Iterable[str], branches: Iterable[str]) -> dict[str, str | None]:
        """The newest applied revision of each of ``branches`` (None: none)."""
        applied = self.applied(heads)
        current: dict[str, str | None] = {}
        for branch in branches:
            done = [r for r in self.of_branch(branch) if r in applied]
            current[branch] = done[-1] if done else None
        return current

    def needs_any(self, rev: str, targets: Collection[str]) -> bool:
        """Whether ``rev`` needs any of ``targets``, directly or not."""
        seen: set[str] = set()
        todo = list(self.needs.get(rev, ()))
        while todo:
            current = todo.pop()
            if current in targets:
                return True
            if current not in seen:
                seen.add(current)
                todo.extend(self.needs.get(current, ()))
        return False


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


def version_graph(registry: Registry, connection: Connection | None = None) -> VersionGraph:
    """The version graph of this application, read now.

    With ``connection`` it includes the revisions of add-ons recorded as
    installed in that database but not enabled (see :func:`alembic_config`).
    """
    return VersionGraph.read(alembic_config(registry, connection))


_CACHE_ATTRIBUTE = "pyramidion_version_graph"


def cached_version_graph(registry: Registry) -> VersionGraph:
    """The version graph of the enabled add-ons, read once per registry."""
    graph: VersionGraph | None = registry.__dict__.get(_CACHE_ATTRIBUTE)
    if graph is None:
        graph = version_graph(registry)
        registry.__dict__[_CACHE_ATTRIBUTE] = graph
    return graph


def forget_cached_graph(registry: Registry) -> None:
    """Drop the cached version graph (after a revision file was written)."""
    registry.__dict__.pop(_CACHE_ATTRIBUTE, None)


def pending_migrations(registry: Registry, connection: Connection) -> dict[str, list[str]]:
    """Revisions not yet applied, oldest first, by branch (the core's and
    each enabled add-on's). Branches that are up to date are left out."""
    graph = version_graph(registry, connection)
    return graph.pending(current_heads(connection), branches(registry))


def cached_pending_migrations(registry: Registry, connection: Connection) -> dict[str, list[str]]:
    """The revisions this process's code knows and has not seen applied, by
    branch, from a version graph cached per registry.

    This is what readiness reports. Revisions in the database that the code
    does not know (a newer release migrated it) are not an error and do not
    hide the known revisions they descend from: those are read from the
    record of applied revisions, besides the version table.
    """
    graph = cached_version_graph(registry)
    return graph.pending(
        current_heads(connection), branches(registry), recorded_revisions(connection)
    )


def recorded_revisions(connection: Connection) -> set[str]:
    """Every revision recorded as applied in ``pyramidion_applied_revisions``
    (empty when the table does not exist yet)."""
    if not inspect(connection).has_table(AppliedRevision.__tablename__):
        return set()
    return set(connection.execute(select(AppliedRevision.revision)).scalars())


def record_applied(graph: VersionGraph, connection: Connection) -> None:
    """Bring the record of applied revisions in step with the version table.

    Called after every upgrade and downgrade, by the code that applied them
    and so knows every head. Revisions that ``graph`` does not know are
    left as they are. Does nothing before the core's revision that creates
    the table is applied.
    """
    if not inspect(connection).has_table(AppliedRevision.__tablename__):
        return
    applied = graph.applied(current_heads(connection))
    recorded = recorded_revisions(connection)
    stale = {r for r in recorded - applied if r in graph.revisions}
    if stale:
        connection.execute(delete(AppliedRevision).where(AppliedRevision.revision.in_(stale)))
    new = applied - recorded
    if new:
        connection.execute(insert(AppliedRevision), [{"revision": r} for r in sorted(new)])


def current_revisions(registry: Registry, connection: Connection) -> dict[str, str | None]:
    """The newest applied revision of each branch (None: none applied)."""
    graph = version_graph(registry, connection)
    return graph.current(current_heads(connection), branches(registry))


def history(registry: Registry) -> dict[str, list[BranchRevision]]:
    """The revisions of each branch, oldest first."""
    graph = version_graph(registry)
    return {
        branch: [graph.revisions[r] for r in graph.of_branch(branch)]
        for branch in branches(registry)
    }
