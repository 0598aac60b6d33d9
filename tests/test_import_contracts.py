"""The contract an add-on builds on: one public module, declared requirements.

``make lint`` checks the imports themselves with import-linter
(``.importlinter``); these tests keep those contracts in step with the
add-ons' descriptors and check what an add-on author sees of the public
module.
"""

from __future__ import annotations

import configparser
import importlib
import importlib.metadata
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import pyramidion
from pyramidion.discovery import discover_addons

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / ".importlinter"


def read_contracts() -> tuple[list[str], list[dict[str, list[str]]]]:
    parser = configparser.ConfigParser()
    parser.read(CONTRACTS)
    root_packages = parser["importlinter"]["root_packages"].split()
    contracts = [
        {key: value.split() for key, value in parser[section].items()}
        for section in parser.sections()
        if section.startswith("importlinter:contract:")
    ]
    return root_packages, contracts


def test_each_bundled_addon_may_import_exactly_the_addons_it_requires() -> None:
    root_packages, contracts = read_contracts()
    installed = discover_addons()
    bundled = {
        name: candidate.load()
        for name, candidate in installed.items()
        if candidate.load().package in root_packages
    }
    assert set(bundled) >= {"auth", "blog", "forms", "storage"}
    packages = {name: addon.package for name, addon in bundled.items()}
    for name, addon in bundled.items():
        required = {packages[r] for r in addon.required_names if r in packages}
        expected = set(packages.values()) - required - {addon.package}
        forbidden: set[str] = set()
        for contract in contracts:
            if contract.get("type") == ["forbidden"] and contract["source_modules"] == [
                addon.package
            ]:
                forbidden.update(contract["forbidden_modules"])
        assert forbidden == expected, (
            f"add-on '{name}' requires {sorted(addon.required_names) or 'nothing'}, so "
            f".importlinter should forbid it {sorted(expected) or 'nothing'}, "
            f"but forbids {sorted(forbidden) or 'nothing'}"
        )


def test_declaring_an_addon_loads_no_web_or_database_machinery() -> None:
    code = (
        "import sys\n"
        "from pyramidion import Addon, Command, get_settings, setting\n"
        "heavy = ('pyramid', 'webob', 'sqlalchemy', 'alembic', 'pkg_resources', 'transaction')\n"
        "print(' '.join(m for m in heavy if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
    assert result.stderr == ""


def test_importing_pyramidion_loads_no_parser_of_settings_versions_or_metadata() -> None:
    # colander parses settings, packaging parses requirements, importlib.metadata
    # reads the version: each is imported when first used, not by the import.
    code = (
        "import sys\n"
        "import pyramidion\n"
        "loaded = ('colander', 'packaging', 'importlib.metadata', 'difflib', 'argparse')\n"
        "print(' '.join(m for m in loaded if m in sys.modules))\n"
        "print(pyramidion.__version__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    loaded, version = result.stdout.splitlines()
    assert loaded == ""
    assert version == importlib.metadata.version("pyramidion-core")


def test_every_public_name_of_pyramidion_is_there() -> None:
    missing = [name for name in pyramidion.__all__ if not hasattr(pyramidion, name)]
    assert missing == []
    assert pyramidion.Base.metadata is pyramidion.metadata
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        pyramidion.nothing_here  # noqa: B018


def core_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(pyramidion.__path__, "pyramidion."):
        # Alembic's env.py runs only inside Alembic; the scaffolds are templates.
        if info.name.startswith(("pyramidion.migrations", "pyramidion.scaffolds")):
            continue
        names.append(info.name)
    return names


@pytest.mark.parametrize("name", core_modules())
def test_every_core_module_says_what_it_exports(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} declares no __all__"
    assert [n for n in exported if not hasattr(module, n)] == []
