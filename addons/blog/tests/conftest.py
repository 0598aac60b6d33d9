"""Fixtures for the blog's tests: an app with ``blog`` (and so ``auth``,
``forms`` and ``storage``), cheap password hashing, files in a temporary
directory, and a helper that creates posts. Users and logging in come from
the auth add-on's pytest plugin (``auth_make_user``, ``auth_logged_in``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, event
from sqlalchemy.orm import Session

from pyramidion.testing import PyramidionTestApp
from pyramidion_auth.models import User
from pyramidion_auth.testing import AUTH_TEST_SETTINGS
from pyramidion_blog.models import Post


@pytest.fixture(scope="session")
def pyramidion_addons() -> list[str]:
    return ["blog"]


@pytest.fixture(scope="session")
def pyramidion_extra_settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return {
        **AUTH_TEST_SETTINGS,
        "auth.allow_registration": "true",
        "auth.mail_directory": str(tmp_path_factory.mktemp("mail")),
        "storage.local_root": str(tmp_path_factory.mktemp("files")),
        "blog.per_page": "5",
    }


MakePost = Callable[..., Post]


@pytest.fixture
def make_post(dbsession: Session, tm: Any) -> MakePost:
    """``make_post(author, title=..., body=..., hidden=False)``: a committed post."""

    def make(author: User, title: str = "A post", body: str = "Some text.", **kw: Any) -> Post:
        post = Post(author_id=author.id, title=title, body=body, **kw)
        dbsession.add(post)
        dbsession.flush()
        tm.commit()
        return post

    return make


@pytest.fixture
def client(testapp: PyramidionTestApp) -> Callable[[], PyramidionTestApp]:
    """``client()``: another browser on the same app, with its own cookies."""
    return lambda: PyramidionTestApp(testapp.app)


@pytest.fixture
def queries(db_connection: Connection) -> Iterator[list[str]]:
    """The SQL statements run on the test's connection while the test runs."""
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            statements.append(statement)

    event.listen(db_connection, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db_connection, "before_cursor_execute", record)
