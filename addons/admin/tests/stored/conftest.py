"""An app with ``admin``, ``admintest`` and ``blog`` (so ``storage``):
storage's file store gives the example's parts (whose drawing is a
nullable file field by registration) an upload field, which the blog's
attachments (a file each, never none) cannot show. The blog is enabled
because storage asks every table that refers to its files, the blog's
among them once another test has imported it.

A database of these tests' own, like the bundled tests': the admin's other
tests count what is installed in theirs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def pyramidion_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of these tests' own, on the server the session uses."""
    from sqlalchemy.engine import URL, make_url

    from pyramidion.testing import DATABASE_URL_VARIABLE, temporary_database

    configured = os.environ.get(DATABASE_URL_VARIABLE, "").strip()
    if not configured:
        path = tmp_path_factory.mktemp("stored") / "test.sqlite"
        yield str(URL.create("sqlite", database=str(path)))
    elif make_url(configured).get_backend_name() == "postgresql":
        with temporary_database(configured) as url:
            yield url
    else:
        yield configured


@pytest.fixture(scope="session")
def pyramidion_addons(admintest_site: Path) -> list[str]:
    return ["admin", "admintest", "blog"]


@pytest.fixture(scope="session")
def pyramidion_extra_settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from pyramidion_auth.testing import AUTH_TEST_SETTINGS

    return {**AUTH_TEST_SETTINGS, "storage.local_root": str(tmp_path_factory.mktemp("files"))}


@pytest.fixture
def admin_client(testapp: Any, auth_make_user: Any, auth_logged_in: Any) -> Any:
    """``testapp``, logged in as a new member of the admin group."""
    auth_logged_in(testapp, auth_make_user("Root", admin=True))
    return testapp
