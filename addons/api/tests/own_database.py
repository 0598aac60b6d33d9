"""A database of a test module's own, for the tests whose live server
commits for real: the rest of the session's tests run in rolled-back
transactions on the shared database and expect it as they left it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import URL, make_url

from pyramidion.testing import DATABASE_URL_VARIABLE, temporary_database


@contextlib.contextmanager
def own_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database where the session's is: a new SQLite file, or a new
    database on the PostgreSQL server ``PYRAMIDION_TEST_DATABASE_URL``
    names (dropped afterwards)."""
    configured = os.environ.get(DATABASE_URL_VARIABLE, "").strip()
    if configured and make_url(configured).get_backend_name() == "postgresql":
        with temporary_database(configured) as url:
            yield url
    elif configured:
        pytest.skip(f"{DATABASE_URL_VARIABLE} names a database these tests cannot make anew")
    else:
        path = tmp_path_factory.mktemp("live") / "test.sqlite"
        yield str(URL.create("sqlite", database=str(path)))
