"""Fixtures for the auth add-on's tests.

The app enables ``auth`` with the cheapest Argon2id parameters the add-on
accepts (OWASP's minimum), so that tests that hash stay fast.
"""

from __future__ import annotations

import email
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, event
from sqlalchemy.orm import Session

from pyramidion.testing import PyramidionTestApp
from pyramidion_auth.models import User
from pyramidion_auth.services import create_user

#: A password that satisfies the policy in every test.
PASSWORD = "correct horse battery staple"

FAST_HASHING = {
    "auth.argon2_memory_cost": "19456",
    "auth.argon2_time_cost": "2",
    "auth.argon2_parallelism": "1",
}


@pytest.fixture(scope="session")
def pyramidion_addons() -> list[str]:
    return ["auth"]


@pytest.fixture(scope="session")
def pyramidion_extra_settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return {
        **FAST_HASHING,
        "auth.mail_directory": str(tmp_path_factory.mktemp("mail")),
    }


MakeUser = Callable[..., User]


@pytest.fixture
def make_user(testapp: PyramidionTestApp, dbsession: Session, tm: Any) -> MakeUser:
    """Create a committed user (visible to requests): ``make_user(admin=True)``."""

    def make(
        email: str | None = None,
        password: str = PASSWORD,
        *,
        name: str = "Ada Lovelace",
        admin: bool = False,
        **changes: Any,
    ) -> User:
        user = create_user(
            testapp.app.registry,
            dbsession,
            email=email or f"user-{uuid.uuid4().hex[:8]}@example.com",
            password=password,
            display_name=name,
            admin=admin,
        )
        for key, value in changes.items():
            setattr(user, key, value)
        dbsession.flush()
        tm.commit()
        return user

    return make


LogIn = Callable[..., Any]


@pytest.fixture
def log_in() -> LogIn:
    """``log_in(app, email, password=PASSWORD, came_from=None)``: submit the
    login form as a browser would; returns the response (any status)."""

    def submit(
        app: PyramidionTestApp,
        email: str,
        password: str = PASSWORD,
        *,
        came_from: str | None = None,
        **kw: Any,
    ) -> Any:
        query = {"came_from": came_from} if came_from is not None else {}
        page = app.get("/auth/login", params=query, **kw)
        form = page.forms["login"]
        form["email"] = email
        form["password"] = password
        return form.submit("submit", status="*", **kw)

    return submit


@pytest.fixture
def password() -> str:
    """The password ``make_user`` gives users unless told otherwise."""
    return PASSWORD


@pytest.fixture
def mail_directory(pyramidion_extra_settings: dict[str, Any]) -> Path:
    return Path(pyramidion_extra_settings["auth.mail_directory"])


@pytest.fixture
def mailbox(mail_directory: Path) -> Callable[[str], list[str]]:
    """``mailbox(address)``: the emails written for ``address``, oldest first."""
    before = set(mail_directory.glob("*.eml"))

    def read(address: str) -> list[str]:
        found = []
        for path in sorted(
            set(mail_directory.glob("*.eml")) - before, key=lambda p: p.stat().st_mtime_ns
        ):
            message = email.message_from_string(path.read_text())
            if message["To"] == address:
                payload = message.get_payload(decode=True)
                found.append(payload.decode() if isinstance(payload, bytes) else str(payload))
        return found

    return read


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


def auth_tables_snapshot(connection: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every auth table, for comparing before and after."""
    from pyramidion import metadata

    return {
        table.name: sorted(tuple(map(str, row)) for row in connection.execute(table.select()))
        for table in metadata.sorted_tables
        if table.name.startswith("auth_")
    }


@pytest.fixture
def snapshot(db_connection: Connection) -> Callable[[], dict[str, list[tuple[Any, ...]]]]:
    return lambda: auth_tables_snapshot(db_connection)


@pytest.fixture
def ini(tmp_path: Path, pyramidion_app: Any, pyramidion_settings: dict[str, Any]) -> str:
    """An ini file of the test app, for commands (which commit for real)."""
    lines = ["[app:main]", "use = egg:pyramidion-core"]
    lines += [f"{key} = {value}" for key, value in pyramidion_settings.items()]
    path = tmp_path / "app.ini"
    path.write_text("\n".join(lines).replace("%", "%%") + "\n")
    return str(path)
