"""The auth branch's migrations on a database of its own: tokens created
before scopes become write tokens, and ``pyramidion db check`` finds the
models and the migrations alike."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from pyramidion.cli import main


@pytest.fixture
def fresh_ini(tmp_path: Path) -> str:
    """An app with auth on an empty SQLite database, for the db commands."""
    path = tmp_path / "app.ini"
    path.write_text(
        "[app:main]\nuse = egg:pyramidion-core\npyramidion.addons = auth\n"
        f"sqlalchemy.url = sqlite:///{tmp_path / 'fresh.sqlite'}\n"
    )
    return str(path)


def test_tokens_from_before_scopes_become_write_tokens(fresh_ini: str, tmp_path: Path) -> None:
    assert main(["db", "upgrade", fresh_ini]) == 0
    assert main(["db", "downgrade", "--addon", "auth", fresh_ini, "bebbc9420db2"]) == 0
    engine = create_engine(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO auth_users (id, email, display_name, is_active, created_at,"
                    " updated_at) VALUES (1, 'old@example.com', 'Old', 1, '2026-01-01',"
                    " '2026-01-01')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO auth_api_tokens (user_id, name, token_hash, hint, created_at,"
                    " expires_at) VALUES (1, 'cron', 'h', 'pyr_abcd', '2026-01-01', '2027-01-01')"
                )
            )

        assert main(["db", "upgrade", fresh_ini]) == 0
        assert main(["db", "check", fresh_ini]) == 0

        with engine.connect() as connection:
            scopes = connection.execute(text("SELECT name, scope FROM auth_api_tokens")).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in scopes] == [("cron", "write")]
