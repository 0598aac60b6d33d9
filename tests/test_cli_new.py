"""``pyramidion new addon|app``: refused names, the files written, and the
acceptance test of the issue: a generated add-on, installed with pip and
enabled in a generated application's ini, migrates, passes ``db check``,
passes its own tests and is clean under ruff and ``mypy --strict``.

The generated add-on is installed with ``pip install -e --target`` into a
temporary directory, never into the test environment, so later tests do
not see it; the subprocesses find it through a ``sitecustomize`` module
that adds that directory as a site directory (which is what processes the
``.pth`` file of an editable install).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from pyramidion.cli import main
from pyramidion.cli.new import generate_addon, generate_app

BIN = Path(sys.executable).parent
CHECKOUT = Path(__file__).resolve().parent.parent

ADDON_FILES = {
    ".gitignore",
    "README.md",
    "pyproject.toml",
    "pyramidion_herbarium/__init__.py",
    "pyramidion_herbarium/admin.py",
    "pyramidion_herbarium/api.py",
    "pyramidion_herbarium/migrations/__init__.py",
    "pyramidion_herbarium/migrations/REVISION_create_herbarium_items.py",
    "pyramidion_herbarium/models.py",
    "pyramidion_herbarium/py.typed",
    "pyramidion_herbarium/resources.py",
    "pyramidion_herbarium/routes.py",
    "pyramidion_herbarium/schemas.py",
    "pyramidion_herbarium/settings.py",
    "pyramidion_herbarium/templates/items.pt",
    "pyramidion_herbarium/views.py",
    "tests/conftest.py",
    "tests/test_admin.py",
    "tests/test_api.py",
    "tests/test_views.py",
}

APP_FILES = {".gitignore", "README.md", "development.ini", "production.ini", "requirements.txt"}


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def run_new(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["new", *args])
    out, err = capsys.readouterr()
    return status, out, err


# -- refusals --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Blog", "is not valid: use a lower-case identifier"),
        ("my-blog", "is not valid: use a lower-case identifier"),
        ("1blog", "is not valid: use a lower-case identifier"),
        ("b" * 41, "is not valid: use a lower-case identifier of at most 40 characters"),
        ("pyramidion", "is reserved: the core uses these names"),
        ("alembic", "is reserved: the core uses these names"),
        ("forms", "an add-on named 'forms' is already installed (distribution pyramidion-forms)"),
    ],
)
def test_a_refused_addon_name_gets_one_message_exit_2_and_no_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, reason: str
) -> None:
    target = tmp_path / "addon"

    status, out, err = run_new(capsys, "addon", name, "--directory", str(target))

    assert status == 2
    assert out == ""
    assert err.startswith("pyramidion: error: ")
    assert reason in err
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert not target.exists()


@pytest.mark.parametrize("kind", ["addon", "app"])
def test_an_existing_target_is_left_alone(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str
) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    (target / "keep.txt").write_text("mine")

    status, _, err = run_new(capsys, kind, "herbarium", "--directory", str(target))

    assert status == 2
    assert err == (
        f"pyramidion: error: {target} already exists (directory); nothing was written. "
        "Choose another place with --directory, or move it out of the way.\n"
    )
    assert files_under(target) == {"keep.txt"}


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["My Site"], "application name 'My Site' is not valid"),
        (["site", "--addons", "auth,Storage"], "add-on name 'Storage' is not valid"),
        (["site", "--addons", "pyramidion"], "'pyramidion' in --addons is a name the core"),
    ],
)
def test_refused_app_names_and_addons(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], reason: str
) -> None:
    target = tmp_path / "site"

    status, _, err = run_new(capsys, "app", *args, "--directory", str(target))

    assert status == 2
    assert err.startswith("pyramidion: error: ")
    assert reason in err
    assert not target.exists()


# -- what is written ---------------------------------------------------------------


def test_an_addon_has_every_room_and_a_first_revision_of_its_own_branch(tmp_path: Path) -> None:
    root = generate_addon("herbarium", tmp_path / "pyramidion-herbarium")

    assert root == tmp_path / "pyramidion-herbarium"
    (revision_file,) = (root / "pyramidion_herbarium" / "migrations").glob(
        "*_create_herbarium_items.py"
    )
    revision = revision_file.name.split("_", 1)[0]
    assert re.fullmatch(r"[0-9a-f]{12}", revision)
    assert files_under(root) == {f.replace("REVISION", revision) for f in ADDON_FILES}

    migration = revision_file.read_text()
    assert f'revision = "{revision}"' in migration
    assert 'branch_labels = ("herbarium",)' in migration
    assert "down_revision = None" in migration
    pyproject = (root / "pyproject.toml").read_text()
    assert 'name = "pyramidion-herbarium"' in pyproject
    # The core and forms by the names this project owns, within their series.
    assert '    "pyramidion-core>=0.1,<0.2",\n' in pyproject
    assert '    "pyramidion-forms>=0.1,<0.2",\n' in pyproject
    assert '    "pyramidion-core[testing]>=0.1,<0.2",\n' in pyproject
    assert (
        '[project.entry-points."pyramidion.addons"]\nherbarium = "pyramidion_herbarium:addon"'
        in pyproject
    )
    assert "\ntesting = [" in pyproject
    assert 'filterwarnings = [\n    "error",' in pyproject
    assert "--import-mode=importlib" in pyproject
    init = (root / "pyramidion_herbarium" / "__init__.py").read_text()
    assert 'requires=("forms",)' in init
    # It registers its items in the admin and the API, when they are enabled.
    assert 'after=("admin", "api")' in init
    assert 'if "admin" in app_state(config.registry).resolution:' in init
    admin = (root / "pyramidion_herbarium" / "admin.py").read_text()
    assert "config.add_admin_model(\n        Item," in admin
    assert 'if "api" in app_state(config.registry).resolution:' in init
    api = (root / "pyramidion_herbarium" / "api.py").read_text()
    assert 'config.add_api_resource(\n        "herbarium",' in api
    assert "settings=HerbariumSettings," in init
    assert (
        '__tablename__ = "herbarium_items"'
        in (root / "pyramidion_herbarium" / "models.py").read_text()
    )
    template = (root / "pyramidion_herbarium" / "templates" / "items.pt").read_text()
    assert template.startswith('<html metal:use-macro="layout">')
    assert "class ItemForm(FormView):" in (root / "pyramidion_herbarium" / "views.py").read_text()
    conftest = (root / "tests" / "conftest.py").read_text()
    assert 'def pyramidion_addons() -> list[str]:\n    return ["herbarium"]' in conftest
    for path in root.rglob("*"):
        if path.is_file():
            assert "cookiecutter" not in path.read_text(), path


def test_each_addon_gets_its_own_revision_id(tmp_path: Path) -> None:
    revisions = set()
    for i in range(2):
        migrations = (
            generate_addon("herbarium", tmp_path / str(i)) / "pyramidion_herbarium/migrations"
        )
        revisions.update(path.name for path in migrations.glob("*_create_*.py"))

    assert len(revisions) == 2


def test_names_with_underscores_make_a_class_name_and_a_distribution_name(
    tmp_path: Path,
) -> None:
    root = generate_addon("field_notes", tmp_path / "fn")

    assert 'name = "pyramidion-field-notes"' in (root / "pyproject.toml").read_text()
    settings = (root / "pyramidion_field_notes" / "settings.py").read_text()
    assert "class FieldNotesSettings:" in settings
    assert "PYRAMIDION_FIELD_NOTES__KEY" in settings


def test_the_default_directory_is_named_after_the_distribution(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    status, out, _ = run_new(capsys, "addon", "herbarium")

    assert status == 0
    target = tmp_path / "pyramidion-herbarium"
    assert (target / "pyramidion_herbarium" / "__init__.py").is_file()
    assert out.startswith(
        f"Created the add-on 'herbarium' (package pyramidion_herbarium) in {target}."
    )
    assert f"pip install -e '{target}[testing]'" in out


def test_an_app_enables_the_chosen_addons_in_both_ini_files(tmp_path: Path) -> None:
    root = generate_app("shop", tmp_path / "shop", ["auth", "storage", "catalog"])

    assert files_under(root) == APP_FILES
    for ini in ("development.ini", "production.ini"):
        text = (root / ini).read_text()
        assert "\npyramidion.addons = auth storage catalog\n" in text
        assert "\nstorage.local_root = %(here)s/var/files\n" in text
        assert "\nmax_request_body_size = 20971520\n" in text
    development = (root / "development.ini").read_text()
    assert "\nsqlalchemy.url = sqlite:///%(here)s/var/shop.sqlite\n" in development
    assert "\nauth.mail_directory = %(here)s/var/mail\n" in development
    production = (root / "production.ini").read_text()
    assert "\npyramidion.environment = production\n" in production
    assert "\nsqlalchemy.url = postgresql+psycopg://shop@localhost/shop\n" in production
    requirements = (root / "requirements.txt").read_text().splitlines()
    # The core by the name this project owns; installed add-ons by their
    # distribution, others by the convention; each within its release series.
    assert requirements[-4:] == [
        "pyramidion-core[postgresql]>=0.1,<0.2",
        "pyramidion-auth>=0.1,<0.2",
        "pyramidion-storage>=0.1,<0.2",
        "pyramidion-catalog>=0.1,<0.2",
    ]
    readme = (root / "README.md").read_text()
    assert ".venv/bin/pip install -r requirements.txt" in readme
    assert ".venv/bin/pserve development.ini" in readme
    assert ".venv/bin/pyramidion check development.ini" in readme
    # With auth, how to make the account that logs in first.
    assert ".venv/bin/pyramidion auth create-user development.ini you@example.com --admin" in (
        readme
    )


def test_an_app_without_storage_has_no_storage_settings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, out, _ = run_new(
        capsys, "app", "site", "--directory", str(tmp_path / "s"), "--addons", ""
    )

    assert status == 0
    assert "Created the application 'site' (no add-ons)" in out
    development = (tmp_path / "s" / "development.ini").read_text()
    assert "\npyramidion.addons =\n" in development
    assert "storage" not in development
    assert "auth." not in development
    assert (tmp_path / "s" / "requirements.txt").read_text().splitlines()[-1] == (
        "pyramidion-core[postgresql]>=0.1,<0.2"
    )
    assert "auth create-user" not in (tmp_path / "s" / "README.md").read_text()


def test_an_app_says_which_distribution_names_it_guessed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, out, _ = run_new(
        capsys, "app", "site", "--directory", str(tmp_path / "s"), "--addons", "auth,catalog"
    )

    assert status == 0
    guesses = [line for line in out.splitlines() if "guesses" in line]
    assert guesses == [
        "The add-on 'catalog' is not installed here, so requirements.txt guesses its "
        "distribution: pyramidion-catalog. Correct it if needed."
    ]


def test_help_lists_new_and_its_two_kinds(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "start a new add-on or application from a template" in capsys.readouterr().out

    with pytest.raises(SystemExit) as exit_info:
        main(["new", "--help"])
    assert exit_info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "addon an add-on distribution: model, migration, settings, page, form and tests" in out
    assert "app an application project: ini files, requirements, README" in out


# -- acceptance: generate, install, enable, migrate, test, lint -------------------


@dataclass
class Generated:
    addon: Path
    app: Path
    env: dict[str, str]

    def run(
        self, *args: str, cwd: Path, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a program of this environment's ``bin``; fail unless it exits 0."""
        result = subprocess.run(
            [str(BIN / args[0]), *args[1:]],
            cwd=cwd,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert result.returncode == 0, (
            f"{' '.join(args)} exited with {result.returncode}:\n{result.stdout}{result.stderr}"
        )
        return result


@pytest.fixture(scope="module")
def generated() -> Iterator[Generated]:
    """An add-on and an app enabling it, generated and installed as a user would.

    Generated inside this checkout (in its git-ignored build/ directory),
    where a contributor trying the command would put them.
    """
    root = CHECKOUT / "build" / f"test-new-{uuid.uuid4().hex[:8]}"
    try:
        yield _generate(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _generate(root: Path) -> Generated:
    addon = generate_addon("field_notes", root / "pyramidion-field-notes")
    app = generate_app("notebook", root / "notebook", ["auth", "storage", "field_notes"])
    site = root / "site"
    startup = root / "startup"
    startup.mkdir()
    (startup / "sitecustomize.py").write_text(f"import site\nsite.addsitedir({str(site)!r})\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRAMIDION_")}
    # The test database server (when CI names one) is for the add-on's tests too.
    env.update({k: v for k, v in os.environ.items() if k.startswith("PYRAMIDION_TEST_")})
    env["PYTHONPATH"] = os.pathsep.join([str(startup), *filter(None, [env.get("PYTHONPATH")])])
    result = Generated(addon=addon, app=app, env=env)
    result.run(
        "python",
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "--disable-pip-version-check",
        "--target",
        str(site),
        "-e",
        str(addon),
        cwd=root,
    )
    return result


@pytest.mark.slow
def test_the_generated_addon_migrates_in_the_generated_app_and_db_check_is_clean(
    generated: Generated,
) -> None:
    upgraded = generated.run("pyramidion", "db", "upgrade", "development.ini", cwd=generated.app)
    assert "installed field_notes 0.1.0 (pyramidion-field-notes)" in upgraded.stdout

    engine = create_engine(f"sqlite:///{generated.app / 'var' / 'notebook.sqlite'}")
    try:
        assert "field_notes_items" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
    checked = generated.run("pyramidion", "db", "check", "development.ini", cwd=generated.app)
    assert "the database is up to date and matches the models" in checked.stdout


@pytest.mark.slow
def test_the_generated_addon_registers_its_items_when_the_admin_is_enabled(
    generated: Generated,
) -> None:
    ini = (generated.app / "development.ini").read_text()
    with_admin = generated.app / "with-admin.ini"
    with_admin.write_text(
        ini.replace("pyramidion.addons = ", "pyramidion.addons = admin ").replace(
            "/var/notebook.sqlite", "/var/with-admin.sqlite"
        )
    )
    generated.run("pyramidion", "db", "upgrade", with_admin.name, cwd=generated.app)

    listed = generated.run(
        "pyramidion", "admin", "permissions", with_admin.name, cwd=generated.app
    )

    for action in ("view", "add", "change", "delete"):
        assert f"admin.field_notes.item.{action}\t" in listed.stdout


@pytest.mark.slow
def test_the_generated_app_loads_with_both_of_its_ini_files(generated: Generated) -> None:
    development = generated.run("pyramidion", "check", "development.ini", cwd=generated.app)
    assert "field_notes  0.1.0 (pyramidion-field-notes): listed in pyramidion.addons" in (
        development.stdout
    )

    # production.ini expects its database URL from the environment.
    url = f"sqlite:///{generated.app / 'var' / 'production.sqlite'}"
    production = generated.run(
        "pyramidion",
        "check",
        "production.ini",
        cwd=generated.app,
        env={"PYRAMIDION_SQLALCHEMY__URL": url},
    )
    assert "production.ini: the application loads; every setting is valid." in production.stdout


@pytest.mark.slow
def test_the_generated_addon_passes_its_own_tests(generated: Generated) -> None:
    # Its own pyproject.toml makes warnings errors (checked above); -W on
    # the command line would override the ignores listed there.
    result = generated.run("pytest", "-p", "no:cacheprovider", cwd=generated.addon)
    # Their admin and API tests run too: this environment has
    # pyramidion-admin and pyramidion-api installed.
    assert re.search(r"\b11 passed\b", result.stdout), result.stdout


@pytest.mark.slow
def test_the_generated_addon_is_clean_under_ruff_and_mypy_strict(generated: Generated) -> None:
    generated.run("ruff", "check", "--no-cache", ".", cwd=generated.addon)
    generated.run("ruff", "format", "--check", "--no-cache", ".", cwd=generated.addon)
    # As its README says, with nothing but the environment this checkout's
    # make install built (where pyramidion_forms is an editable install).
    generated.run("mypy", "pyramidion_field_notes", "tests", cwd=generated.addon)


@pytest.mark.slow
def test_a_revision_written_by_db_revision_is_clean_under_the_addons_ruff(
    generated: Generated,
) -> None:
    # Alembic writes single quotes, long lines and unused imports; its
    # post-write hooks run ruff with the add-on's own settings on the file.
    models = generated.addon / "pyramidion_field_notes" / "models.py"
    migrations = generated.addon / "pyramidion_field_notes" / "migrations"
    original = models.read_text()
    before = set(migrations.glob("*.py"))
    try:
        generated.run("pyramidion", "db", "upgrade", "development.ini", cwd=generated.app)
        models.write_text(
            original + "    location_of_the_finding_as_written_in_the_field_notebook: "
            "Mapped[str | None] = mapped_column(String(400), index=True)\n"
        )
        generated.run(
            "pyramidion",
            "db",
            "revision",
            "--addon",
            "field_notes",
            "-m",
            "where it was found",
            "development.ini",
            cwd=generated.app,
        )
        (written,) = set(migrations.glob("*.py")) - before
        assert "location_of_the_finding_as_written_in_the_field_notebook" in written.read_text()
        generated.run("ruff", "check", "--no-cache", str(written), cwd=generated.addon)
        generated.run("ruff", "format", "--check", "--no-cache", str(written), cwd=generated.addon)
    finally:
        models.write_text(original)
        for path in set(migrations.glob("*.py")) - before:
            path.unlink()
