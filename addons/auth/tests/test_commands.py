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
from sqlalchemy import create_engine, delete, select

from pyramidion.cli import main
from pyramidion_auth.models import User

STRONG = "a perfectly fine passphrase"


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


@pytest.fixture
def fresh_ini(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An ini on a new, migrated SQLite database with no accounts at all."""
    lines = [
        "[app:main]",
        "use = egg:pyramidion-core",
        "pyramidion.addons = auth",
        "pyramidion.environment = development",
        f"sqlalchemy.url = sqlite:///{tmp_path / 'fresh.sqlite'}",
        "auth.argon2_memory_cost = 19456",
        "auth.argon2_time_cost = 2",
        "auth.argon2_parallelism = 1",
    ]
    path = tmp_path / "fresh.ini"
    path.write_text("\n".join(lines) + "\n")
    assert main(["db", "upgrade", str(path)]) == 0
    return str(path)


def fresh_users(ini: str) -> list[tuple[str, str, bool]]:
    """(email, password hash, is admin) of every account in ``fresh_ini``'s database."""
    from pyramidion_auth.models import Group, Membership

    url = next(line for line in Path(ini).read_text().splitlines() if "sqlalchemy.url" in line)
    engine = create_engine(url.split(" = ", 1)[1])
    try:
        with engine.connect() as connection:
            admins = set(
                connection.scalars(
                    select(Membership.user_id)
                    .join(Group, Group.id == Membership.group_id)
                    .where(Group.name == "admin")
                )
            )
            rows = connection.execute(select(User.id, User.email, User.password_hash)).all()
    finally:
        engine.dispose()
    return [(email, hashed, user_id in admins) for user_id, email, hashed in rows]


def test_ensure_admin_creates_one_with_a_generated_password_once(
    fresh_ini: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from argon2 import PasswordHasher

    capsys.readouterr()
    args = ["auth", "ensure-admin", fresh_ini, "--base-url", "http://localhost:6543"]
    assert main(args) == 0

    out = capsys.readouterr().out
    assert "created the admin account admin@example.com" in out
    password = next(line for line in out.splitlines() if "password:" in line).split(": ", 1)[1]
    assert len(password) >= 24
    assert "log in at http://localhost:6543/auth/login" in out
    assert "change the password at http://localhost:6543/auth/password" in out
    ((email, hashed, admin),) = fresh_users(fresh_ini)
    assert (email, admin) == ("admin@example.com", True)
    assert PasswordHasher().verify(hashed, password)

    # Idempotent: a second run changes nothing and shows no password.
    assert main(args) == 0
    again = capsys.readouterr().out
    assert again.strip() == (
        "admin account: admin@example.com (log in at http://localhost:6543/auth/login)"
    )
    assert password not in again
    assert len(fresh_users(fresh_ini)) == 1


def test_ensure_admin_takes_email_and_password_from_the_environment(
    fresh_ini: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from argon2 import PasswordHasher

    monkeypatch.setenv("PYRAMIDION_AUTH__INITIAL_ADMIN_EMAIL", "Boss@Example.org")
    monkeypatch.setenv("PYRAMIDION_AUTH__INITIAL_ADMIN_PASSWORD", STRONG)
    capsys.readouterr()

    assert main(["auth", "ensure-admin", fresh_ini]) == 0

    out = capsys.readouterr().out
    assert "created the admin account boss@example.org" in out
    assert STRONG not in out
    assert "log in at /auth/login" in out
    ((email, hashed, admin),) = fresh_users(fresh_ini)
    assert (email, admin) == ("boss@example.org", True)
    assert PasswordHasher().verify(hashed, STRONG)


def test_ensure_admin_refuses_a_weak_configured_password(
    fresh_ini: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PYRAMIDION_AUTH__INITIAL_ADMIN_PASSWORD", "qwerty123456")

    assert main(["auth", "ensure-admin", fresh_ini]) == 2

    assert "one of the most common passwords" in capsys.readouterr().err
    assert fresh_users(fresh_ini) == []


def test_ensure_admin_never_promotes_an_existing_account(
    fresh_ini: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["auth", "create-user", fresh_ini, "admin@example.com", "--password-stdin"]
    assert run(monkeypatch, args, STRONG) == 0

    assert main(["auth", "ensure-admin", fresh_ini]) == 2

    err = capsys.readouterr().err
    assert "admin@example.com (auth.initial_admin_email) already has an account" in err
    assert fresh_users(fresh_ini)[0][2] is False


def test_group_membership_commands(
    fresh_ini: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An operator puts accounts in groups and takes them out, from the shell."""
    create = ["auth", "create-user", fresh_ini, "editor@example.com", "--password-stdin"]
    assert run(monkeypatch, create, "a password nobody guesses\n") == 0
    capsys.readouterr()

    assert main(["auth", "add-to-group", fresh_ini, "Editor@Example.com", "editors"]) == 0
    assert "editor@example.com is now a member of editors" in capsys.readouterr().out
    assert main(["auth", "add-to-group", fresh_ini, "editor@example.com", "editors"]) == 0
    assert "already a member" in capsys.readouterr().out

    assert main(["auth", "list-groups", fresh_ini]) == 0
    assert "editors\t1 member" in capsys.readouterr().out
    assert main(["auth", "list-groups", fresh_ini, "editors"]) == 0
    assert "editor@example.com" in capsys.readouterr().out

    assert main(["auth", "remove-from-group", fresh_ini, "editor@example.com", "editors"]) == 0
    assert "no longer a member of editors" in capsys.readouterr().out
    assert main(["auth", "list-groups", fresh_ini]) == 0
    assert "editors\t0 members" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add-to-group", "nobody@example.com", "editors"], "there is no account for"),
        (["add-to-group", "editor@example.com", "bad name"], "cannot name a group"),
        (["remove-from-group", "editor@example.com", "editors"], "is not a member of editors"),
        (["list-groups", "nosuchgroup"], "there is no group nosuchgroup"),
    ],
)
def test_group_commands_explain_what_is_wrong(
    fresh_ini: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    create = ["auth", "create-user", fresh_ini, "editor@example.com", "--password-stdin"]
    assert run(monkeypatch, create, "a password nobody guesses\n") == 0
    capsys.readouterr()

    status = main(["auth", args[0], fresh_ini, *args[1:]])

    captured = capsys.readouterr()
    assert status != 0
    assert message in captured.err
    assert "Traceback" not in captured.err


def test_the_last_admin_cannot_be_removed_from_admin(
    fresh_ini: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["auth", "ensure-admin", fresh_ini]) == 0
    capsys.readouterr()

    status = main(["auth", "remove-from-group", fresh_ini, "admin@example.com", "admin"])

    assert status != 0
    assert "last active admin" in capsys.readouterr().err
    assert fresh_users(fresh_ini)[0][2] is True


def test_create_token_prints_a_read_token_once(
    ini: str,
    address: str,
    pyramidion_settings: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pyramidion_auth.models import ApiToken
    from pyramidion_auth.tokens import digest

    assert run(monkeypatch, ["auth", "create-user", ini, address, "--password-stdin"], STRONG) == 0
    capsys.readouterr()

    assert run(monkeypatch, ["auth", "create-token", ini, address, "backup"]) == 0
    printed = capsys.readouterr()
    assert run(monkeypatch, ["auth", "create-token", ini, address, "ci", "--scope", "write"]) == 0

    token = printed.out.strip()
    assert token.startswith("pyr_")
    assert "scope read" in printed.err
    assert token not in printed.err
    engine = create_engine(pyramidion_settings["sqlalchemy.url"])
    try:
        with engine.connect() as connection:
            scopes = dict(
                connection.execute(
                    select(ApiToken.name, ApiToken.scope)
                    .join(User, User.id == ApiToken.user_id)
                    .where(User.email == address)
                ).all()
            )
            stored = connection.execute(
                select(ApiToken.token_hash).where(ApiToken.name == "backup")
            ).scalars()
            assert digest(token) in list(stored)
    finally:
        # Commands commit for real: other tests count the tokens there are.
        with engine.begin() as connection:
            owner = select(User.id).where(User.email == address).scalar_subquery()
            connection.execute(delete(ApiToken).where(ApiToken.user_id == owner))
        engine.dispose()
    assert scopes == {"backup": "read", "ci": "write"}


def test_create_token_says_what_is_wrong(
    ini: str, address: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(monkeypatch, ["auth", "create-token", ini, address, "ci"]) == 2
    assert "there is no account" in capsys.readouterr().err
    assert run(monkeypatch, ["auth", "create-user", ini, address, "--password-stdin"], STRONG) == 0
    assert run(monkeypatch, ["auth", "create-token", ini, address, "ci", "--days", "0"]) == 2
    assert "from 1 to 3650" in capsys.readouterr().err
