"""Migrations configured in code: the version graph, pending revisions,
``db check``, ``db revision`` and the ``pyramidion db`` commands.

Every test runs on a fresh SQLite file and, when
``PYRAMIDION_TEST_DATABASE_URL`` is set, on a fresh PostgreSQL schema too.
The add-ons are real distributions written by the ``distributions``
fixture: ``people`` (a table of persons, seeded by its install hook) and
``notes`` (which requires ``people`` and has a foreign key to its table).
"""

from __future__ import annotations

import os
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from pyramid.registry import Registry

from pyramidion import migrate
from pyramidion.app import get_database, make_app
from pyramidion.cli import main
from pyramidion.errors import CommandError
from tests.distributions import Distributions

#: The core's revisions, oldest first, and the line that applying them prints.
CORE_REVISIONS = ["901f3880011d", "5d2c8e41a7b0", "8b41f0c2d9e6"]
CORE_REVISION = CORE_REVISIONS[-1]
CORE_APPLIED = f"core: applied 3 migration(s) ({', '.join(CORE_REVISIONS)})"

# -- fixtures shared with test_lifecycle.py ---------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: a SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'app.sqlite'}"
        return
    base = os.environ.get("PYRAMIDION_TEST_DATABASE_URL")
    if not base:
        pytest.skip("PYRAMIDION_TEST_DATABASE_URL is not set")
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


AppFactory = Callable[..., Registry]


@pytest.fixture
def build_app(database_url: str) -> Iterator[AppFactory]:
    """Build apps on ``database_url``; their engines are closed afterwards."""
    registries: list[Registry] = []

    def build(addons: str, **settings: str) -> Registry:
        app = make_app(
            {"sqlalchemy.url": database_url, "pyramidion.addons": addons, **settings},
            environ={},
        )
        registries.append(app.registry)
        return app.registry

    yield build
    for registry in registries:
        get_database(registry).engine.dispose()


PEOPLE_MODELS = """
    from sqlalchemy import String
    from sqlalchemy.orm import Mapped, mapped_column

    from pyramidion.db import Base


    class Person(Base):
        __tablename__ = "{table}"

        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(50))
{extra}"""

PEOPLE_REVISION = '''
    """Create the persons table."""

    import sqlalchemy as sa
    from alembic import op

    revision = "aaaa00000001"
    down_revision = None
    branch_labels = ("people",)
    depends_on = None


    def upgrade():
        op.create_table(
            "{table}",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("name", sa.String(length=50), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_{table}")),
        )


    def downgrade():
        op.drop_table("{table}")
'''

PEOPLE_HOOKS = """
    from sqlalchemy import select

    from {pkg}.models import Person


    def install(context):
        context.dbsession.add(Person(name="admin"))


    def uninstall(context):
        names = context.dbsession.scalars(select(Person.name)).all()
        context.registry.uninstalled_people = list(names)
"""

NOTES_MODELS = """
    from sqlalchemy import ForeignKey, String
    from sqlalchemy.orm import Mapped, mapped_column

    from pyramidion.db import Base


    class Note(Base):
        __tablename__ = "{table}"

        id: Mapped[int] = mapped_column(primary_key=True)
        person_id: Mapped[int] = mapped_column(ForeignKey("{people}.id"))
        body: Mapped[str] = mapped_column(String(200))
"""

NOTES_REVISION = '''
    """Create the notes table."""

    import sqlalchemy as sa
    from alembic import op

    revision = "bbbb00000001"
    down_revision = None
    branch_labels = ("notes",)
    depends_on = "aaaa00000001"


    def upgrade():
        op.create_table(
            "{table}",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("person_id", sa.Integer(), nullable=False),
            sa.Column("body", sa.String(length=200), nullable=False),
            sa.ForeignKeyConstraint(
                ["person_id"], ["{people}.id"], name=op.f("fk_{table}_person_id_{people}")
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_{table}")),
        )


    def downgrade():
        op.drop_table("{table}")
'''


class Addons:
    """Writes the ``people`` and ``notes`` add-ons for one test."""

    def __init__(self, distributions: Distributions) -> None:
        self.dists = distributions
        self.people_table = distributions.table("people", "persons")
        self.notes_table = distributions.table("notes", "notes")

    def people(
        self,
        *,
        revision: bool = True,
        extra_column: str = "",
        install: str | None = "{pkg}.hooks:install",
    ) -> str:
        extra = f"        {extra_column}\n" if extra_column else ""
        files = {
            "models.py": PEOPLE_MODELS.format(table=self.people_table, extra=extra),
            "hooks.py": PEOPLE_HOOKS,
            "migrations/__init__.py": "",
        }
        if revision:
            files["migrations/aaaa00000001_persons.py"] = PEOPLE_REVISION.format(
                table=self.people_table
            )
        return self.dists.addon(
            "people",
            descriptor=f"""
                models="{{pkg}}.models",
                migrations="{{pkg}}:migrations",
                install={install!r},
                uninstall="{{pkg}}.hooks:uninstall",
            """,
            files=files,
        )

    def notes(self, *, revision: bool = True, migrations: bool = True) -> str:
        files = {
            "models.py": NOTES_MODELS.format(table=self.notes_table, people=self.people_table)
        }
        if migrations:
            files["migrations/__init__.py"] = ""
        if revision:
            files["migrations/bbbb00000001_notes.py"] = NOTES_REVISION.format(
                table=self.notes_table, people=self.people_table
            )
        return self.dists.addon(
            "notes",
            requires=("people",),
            descriptor='models="{pkg}.models",'
            + ('\nmigrations="{pkg}:migrations",' if migrations else ""),
            files=files,
        )


@pytest.fixture
def addons(distributions: Distributions) -> Addons:
    return Addons(distributions)


def tables(registry: Registry) -> set[str]:
    with get_database(registry).engine.connect() as connection:
        return set(sa.inspect(connection).get_table_names())


def upgraded(registry: Registry) -> None:
    from pyramidion.lifecycle import upgrade

    with get_database(registry).engine.begin() as connection:
        upgrade(registry, connection)


def write_ini(tmp_path: Path, database_url: str, addons: str) -> str:
    path = tmp_path / "app.ini"
    # A literal % in the URL would be read as interpolation by the ini parser.
    url = database_url.replace("%", "%%")
    path.write_text(
        textwrap.dedent(
            f"""
            [app:main]
            use = egg:pyramidion-core
            sqlalchemy.url = {url}
            pyramidion.addons = {addons}
            """
        )
    )
    return str(path)


# -- configuration -------------------------------------------------------------


def test_config_has_core_and_enabled_addon_locations(
    addons: Addons, build_app: AppFactory
) -> None:
    people = addons.people()
    addons.notes()
    registry = build_app("people")

    config = migrate.alembic_config(registry)

    assert config.get_main_option("script_location") == str(migrate.MIGRATIONS_DIR)
    locations = config.get_version_locations_list() or []
    assert [Path(p) for p in locations] == [
        migrate.MIGRATIONS_DIR / "versions",
        addons.dists.root / people / "migrations",
    ]


def test_pending_migrations_by_branch(addons: Addons, build_app: AppFactory) -> None:
    addons.people()
    addons.notes()
    registry = build_app("notes")

    with get_database(registry).engine.begin() as connection:
        before = migrate.pending_migrations(registry, connection)
    upgraded(registry)
    with get_database(registry).engine.begin() as connection:
        after = migrate.pending_migrations(registry, connection)
        current = migrate.current_revisions(registry, connection)

    assert before == {
        "pyramidion": CORE_REVISIONS,
        "people": ["aaaa00000001"],
        "notes": ["bbbb00000001"],
    }
    assert after == {}
    assert current == {
        "pyramidion": CORE_REVISION,
        "people": "aaaa00000001",
        "notes": "bbbb00000001",
    }


def test_migrations_do_not_run_at_start_up(addons: Addons, build_app: AppFactory) -> None:
    addons.people()

    registry = build_app("people")

    assert tables(registry) == set()


# -- db check --------------------------------------------------------------------


def test_check_is_clean_when_up_to_date(addons: Addons, build_app: AppFactory) -> None:
    addons.people()
    addons.notes()
    registry = build_app("notes")
    upgraded(registry)

    with get_database(registry).engine.begin() as connection:
        assert migrate.check(registry, connection) == []


def test_check_reports_a_column_without_migration(addons: Addons, build_app: AppFactory) -> None:
    addons.people(
        extra_column="email: Mapped[str | None] = mapped_column(String(100))", install=None
    )
    registry = build_app("people")
    upgraded(registry)

    with get_database(registry).engine.begin() as connection:
        problems = migrate.check(registry, connection, "app.ini")

    assert problems == [
        "models and migrations differ:\n"
        f"  - people: model has column '{addons.people_table}.email' but no "
        "migration adds it\n"
        "  Write a migration: pyramidion db revision --addon people -m "
        "'describe the change' app.ini"
    ]


def test_check_reports_pending_migrations_and_drift_behind_them(
    addons: Addons, build_app: AppFactory
) -> None:
    addons.people(
        extra_column="email: Mapped[str | None] = mapped_column(String(100))", install=None
    )
    registry = build_app("people")

    with get_database(registry).engine.begin() as connection:
        problems = migrate.check(registry, connection, "app.ini")
        # The comparison ran on migrations applied in a rolled-back savepoint.
        assert not sa.inspect(connection).get_table_names()

    assert problems[0] == (
        "the database is not up to date: branch 'pyramidion' has 3 pending "
        f"revision(s) ({', '.join(CORE_REVISIONS)}). Run: pyramidion db upgrade app.ini"
    )
    assert problems[1].startswith("the database is not up to date: branch 'people'")
    assert f"'{addons.people_table}.email' but no migration adds it" in problems[2]


def test_check_ignores_tables_of_addons_not_enabled(addons: Addons, build_app: AppFactory) -> None:
    addons.people()
    addons.notes()
    upgraded(build_app("notes"))

    # 'notes' is installed in the database but no longer enabled: its table
    # is not drift, and its applied revision can still be located.
    registry = build_app("people")
    with get_database(registry).engine.begin() as connection:
        assert migrate.check(registry, connection) == []


# -- db revision -----------------------------------------------------------------


def test_first_revision_starts_a_branch_depending_on_required_addons(
    addons: Addons, build_app: AppFactory
) -> None:
    addons.people()
    notes = addons.notes(revision=False)
    registry = build_app("notes")
    upgraded(registry)

    with get_database(registry).engine.begin() as connection:
        path = migrate.make_revision(registry, connection, "notes", "create notes")
    source = path.read_text()

    assert path.parent == addons.dists.root / notes / "migrations"
    # Formatted by ruff, the post-write hook: double quotes.
    assert 'branch_labels: str | Sequence[str] | None = ("notes",)' in source
    assert 'depends_on: str | Sequence[str] | None = "aaaa00000001"' in source
    assert f'op.create_table(\n        "{addons.notes_table}",' in source
    assert addons.people_table + "'" not in source.split(f"'{addons.notes_table}'", 1)[0]
    upgraded(registry)
    with get_database(registry).engine.begin() as connection:
        assert migrate.check(registry, connection) == []
        assert migrate.pending_migrations(registry, connection) == {}
    assert addons.notes_table in tables(registry)


def test_next_revision_continues_the_branch(addons: Addons, build_app: AppFactory) -> None:
    addons.people(
        extra_column="email: Mapped[str | None] = mapped_column(String(100))", install=None
    )
    registry = build_app("people")
    upgraded(registry)

    with get_database(registry).engine.begin() as connection:
        path = migrate.make_revision(registry, connection, "people", "add email")
    source = path.read_text()

    assert 'down_revision: str | Sequence[str] | None = "aaaa00000001"' in source
    assert "branch_labels: str | Sequence[str] | None = None" in source
    assert 'sa.Column("email", sa.String(length=100), nullable=True)' in source
    upgraded(registry)
    with get_database(registry).engine.begin() as connection:
        assert migrate.check(registry, connection) == []


def test_revision_refuses_an_addon_without_migrations(
    addons: Addons, build_app: AppFactory
) -> None:
    addons.people()
    addons.notes(revision=False, migrations=False)
    registry = build_app("notes")
    upgraded(registry)

    with (
        get_database(registry).engine.begin() as connection,
        pytest.raises(CommandError, match="add-on 'notes' declares no migrations directory"),
    ):
        migrate.make_revision(registry, connection, "notes", "create notes")


def test_revision_refuses_a_database_behind(addons: Addons, build_app: AppFactory) -> None:
    addons.people()
    registry = build_app("people")

    with (
        get_database(registry).engine.begin() as connection,
        pytest.raises(CommandError, match="the database is not up to date"),
    ):
        migrate.make_revision(registry, connection, "people", "anything")


# -- db downgrade ----------------------------------------------------------------


def test_downgrade_refuses_to_revert_what_another_branch_depends_on(
    addons: Addons, build_app: AppFactory
) -> None:
    addons.people()
    addons.notes()
    registry = build_app("notes")
    upgraded(registry)

    with (
        get_database(registry).engine.begin() as connection,
        pytest.raises(CommandError, match=r"would also revert .*\(bbbb00000001\)"),
    ):
        migrate.downgrade(registry, connection, "people")
    assert addons.notes_table in tables(registry)


def test_downgrade_one_step(addons: Addons, build_app: AppFactory) -> None:
    addons.people()
    addons.notes()
    registry = build_app("notes")
    upgraded(registry)

    with get_database(registry).engine.begin() as connection:
        reverted = migrate.downgrade(registry, connection, "notes")
        pending = migrate.pending_migrations(registry, connection)

    assert reverted == ["bbbb00000001"]
    assert pending == {"notes": ["bbbb00000001"]}
    assert addons.notes_table not in tables(registry)


# -- the pyramidion db commands --------------------------------------------------


def test_db_commands(
    addons: Addons,
    build_app: AppFactory,
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    addons.people()
    addons.notes()
    ini = write_ini(tmp_path, database_url, "notes")

    assert main(["db", "check", ini]) == 1
    out = capsys.readouterr().out
    assert out.startswith("3 problem(s):\n- the database is not up to date: branch 'pyramidion'")
    assert f"Run: pyramidion db upgrade {ini}" in out

    assert main(["db", "upgrade", ini]) == 0
    out = capsys.readouterr().out
    assert CORE_APPLIED in out
    assert "installed people 1.0 (pyramidion-test-people)" in out
    assert "installed notes 1.0 (pyramidion-test-notes)" in out

    assert main(["db", "current", ini]) == 0
    assert capsys.readouterr().out == (
        f"pyramidion: {CORE_REVISION} (head)\n"
        "people: aaaa00000001 (head)\n"
        "notes: bbbb00000001 (head)\n"
    )

    assert main(["db", "history", ini]) == 0
    out = capsys.readouterr().out
    assert (
        "notes:\n  bbbb00000001  Create the notes table. "
        "[depends on aaaa00000001] (current, head)\n"
    ) in out

    assert main(["db", "check", ini]) == 0
    assert capsys.readouterr().out == "the database is up to date and matches the models\n"

    assert main(["db", "downgrade", "--addon", "notes", ini]) == 0
    assert capsys.readouterr().out.startswith("notes: reverted 1 migration(s) (bbbb00000001)\n")
    assert main(["db", "current", ini]) == 0
    assert "notes: nothing applied; 1 pending (bbbb00000001)" in capsys.readouterr().out


def test_db_revision_command(
    addons: Addons,
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    addons.people()
    notes = addons.notes(revision=False)
    ini = write_ini(tmp_path, database_url, "notes")
    assert main(["db", "upgrade", ini]) == 0
    capsys.readouterr()

    code = main(["db", "revision", "--addon", "notes", "-m", "start", ini, "--empty"])

    written = list((addons.dists.root / notes / "migrations").glob("*_start.py"))
    assert code == 0
    assert len(written) == 1
    assert capsys.readouterr().out.startswith(f"wrote {written[0]}\n")
    source = written[0].read_text()
    assert "def upgrade() -> None:\n    pass" in source
    assert '("notes",)' in source


def test_db_command_errors_are_sentences(
    addons: Addons,
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    addons.people()
    ini = write_ini(tmp_path, database_url, "people")

    assert main(["db", "downgrade", "--addon", "people", ini, "base"]) == 2
    assert capsys.readouterr().err == (
        "pyramidion: error: downgrading 'people' to base would drop all its "
        "tables and leave it recorded as installed. To remove an add-on, run: "
        f"pyramidion addons uninstall people {ini}\n"
    )
    assert main(["db", "revision", "--addon", "blog", "-m", "x", ini]) == 2
    assert "add-on 'blog' is not enabled" in capsys.readouterr().err


def test_unreachable_database_is_one_sentence(
    addons: Addons, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    addons.people()
    url = "postgresql+psycopg://someone:s3cret-pw@127.0.0.1:1/nowhere"
    ini = write_ini(tmp_path, url, "people")

    assert main(["db", "upgrade", ini]) == 2

    err = capsys.readouterr().err
    assert err.startswith(
        "pyramidion: error: cannot use the database "
        "postgresql+psycopg://someone:***@127.0.0.1:1/nowhere: OperationalError: "
    )
    assert "s3cret-pw" not in err
    assert "Traceback" not in err
