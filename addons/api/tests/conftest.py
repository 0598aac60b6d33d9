"""Fixtures for the API's tests: an app with ``api`` and ``apitest`` (in
``example/``: a model with a resource and views of its own). Users and
logging in come from the auth add-on's pytest plugin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pyramidion.testing import install_test_distribution

EXAMPLE = Path(__file__).resolve().parent / "example"


@pytest.fixture(scope="session")
def apitest_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``apitest`` add-on, installed for the rest of the session."""
    site = tmp_path_factory.mktemp("apitest-site")
    install_test_distribution(
        site,
        source=EXAMPLE,
        distribution="pyramidion-api-example",
        addons={"apitest": "pyramidion_api_example:addon"},
    )
    return site


@pytest.fixture(scope="session")
def pyramidion_addons(apitest_site: Path) -> list[str]:
    return ["apitest", "api"]


@pytest.fixture(scope="session")
def pyramidion_extra_settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from pyramidion_auth.testing import AUTH_TEST_SETTINGS

    return {
        **AUTH_TEST_SETTINGS,
        "auth.mail_directory": str(tmp_path_factory.mktemp("mail")),
    }
