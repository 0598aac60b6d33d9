"""Installing, upgrading and uninstalling add-ons, readiness, and the
``pyramidion addons install|uninstall`` commands.

Uses the ``people`` and ``notes`` add-ons of :mod:`tests.test_migrations`
(``notes`` requires ``people``), on SQLite and, when
``PYRAMIDION_TEST_DATABASE_URL`` is set, on PostgreSQL.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from pyramid.registry import Registry

from pyramidion import lifecycle, migrate
from pyramidion.app import get_database, make_app
from pyramidion.cli import main
from pyramidion.errors import AddonImportError, CommandError
from tests.test_migrations import (
    CORE_APPLIED,
    Addons,
    AppFactory,
    addons,
    build_app,
    database_url,
    tables,
    upgraded,
    write_ini,
)

__all__ = ["addons", "build_app", "database_url"]


def people_names(registry: Registry, table: str) -> list[str]:
    with get_database(registry).engine.connect() as connection:
        rows = connection.execute(sa.text(f"SELECT name FROM {table} ORDER BY id"))
        return [row[0] for row in rows]


def recorded(registry: Registry) -> dict[str, str]:
    with get_database(registry).engine.connect() as connection:
        return lifecycle.installed_addons(connection)


# -- upgrade and install -----------------------------------------------------------


def test_upgrade_creates_tables_runs_install_hooks_and_records(
    addons: Addons, build_app: AppFactory
) -> None:
    addons.people()
    addons.notes()
    registry = build_app("notes")

    with get_database(registry).engine.begin() as connection:
        lines = lifecycle.upgrade(registry, connection)

    assert lines == [
        CORE_APPLIED,
        "people: applied 1 migration(s) (aaaa00000001)",
        "installed people 1.0 (pyramidion-test-people)",
        "notes: applied 1 migration(s) (bbbb00000001)",
        "installed notes 1.0 (pyramidion-test-notes)",
    ]
    assert {addons.people_table, addons.notes_table, "pyramidion_addons"} <= tables(registry)
    assert recorded(registry) == {"notes": "1.0", "people": "1.0"}
    assert people_names(registry, addons.people_table) == ["admin"]


def test_second_upgrade_does_nothing_and_updates_versions(
    addons: Addons, build_app: AppFactory
) -> None:
    addons.people()
    registry = build_app("people")
    upgraded(registry)
    with get_database(registry).engine.begin() as connection:
        connection.execute(sa.text("UPDATE pyramidion_addons SET version = '0.9'"))

    with get_database(registry).engine.begin() as connection:
        lines = lifecycle.upgrade(registry, connection)
    with get_database(registry).engine.begin() as connection:
        again = lifecycle.upgrade(registry, connection)

    assert lines == ["people: recorded version 0.9 -> 1.0"]
    assert again == ["the database is up to date; nothing to do"]
    # The install hook ran once only.
    assert people_names(registry, addons.people_table) == ["admin"]


def test_failing_install_hook_leaves_nothing(addons: Addons, build_app: AppFactory) -> None:
    addons.people(install="{pkg}.hooks:no_such_hook")
    registry = build_app("people")

    with (
        pytest.raises(AddonImportError, match="the install hook of add-on 'people'"),
        get_database(registry).engine.begin() as connection,
    ):
        lifecycle.upgrade(registry, connection)

    assert tables(registry) == set()


def test_install_hook_that_raises_rolls_back_migrations(
    addons: Addons, build_app: AppFactory
) -> None:
    pkg = addons.people(install="{pkg}.boom:install")
    (addons.dists.root / pkg / "boom.py").write_text(
        "def install(context):\n    raise RuntimeError('seed data missing')\n"
    )
    registry = build_app("people")

    with (
        pytest.raises(RuntimeError, match="seed data missing"),
        get_database(registry).engine.begin() as connection,
    ):
        lifecycle.upgrade(registry, connection)

    assert tables(registry) == set()
    assert recorded(registry) == {}


def test_install_addon_installs_its_requirements(addons: Addons, build_app: AppFactory) -> None:
    addons.people()
    addons.notes()
    registry = build_app("notes")

    with get_database(registry).engine.begin() as connection:
        lines = lifecycle.install_addon(registry, connection, "notes")

    assert lines == [
        CORE_APPLIED,
        "people: applied 1 migration(s) (aaaa00000001) (required by notes)",
        "installed people 1.0 (pyramidion-test-people) (required by notes)",
        "notes: applied 1 migration(s) (bbbb00000001)",
        "installed notes 1.0 (pyramidion-test-notes)",
    ]
    assert recorded(registry) == {"notes": "1.0", "people": "1.0"}


def test_install_addon_not_enabled_says_how_to_enable_it(
    addons: Addons, build_app: AppFactory
) -> None:
    addons.people()
    addons.notes()
    registry = build_app("people")

    with (
        get_database(registry).engine.begin() as connection,
        pytest.raises(CommandError) as info,
    ):
        lifecycle.install_addon(registry, connection, "notes")

    assert info.value.message == (
        "add-on 'notes' is not enabled in CONFIG. It is installed (distribution "
        "pyramidion-test-notes) but not enabled. Add 'notes' to pyramidion.addons "
        "in the ini file, then run: pyramidion addons install notes CONFIG"
    )


def test_installed_addons_is_empty_on_a_new_database(build_app: AppFactory) -> None:
    registry = build_app("")

    assert recorded(registry) == {}


# -- readiness -----------------------------------------------------------------------


def test_readiness_names_the_commands_that_fix_it(addons: Addons, build_app: AppFactory) -> None:
    addons.people()
    registry = build_app("people")

    before = lifecycle.readiness_problems(registry)
    upgraded(registry)
    after = lifecycle.readiness_problems(registry)

    assert before == [
        "branch 'pyramidion' has 3 pending migration(s); run: pyramidion db upgrade CONFIG",
        "branch 'people' has 1 pending migration(s); run: pyramidion db upgrade CONFIG",
        "add-on 'people' is enabled but not installed in the database; run: "
        "pyramidion addons install people CONFIG",
    ]
    assert after == []


def test_readiness_reads_the_database_each_time(addons: Addons, build_app: AppFactory) -> None:
    addons.people()
    registry = build_app("people")
    upgraded(registry)
    assert lifecycle.readiness_problems(registry) == []

    with get_database(registry).engine.begin() as connection:
        migrate.downgrade(registry, connection, "people")
        connection.execute(sa.text("DELETE FROM pyramidion_addons"))

    assert lifecycle.readiness_problems(registry) == [
        "branch 'people' has 1 pending migration(s); run: pyramidion db upgrade CONFIG",
        "add-on 'people' is enabled but not installed in the database; run: "
        "pyramidion addons install people CONFIG",
    ]


def test_database_state_tells_pending_branches_and_addons_to_install(
    addons: Addons, build_app: AppFactory
) -> None:
    addons.people()
    registry = build_app("people")
    engine = get_database(registry).engine

    with engine.connect() as connection:
        before = lifecycle.database_state(registry, connection)
    upgraded(registry)
    with engine.connect() as connection:
        after = lifecycle.database_state(registry, connection)

    assert sorted(before.pending) == ["people", "pyramidion"]
    assert len(before.pending["people"]) == 1
    assert before.not_installed == ["people"]
    assert after == lifecycle.DatabaseState(pending={}, not_installed=[], installed_not_enabled=[])


def test_readiness_reports_an_unreachable_database_without_its_password() -> None:
    app = make_app(
        {"sqlalchemy.url": "postgresql+psycopg://someone:s3cret-pw@127.0.0.1:1/nowhere"},
        environ={},
    )

    problems = lifecycle.readiness_problems(app.registry)

    assert len(problems) == 1
    assert problems[0].startswith(
        "the database postgresql+psycopg://someone:***@127.0.0.1:1/nowhere is "
        "unreachable: OperationalError: "
    )
    assert "s3cret-pw" not in problems[0]
    get_database(app.registry).engine.dispose()


# -- uninstall -----------------------------------------------------------------------


def test_uninstall_refuses_while_a_dependent_is_enabled(
    addons: Addons, build_app: AppFactory
) -> None:
    addons.people()
    addons.notes()
    registry = build_app("notes")
    upgraded(registry)

    with get_database(registry).engine.begin() as connection:
        plan = lifecycle.uninstall_plan(registry, connection, "people")
        with pytest.raises(CommandError) as info:
            lifecycle.uninstall_addon(registry, connection, "people", None)

    assert plan == lifecycle.UninstallPlan(
        name="people",
        installed_version="1.0",
        tables=(lifecycle.TableImpact(addons.people_table, 1),),
        dependents=("notes",),
    )
    assert info.value.message.startswith(
        "cannot uninstall 'people': the enabled add-on(s) notes require it."
    )
    assert addons.people_table in tables(registry)


def test_uninstall_exports_rows_runs_hook_and_drops_tables(
    addons: Addons, build_app: AppFactory, tmp_path: Path
) -> None:
    addons.people()
    addons.notes()
    upgraded(build_app("notes"))
    registry = build_app("people")
    with get_database(registry).engine.begin() as connection:
        connection.execute(sa.text(f"INSERT INTO {addons.people_table} (name) VALUES ('zoë')"))
    # Only add-ons nothing enabled depends on can go: enable 'people' alone
    # after uninstalling 'notes'.
    notes_registry = build_app("notes")
    with get_database(notes_registry).engine.begin() as connection:
        lifecycle.uninstall_addon(notes_registry, connection, "notes", None)
    export = tmp_path / "export"

    with get_database(registry).engine.begin() as connection:
        lines = lifecycle.uninstall_addon(registry, connection, "people", export)

    exported = export / f"{addons.people_table}.jsonl"
    assert lines == [
        f"exported 2 row(s) of {addons.people_table} to {exported}",
        "people: reverted 1 migration(s) (aaaa00000001)",
        f"dropped table {addons.people_table} (2 row(s))",
        "uninstalled people; now remove 'people' from pyramidion.addons in CONFIG",
    ]
    rows = [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()]
    assert rows == [{"id": 1, "name": "admin"}, {"id": 2, "name": "zoë"}]
    assert registry.uninstalled_people == ["admin", "zoë"]
    assert tables(registry) & {addons.people_table, addons.notes_table} == set()
    assert recorded(registry) == {}


def test_uninstall_of_an_addon_not_installed(addons: Addons, build_app: AppFactory) -> None:
    addons.people()
    registry = build_app("people")

    with (
        get_database(registry).engine.begin() as connection,
        pytest.raises(CommandError, match="'people' is not installed in this database"),
    ):
        lifecycle.uninstall_addon(registry, connection, "people", None)


# -- the pyramidion addons commands ----------------------------------------------------


def test_addons_install_command(
    addons: Addons,
    build_app: AppFactory,
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    addons.people()
    addons.notes()
    ini = write_ini(tmp_path, database_url, "notes")

    assert main(["addons", "install", "people", ini]) == 0
    assert "installed people 1.0 (pyramidion-test-people)" in capsys.readouterr().out
    assert main(["addons", "install", "people", ini]) == 0
    assert capsys.readouterr().out == "people 1.0 is already installed and up to date\n"
    assert main(["addons", "install", "blog", ini]) == 2
    assert capsys.readouterr().err.startswith(
        f"pyramidion: error: add-on 'blog' is not enabled in {ini}. No installed "
        "distribution provides it either. Add 'blog' to pyramidion.addons"
    )


def test_addons_uninstall_command(
    addons: Addons,
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    addons.people()
    addons.notes()
    ini = write_ini(tmp_path, database_url, "notes")
    assert main(["db", "upgrade", ini]) == 0
    capsys.readouterr()

    assert main(["addons", "uninstall", "people", ini, "--yes"]) == 2
    captured = capsys.readouterr()
    assert f"    {addons.people_table}: 1 row(s)" in captured.out
    assert "these enabled add-ons require it: notes" in captured.out
    assert captured.err.startswith("pyramidion: error: cannot uninstall 'people' while notes")

    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["addons", "uninstall", "notes", ini]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith("Uninstalling notes 1.0 from the database will:\n")
    assert captured.err == "Not uninstalled; nothing was changed.\n"

    monkeypatch.setattr("sys.stdin", io.StringIO("notes\n"))
    assert main(["addons", "uninstall", "notes", ini, "--export", str(tmp_path / "x")]) == 0
    out = capsys.readouterr().out
    assert f"dropped table {addons.notes_table} (0 row(s))" in out
    assert f"uninstalled notes; now remove 'notes' from pyramidion.addons in {ini}" in out
    assert (tmp_path / "x" / f"{addons.notes_table}.jsonl").read_text() == ""
