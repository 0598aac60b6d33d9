"""``pyramidion check``: validate without serving, then warn about deployment."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

from pyramidion.cli import main
from tests.distributions import Distributions
from tests.inifiles import write_ini

SECRET_PREAMBLE = """
from dataclasses import dataclass

from pyramidion import setting

@dataclass(frozen=True)
class PaySettings:
    api_key: str = setting("", doc="Key of the payment provider.", secret=True)
    signing_key: str = setting(
        "built-in-signing-key", doc="Signs webhooks.", secret=True, min_length=16
    )
    webhook_secret: str = setting(
        "", doc="Shared with the provider.", secret=True, min_length=32
    )
"""

pytestmark = pytest.mark.usefixtures("no_deployment_environment")


def warnings_of(out: str) -> list[str]:
    """The warning lines of check's output, without their leading dash."""
    return [line[4:] for line in out.splitlines() if line.startswith("  - ")]


def test_a_production_config_with_problems_loads_and_lists_every_warning(
    distributions: Distributions,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    distributions.addon("pay", preamble=SECRET_PREAMBLE, descriptor="settings=PaySettings,")
    distributions.addon("shop", requires=["pay"])
    ini = write_ini(
        tmp_path,
        {
            "pyramidion.addons": "shop",
            "pyramidion.environment": "production",
            "pyramid.reload_templates": "true",
            "pyramid.debug_notfound": "true",
        },
    )
    monkeypatch.setenv("PYRAMIDION_PAY__WEBHOOK_SECRET", "tiny-secret")

    assert main(["check", ini]) == 0

    out = capsys.readouterr().out
    assert out.startswith(f"{ini}: the application loads; every setting is valid.\n")
    assert (
        "Enabled add-ons, in include order:\n"
        "  pay   1.0 (pyramidion-test-pay): required by shop\n"
        "  shop  1.0 (pyramidion-test-shop): listed in pyramidion.addons\n"
    ) in out
    assert (
        "Settings taken from environment variables:\n"
        "  pay.webhook_secret <- PYRAMIDION_PAY__WEBHOOK_SECRET\n"
    ) in out
    found = warnings_of(out)
    assert found[0].startswith(
        "debugging settings are on: pyramid.debug_notfound, pyramid.reload_templates."
    )
    # An empty secret belongs to a feature not in use: no warning.
    assert not any("pay.api_key" in w for w in found)
    assert (
        "pay.signing_key still has its built-in default, which everyone can read in the "
        "add-on's source. Set your own random value (in the ini, or with the environment "
        "variable PYRAMIDION_PAY__SIGNING_KEY), for example the output of "
        "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
    ) in found
    assert (
        "pay.webhook_secret is only 11 characters long; use at least 32 random characters "
        "(it comes from the environment variable PYRAMIDION_PAY__WEBHOOK_SECRET)."
    ) in found
    assert any(
        w.startswith("pyramidion.environment is production but the database is SQLite")
        for w in found
    )
    assert any(w.startswith("pyramidion.allowed_hosts is empty") for w in found)
    assert "tiny-secret" not in out
    assert "built-in-signing-key" not in out


def test_strict_turns_warnings_into_exit_status_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ini = write_ini(tmp_path, {"pyramidion.environment": "development"})

    assert main(["check", "--strict", ini]) == 1

    out = capsys.readouterr().out
    assert "  - pyramidion.allowed_hosts is empty" in out
    assert "No add-ons are enabled (pyramidion.addons is empty).\n" in out


def test_a_clean_configuration_has_no_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ini = write_ini(
        tmp_path,
        {"pyramidion.environment": "development", "pyramidion.allowed_hosts": "localhost"},
    )
    assert main(["db", "upgrade", ini]) == 0
    capsys.readouterr()

    assert main(["check", "--strict", ini]) == 0

    assert capsys.readouterr().out.endswith("No warnings.\n")


def test_an_addon_enabled_after_the_upgrade_is_not_installed(
    distributions: Distributions, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    distributions.addon("pay")
    settings = {"pyramidion.environment": "development", "pyramidion.allowed_hosts": "localhost"}
    assert main(["db", "upgrade", write_ini(tmp_path, settings)]) == 0
    ini = write_ini(tmp_path, {**settings, "pyramidion.addons": "pay"})
    capsys.readouterr()

    assert main(["check", ini]) == 0

    assert warnings_of(capsys.readouterr().out) == [
        "add-on 'pay' is enabled but not installed in the database; run: "
        f"pyramidion addons install pay {ini}"
    ]


def test_pending_migrations_are_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ini = write_ini(
        tmp_path,
        {"pyramidion.environment": "development", "pyramidion.allowed_hosts": "localhost"},
    )

    assert main(["check", ini]) == 0

    assert warnings_of(capsys.readouterr().out) == [
        f"branch 'pyramidion' has 3 pending migration(s); run: pyramidion db upgrade {ini}"
    ]


def test_an_unreachable_database_is_a_warning_that_hides_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ini = write_ini(
        tmp_path,
        {
            "pyramidion.environment": "development",
            "pyramidion.allowed_hosts": "localhost",
            # Port 1 on the loopback interface refuses connections at once.
            "sqlalchemy.url": "postgresql+psycopg://app:hunter2@127.0.0.1:1/app",
        },
    )

    assert main(["check", ini]) == 0

    out = capsys.readouterr().out
    (warning,) = warnings_of(out)
    assert warning.startswith(
        "the database postgresql+psycopg://app:***@127.0.0.1:1/app cannot be reached: "
        "OperationalError: "
    )
    assert warning.endswith(
        "Migrations and readiness were not checked. Start the database or correct sqlalchemy.url."
    )
    assert "hunter2" not in out


def test_the_debug_toolbar_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stand-in with the toolbar's name: what matters is that it is included.
    toolbar = types.ModuleType("pyramid_debugtoolbar")
    toolbar.includeme = lambda config: None  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pyramid_debugtoolbar", toolbar)
    ini = write_ini(
        tmp_path,
        {"pyramidion.environment": "development", "pyramid.includes": "pyramid_debugtoolbar"},
    )

    assert main(["check", ini]) == 0

    assert (
        "pyramid_debugtoolbar is included: it lets anyone who reaches it run code in the "
        "server. Remove it from pyramid.includes (or pyramidion.addons) before deploying."
    ) in warnings_of(capsys.readouterr().out)


def test_an_invalid_configuration_is_one_message_and_exit_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ini = write_ini(tmp_path, {"pyramidion.environment": "staging", "pyramidion.addons": "nope"})

    with pytest.raises(SystemExit) as exited:
        main(["check", ini])

    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("pyramidion: error: invalid settings for 'pyramidion':\n")
    assert "pyramidion.environment = 'staging'" in captured.err


def test_the_console_script_reports_errors_without_a_traceback(tmp_path: Path) -> None:
    ini = write_ini(tmp_path, {"pyramidion.addons": "no_such_addon_here"})

    result = subprocess.run(
        [str(Path(sys.executable).with_name("pyramidion")), "check", ini],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(
        "pyramidion: error: pyramidion.addons names add-on 'no_such_addon_here', but no "
        "installed distribution provides it."
    )
    assert "Traceback" not in result.stderr


def test_a_missing_config_file_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(tmp_path / "nowhere.ini")]) == 2

    assert capsys.readouterr().err.startswith(
        f"pyramidion: error: config file {tmp_path / 'nowhere.ini'} does not exist: check the path"
    )
