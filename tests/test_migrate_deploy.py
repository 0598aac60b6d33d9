"""Rolling deploys: a process of release N on a database migrated for N+1.

Release N is an app built before release N+1's revision files are written
into the add-ons' migration directories; its version graph is read once
(as a running process reads its own code), so it does not see them. Release
N+1 is built after and applies them with ``pyramidion db upgrade``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import sqlalchemy as sa
from pyramid.registry import Registry

from pyramidion import lifecycle, migrate
from pyramidion.app import get_database
from tests.test_migrations import (
    Addons,
    AppFactory,
    addons,
    build_app,
    database_url,
    upgraded,
)

__all__ = ["addons", "build_app", "database_url"]


def revision(
    directory: Path,
    rev: str,
    *,
    down: str | tuple[str, ...] | None,
    depends_on: str | None = None,
    upgrade: str = "pass",
    downgrade: str = "pass",
) -> None:
    """Write one revision file into an add-on's migrations directory."""
    source = f'''
        """Revision {rev}."""

        import sqlalchemy as sa
        from alembic import op

        revision = {rev!r}
        down_revision = {down!r}
        branch_labels = None
        depends_on = {depends_on!r}


        def upgrade():
            {upgrade}


        def downgrade():
            {downgrade}
    '''
    (directory / f"{rev}_step.py").write_text(textwrap.dedent(source))


def release_n(registry: Registry) -> list[str]:
    """Readiness of release N, its version graph read now, before N+1 exists."""
    migrate.cached_version_graph(registry)
    return lifecycle.readiness_problems(registry)


def heads(registry: Registry) -> set[str]:
    with get_database(registry).engine.connect() as connection:
        return set(migrate.current_heads(connection))


def unknown_heads(old: Registry, new: Registry) -> set[str]:
    return heads(new) - set(migrate.cached_version_graph(old).revisions)


def test_a_newer_revision_of_a_branch_is_not_pending(
    addons: Addons, build_app: AppFactory
) -> None:
    people = addons.people()
    old = build_app("people")
    upgraded(old)
    assert release_n(old) == []
    directory = addons.dists.root / people / "migrations"
    revision(
        directory,
        "aaaa00000002",
        down="aaaa00000001",
        upgrade=f"op.add_column({addons.people_table!r}, sa.Column('nick', sa.String(20)))",
        downgrade=f"op.drop_column({addons.people_table!r}, 'nick')",
    )

    new = build_app("people")
    upgraded(new)

    assert unknown_heads(old, new) == {"aaaa00000002"}
    assert lifecycle.readiness_problems(old) == []
    assert lifecycle.readiness_problems(new) == []


def test_a_merge_of_two_revisions_is_not_pending(addons: Addons, build_app: AppFactory) -> None:
    people = addons.people()
    old = build_app("people")
    upgraded(old)
    assert release_n(old) == []
    directory = addons.dists.root / people / "migrations"
    revision(directory, "aaaa00000002", down="aaaa00000001")
    revision(directory, "aaaa00000003", down="aaaa00000001")
    revision(directory, "aaaa00000004", down=("aaaa00000002", "aaaa00000003"))

    new = build_app("people")
    upgraded(new)

    assert unknown_heads(old, new) == {"aaaa00000004"}
    assert lifecycle.readiness_problems(old) == []


def test_depends_on_between_branches_is_not_pending(addons: Addons, build_app: AppFactory) -> None:
    people = addons.people()
    notes = addons.notes()
    old = build_app("notes")
    upgraded(old)
    assert release_n(old) == []
    revision(addons.dists.root / people / "migrations", "aaaa00000002", down="aaaa00000001")
    revision(
        addons.dists.root / notes / "migrations",
        "bbbb00000002",
        down="bbbb00000001",
        depends_on="aaaa00000002",
    )

    new = build_app("notes")
    upgraded(new)

    # Alembic keeps only the newest heads: the people branch's head is
    # implied by the notes revision that depends on it.
    assert unknown_heads(old, new) == {"bbbb00000002"}
    assert lifecycle.readiness_problems(old) == []


def test_a_known_revision_that_was_never_applied_is_still_pending(
    addons: Addons, build_app: AppFactory
) -> None:
    people = addons.people()
    addons.notes()
    old = build_app("notes")
    assert len(release_n(old)) == 5
    directory = addons.dists.root / people / "migrations"
    revision(directory, "aaaa00000002", down="aaaa00000001")

    # Another release, without notes, migrates the database past old's graph.
    other = build_app("people")
    upgraded(other)

    assert unknown_heads(old, other) == {"aaaa00000002"}
    assert lifecycle.readiness_problems(old) == [
        "branch 'notes' has 1 pending migration(s); run: pyramidion db upgrade CONFIG",
        "add-on 'notes' is enabled but not installed in the database; run: "
        "pyramidion addons install notes CONFIG",
    ]


def test_the_record_follows_a_downgrade(addons: Addons, build_app: AppFactory) -> None:
    addons.people()
    registry = build_app("people")
    upgraded(registry)
    with get_database(registry).engine.begin() as connection:
        assert "aaaa00000001" in migrate.recorded_revisions(connection)
        migrate.downgrade(registry, connection, "people")
        recorded = migrate.recorded_revisions(connection)

    assert "aaaa00000001" not in recorded
    assert lifecycle.readiness_problems(registry)[0] == (
        "branch 'people' has 1 pending migration(s); run: pyramidion db upgrade CONFIG"
    )


def test_a_database_without_the_record_falls_back_to_the_heads(
    addons: Addons, build_app: AppFactory
) -> None:
    addons.people()
    registry = build_app("people")
    upgraded(registry)
    with get_database(registry).engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE pyramidion_applied_revisions")

    assert lifecycle.readiness_problems(registry) == []


# -- pyramidion db check warns about destructive steps ---------------------------


def test_check_warns_about_dropping_and_renaming_what_is_mapped(
    addons: Addons, build_app: AppFactory
) -> None:
    people = addons.people(extra_column="nick: Mapped[str | None] = mapped_column(String(20))")
    directory = addons.dists.root / people / "migrations"
    table = addons.people_table
    revision(
        directory,
        "aaaa00000002",
        down="aaaa00000001",
        upgrade=f"op.add_column({table!r}, sa.Column('nick', sa.String(20)))\n"
        f"            op.add_column({table!r}, sa.Column('old', sa.String(20)))",
    )
    registry = build_app("people")
    upgraded(registry)
    revision(
        directory,
        "aaaa00000003",
        down="aaaa00000002",
        upgrade=f"with op.batch_alter_table({table!r}) as batch:\n"
        "                batch.drop_column('nick')",
    )
    revision(
        directory,
        "aaaa00000004",
        down="aaaa00000003",
        upgrade=f"with op.batch_alter_table({table!r}) as batch:\n"
        "                batch.alter_column('old', new_column_name='older')",
    )
    migrate.forget_cached_graph(registry)

    with get_database(registry).engine.begin() as connection:
        problems = migrate.check(registry, connection, "app.ini")
        columns = {c["name"] for c in sa.inspect(connection).get_columns(table)}

    assert columns == {"id", "name", "nick", "old"}
    destructive = [p for p in problems if p.startswith("destructive step")]
    assert destructive == [
        f"destructive step: revision aaaa00000003 of branch 'people' drops column "
        f"'{table}.nick'; this release's models still map '{table}.nick', so its "
        "processes fail until they are replaced. Deploy code that no longer uses it "
        "first, and drop it in a later release (see docs/integrators/migrations.md, "
        "expand and contract).",
        f"destructive step: revision aaaa00000004 of branch 'people' renames column "
        f"'{table}.old' (to '{table}.older'); processes of the release now running "
        "fail if they still use it until they are replaced. Deploy code that no longer "
        "uses it first, and drop it in a later release (see "
        "docs/integrators/migrations.md, expand and contract).",
    ]


def test_check_does_not_warn_about_additive_steps(addons: Addons, build_app: AppFactory) -> None:
    people = addons.people()
    registry = build_app("people")
    upgraded(registry)
    revision(
        addons.dists.root / people / "migrations",
        "aaaa00000002",
        down="aaaa00000001",
        upgrade=f"op.create_table('{addons.people_table}_x', sa.Column('id', sa.Integer))",
    )

    with get_database(registry).engine.begin() as connection:
        assert migrate.destructive_steps(registry, connection) == []
