"""``pyramidion auth create-user``, ``set-password`` and ``list-users``.

Commands commit for real, on the session's database (migrated by the
``pyramidion_app`` fixture), so each test uses its own addresses.
"""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from pyramidion.cli import main
from pyramidion_auth.models import User

STRONG = "a perfectly fine passphrase"


@pytest.fixture
def ini(tmp_path: Path, pyramidion_app: Any, pyramidion_settings: dict[str, Any]) -> str:
    lines = ["[app:main]", "use = egg:pyramidion"]
    lines += [f"{key} = {value}" for key, value in pyramidion_settings.items()]
    path = tmp_path / "app.ini"
    path.write_text("\n".join(lines).replace("%", "%%") + "\n")
    return str(path)


@pytest.fixture
def address() -> str:
    return f"cli-{uuid.uuid4().hex[:10]}@example.com"


def stored_user(settings: dict[str, Any], address: str) -> User | None:
    engine = create_engine(settings["sqlalchemy.url"])
    try:
        with engine.connect() as connection:
            row = connection.execute(select(User.__table__).where(User.email == address)).first()
    finally:
        engine.dispose()
    return row  # type: ignore[return-value]


def run(monkeypatch: pytest.MonkeyPatch, args: list[str], stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(args)


def test_create_user_reads_the_password_from_stdin(
    ini: str,
    address: str,
    pyramidion_settings: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert (
        run(
            monkeypatch,
            ["auth", "create-user", ini, address, "--admin", "--password-stdin"],
            STRONG + "\n",
        )
        == 0
    )

    assert "(admin)" in capsys.readouterr().out
    row = stored_user(pyramidion_settings, address)
    assert row is not None
    assert row.password_hash.startswith("$argon2id$")
    assert run(monkeypatch, ["auth", "list-users", ini]) == 0
    listing = capsys.readouterr().out
    (line,) = [line for line in listing.splitlines() if f"\t{address}\t" in line]
    assert line.endswith(f"\t{address.split('@')[0]}\tactive\tadmin")


def test_create_user_prompts_twice(
    ini: str,
    address: str,
    pyramidion_settings: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    answers = iter([STRONG, "something else entirely"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))

    assert main(["auth", "create-user", ini, address]) == 2

    assert "the two passwords differ" in capsys.readouterr().err
    assert stored_user(pyramidion_settings, address) is None

    monkeypatch.setattr("getpass.getpass", lambda prompt="": STRONG)
    assert main(["auth", "create-user", ini, address]) == 0
    assert stored_user(pyramidion_settings, address) is not None


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "Use at least 12 characters."),
        ("qwerty123456", "one of the most common passwords"),
    ],
)
def test_create_user_refuses_weak_passwords_with_the_reason(
    ini: str,
    address: str,
    pyramidion_settings: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    password: str,
    reason: str,
) -> None:
    code = run(monkeypatch, ["auth", "create-user", ini, address, "--password-stdin"], password)

    assert code == 2
    assert reason in capsys.readouterr().err
    assert stored_user(pyramidion_settings, address) is None


def test_create_user_refuses_a_taken_email(
    ini: str, address: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["auth", "create-user", ini, address, "--password-stdin"]
    assert run(monkeypatch, args, STRONG) == 0
    assert run(monkeypatch, [*args[:3], address.upper(), "--password-stdin"], STRONG) == 2
    assert "already exists" in capsys.readouterr().err


def test_set_password(
    ini: str,
    address: str,
    pyramidion_settings: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run(monkeypatch, ["auth", "create-user", ini, address, "--password-stdin"], STRONG)
    before = stored_user(pyramidion_settings, address)
    assert before is not None

    args = ["auth", "set-password", ini, address, "--password-stdin"]
    assert run(monkeypatch, args, "123456") == 2
    assert "Use at least 12 characters." in capsys.readouterr().err
    assert run(monkeypatch, args, "another fine passphrase\n") == 0

    after = stored_user(pyramidion_settings, address)
    assert after is not None
    assert after.password_hash != before.password_hash
    assert (
        run(
            monkeypatch,
            ["auth", "set-password", ini, "nobody@example.com", "--password-stdin"],
            STRONG,
        )
        == 2
    )
    assert "there is no account for nobody@example.com" in capsys.readouterr().err
