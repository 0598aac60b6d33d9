"""An app with ``admin``, ``admintest`` and ``blog`` (so ``storage``):
storage's file store gives the example's parts (whose drawing is a
nullable file field by registration) an upload field, which the blog's
attachments (a file each, never none) cannot show. The blog is enabled
because storage asks every table that refers to its files, the blog's
among them once another test has imported it.

A database of these tests' own, like the bundled tests': the admin's other
tests count what is installed in theirs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def pyramidion_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of these tests' own, on the server the session uses."""
    from pyramidion.testing import own_database

    with own_database(tmp_path_factory, "stored") as url:
        yield url


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
