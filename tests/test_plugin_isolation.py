"""The test kit never breaks someone else's tests.

pytest loads ``pyramidion.testing`` (a ``pytest11`` entry point) in every
environment where the core is installed. These tests build such an
environment from scratch, offline: a new virtualenv holding only
``pyramidion-core`` (a wheel built from this checkout, no extras), its
dependencies and pytest, and no WebTest, Playwright, psycopg or
cookiecutter. An unrelated project's suite must run there as it would
without the core, and the parts of the core that need an extra must say
which one.

The dependencies are copied from this environment's installed files (each
distribution's ``RECORD``), so nothing is downloaded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import venv
from dataclasses import dataclass
from importlib.metadata import distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

CHECKOUT = Path(__file__).resolve().parent.parent

#: What the new environment must not have: the extras' packages.
EXTRAS_ONLY = ("webtest", "playwright", "psycopg", "cookiecutter", "hypothesis")

pytestmark = pytest.mark.slow


def closure(*names: str) -> list[str]:
    """The installed distributions ``names`` need, without any extras."""
    seen: dict[str, None] = {}
    todo = list(names)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        seen[name] = None
        for line in distribution(name).requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return list(seen)


def copy_installed(name: str, site: Path) -> None:
    """Copy distribution ``name``'s files inside site-packages into ``site``."""
    found = distribution(name)
    for file in found.files or []:
        if file.parts[0] == "..":  # scripts and data outside site-packages
            continue
        source = Path(str(found.locate_file(file)))
        if source.is_file():
            target = site / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


@dataclass
class Environment:
    python: Path
    env: dict[str, str]

    def run(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        """Run this environment's Python with ``args``."""
        return self.script(str(self.python), *args, cwd=cwd)

    def script(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        """Run a program (a path), in this environment's process environment."""
        return subprocess.run(
            list(args),
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )


@pytest.fixture(scope="module")
def core_only(tmp_path_factory: pytest.TempPathFactory) -> Environment:
    """A new virtualenv with the core (no extras), its dependencies and pytest."""
    root = tmp_path_factory.mktemp("core-only")
    wheels = root / "wheels"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            "--wheel-dir",
            str(wheels),
            str(CHECKOUT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("pyramidion_core-*.whl")

    target = root / "venv"
    venv.EnvBuilder(with_pip=True).create(target)
    python = target / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    needed = [n for n in closure("pyramidion-core", "pytest") if n != "pyramidion-core"]
    assert not set(needed) & set(EXTRAS_ONLY), needed
    for name in needed:
        copy_installed(name, site)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYRAMIDION_", "PYTHON", "PYTEST", "VIRTUAL_ENV"))
    }
    environment = Environment(python=python, env=env)
    installed = environment.run(
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--no-index",
        "--disable-pip-version-check",
        str(wheel),
        cwd=root,
    )
    assert installed.returncode == 0, installed.stderr
    return environment


def test_the_new_environment_has_the_core_and_none_of_its_extras(
    core_only: Environment, tmp_path: Path
) -> None:
    probe = textwrap.dedent(
        f"""
        import importlib.util
        import sys
        from importlib.metadata import entry_points
        print("plugin:", [e.value for e in entry_points(group="pytest11")])
        print("missing:", [n for n in {EXTRAS_ONLY!r} if importlib.util.find_spec(n) is None])
        import pytest_pyramidion
        print("loading the plugin imported:", sorted(
            n for n in ("pyramidion", "pyramid", "webob", "sqlalchemy") if n in sys.modules
        ))
        """
    )
    result = core_only.run("-c", probe, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "plugin: ['pytest_pyramidion']" in result.stdout
    assert f"missing: {list(EXTRAS_ONLY)!r}" in result.stdout
    assert "loading the plugin imported: []" in result.stdout


def test_an_unrelated_projects_suite_runs_with_the_core_installed(
    core_only: Environment, tmp_path: Path
) -> None:
    # A project that knows nothing of Pyramidion, with fixtures named as
    # pytest-playwright's and pytest-django's are, and warnings as errors.
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [tool.pytest.ini_options]
            addopts = "-ra --strict-markers --strict-config"
            filterwarnings = ["error"]
            """
        )
    )
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent(
            """
            import pytest

            @pytest.fixture
            def page():
                return "a page of this project"

            @pytest.fixture
            def browser():
                return "this project's browser"

            @pytest.fixture
            def live_server():
                return "this project's server"
            """
        )
    )
    (tmp_path / "test_arithmetic.py").write_text(
        textwrap.dedent(
            """
            def test_adds():
                assert 1 + 1 == 2

            def test_its_own_fixtures(page, browser, live_server):
                assert page == "a page of this project"
                assert browser == "this project's browser"
                assert live_server == "this project's server"
            """
        )
    )

    result = core_only.run("-m", "pytest", "-p", "no:cacheprovider", cwd=tmp_path)

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "2 passed" in result.stdout
    assert "Error while loading plugin" not in output
    assert "Traceback" not in output


def test_a_fixture_that_needs_the_testing_extra_says_what_to_install(
    core_only: Environment, tmp_path: Path
) -> None:
    (tmp_path / "test_app.py").write_text(
        textwrap.dedent(
            """
            def test_home(testapp):
                testapp.get("/")
            """
        )
    )

    result = core_only.run("-m", "pytest", "-p", "no:cacheprovider", cwd=tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "PyramidionTestApp and the testapp fixture need WebTest: "
        "pip install 'pyramidion-core[testing]'" in result.stdout
    )
    assert "Traceback" not in result.stdout


def test_pyramidion_new_without_the_scaffold_extra_says_what_to_install(
    core_only: Environment, tmp_path: Path
) -> None:
    pyramidion = core_only.python.parent / "pyramidion"
    result = core_only.script(str(pyramidion), "new", "addon", "herbarium", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr.strip().endswith("pip install 'pyramidion-core[scaffold]'"), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []
