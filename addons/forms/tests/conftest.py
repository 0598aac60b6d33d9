"""The forms add-on's tests run an app with ``forms`` and ``formstest``.

``formstest`` (in ``example/``) is an add-on written against the public API
as a third party would; it is installed for the test session as a real
distribution (a ``dist-info`` directory next to the package on
``sys.path``), so discovery, settings and migrations treat it like any
other.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest

from pyramidion.testing import install_test_distribution

EXAMPLE = Path(__file__).resolve().parent / "example"


@pytest.fixture(scope="session")
def formstest_installed(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The ``formstest`` add-on, installed for the rest of the session."""
    install_test_distribution(
        tmp_path_factory.mktemp("formstest-site"),
        source=EXAMPLE,
        distribution="pyramidion-forms-example",
        addons={"formstest": "pyramidion_forms_example:addon"},
    )


@pytest.fixture(scope="session")
def pyramidion_addons(formstest_installed: None) -> list[str]:
    return ["forms", "formstest"]


@pytest.fixture(scope="session")
def models(formstest_installed: None) -> ModuleType:
    """``pyramidion_forms_example.models``: imported only by the tests that use it."""
    return importlib.import_module("pyramidion_forms_example.models")
