"""The jobs tests run an app with ``jobs`` and ``jobstest`` (in ``example/``).

In-process tests use the ``outbox`` engine and run jobs by calling the
embedded engine's step with an injected clock; ``test_celery.py`` runs real
Celery workers on a private Redis server.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest

from pyramidion.testing import install_test_distribution

EXAMPLE = Path(__file__).resolve().parent / "example"


@pytest.fixture(scope="session")
def jobstest_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``jobstest`` add-on, installed for the rest of the session."""
    site = tmp_path_factory.mktemp("jobstest-site")
    install_test_distribution(
        site,
        source=EXAMPLE,
        distribution="pyramidion-jobs-example",
        addons={"jobstest": "pyramidion_jobs_example:addon"},
    )
    return site


@pytest.fixture(scope="session")
def pyramidion_addons(jobstest_site: Path) -> list[str]:
    # auth and storage too: their mail, purge and gc are jobs when jobs is enabled.
    return ["jobstest", "auth", "storage"]


@pytest.fixture(scope="session")
def pyramidion_extra_settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from pyramidion_auth.testing import AUTH_TEST_SETTINGS

    return {
        **AUTH_TEST_SETTINGS,
        "auth.mail_directory": str(tmp_path_factory.mktemp("mail")),
        "storage.local_root": str(tmp_path_factory.mktemp("files")),
        "jobs.engine": "outbox",
        "jobs.retry_backoff": "10",
        "jobs.retry_backoff_max": "60",
    }


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC)

    def __call__(self) -> datetime.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += datetime.timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()
