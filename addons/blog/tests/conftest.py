"""Fixtures for the blog's tests: an app with ``blog`` (and so ``auth``,
``forms`` and ``storage``), cheap password hashing, files in a temporary
directory, and helpers that create users and posts and log people in."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, event
from sqlalchemy.orm import Session

from pyramidion.testing import PyramidionTestApp
from pyramidion_auth.accounts import create_user
from pyramidion_auth.models import User
from pyramidion_blog.models import Post

#: A password the auth add-on accepts.
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def pyramidion_addons() -> list[str]:
    return ["blog"]


@pytest.fixture(scope="session")
def pyramidion_extra_settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return {
        # OWASP's minimum Argon2id parameters: the cheapest auth accepts.
        "auth.argon2_memory_cost": "19456",
        "auth.argon2_time_cost": "2",
        "auth.argon2_parallelism": "1",
        "auth.allow_registration": "true",
        "auth.mail_directory": str(tmp_path_factory.mktemp("mail")),
        "storage.local_root": str(tmp_path_factory.mktemp("files")),
        "blog.per_page": "5",
    }


@pytest.fixture
def password() -> str:
    """The password ``make_user`` gives every account."""
    return PASSWORD


MakeUser = Callable[..., User]


@pytest.fixture
def make_user(testapp: PyramidionTestApp, dbsession: Session, tm: Any) -> MakeUser:
    """``make_user(name=..., admin=False)``: a committed account with ``PASSWORD``."""

    def make(name: str = "Ada Lovelace", *, admin: bool = False) -> User:
        user = create_user(
            testapp.app.registry,
            dbsession,
            email=f"user-{uuid.uuid4().hex[:8]}@example.com",
            password=PASSWORD,
            display_name=name,
            admin=admin,
        )
        tm.commit()
        return user

    return make


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


LogIn = Callable[[PyramidionTestApp, User], PyramidionTestApp]


@pytest.fixture
def log_in() -> LogIn:
    """``log_in(app, user)``: submit the login form as a browser would."""

    def submit(app: PyramidionTestApp, user: User) -> PyramidionTestApp:
        form = app.get("/auth/login").forms["login"]
        form["email"] = user.email
        form["password"] = PASSWORD
        form.submit("submit", status=303)
        return app

    return submit


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
