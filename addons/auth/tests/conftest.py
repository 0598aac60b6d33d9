"""Fixtures for the auth add-on's tests.

The app enables ``auth`` with the settings the add-on's pytest plugin
recommends (:data:`pyramidion_auth.testing.AUTH_TEST_SETTINGS`: the cheapest
Argon2id parameters, a clock tests can stop); users and logging in come
from that plugin's fixtures (``auth_make_user``, ``auth_log_in``).
"""

from __future__ import annotations

import email
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, event

from pyramidion_auth.testing import AUTH_TEST_SETTINGS


@pytest.fixture(scope="session")
def pyramidion_addons() -> list[str]:
    return ["auth"]


@pytest.fixture(scope="session")
def pyramidion_extra_settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return {
        **AUTH_TEST_SETTINGS,
        "auth.mail_directory": str(tmp_path_factory.mktemp("mail")),
    }


@pytest.fixture
def password(auth_password: str) -> str:
    """The password ``auth_make_user`` gives users unless told otherwise."""
    return auth_password


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
