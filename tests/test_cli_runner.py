"""What every command gets from the runner: a database that is not ready is
a sentence with the command to run, and log lines below WARNING are quiet
unless ``-v`` is given. Tested with the bundled add-ons' own commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pyramidion.cli import main
from tests.inifiles import write_ini

pytestmark = pytest.mark.usefixtures("no_deployment_environment")

BIN = Path(sys.executable).parent

LOGGING = """
[loggers]
keys = root

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = INFO
handlers = console

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)s [%(name)s] %(message)s
"""


def app_ini(tmp_path: Path, **settings: str) -> str:
    return write_ini(
        tmp_path,
        {
            "pyramidion.addons": "auth storage",
            "pyramidion.environment": "development",
            "storage.local_root": str(tmp_path / "files"),
            "auth.mail_directory": str(tmp_path / "mail"),
            **settings,
        },
    )


@pytest.mark.parametrize("command", [["auth", "list-users"], ["storage", "gc"]])
def test_addon_commands_on_an_unmigrated_database_say_what_to_run(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ini = app_ini(tmp_path)

    assert main([*command, ini]) == 2

    err = capsys.readouterr().err
    assert err.startswith(
        f"pyramidion: error: 'pyramidion {' '.join(command)}' needs the database"
    )
    assert "pending migration" in err
    assert err.rstrip().endswith(f"pyramidion db upgrade {ini}")
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_a_partly_migrated_database_names_the_branch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ini = app_ini(tmp_path)
    assert main(["db", "upgrade", ini]) == 0
    assert main(["db", "downgrade", "--addon", "storage", ini]) == 0
    capsys.readouterr()

    assert main(["storage", "gc", ini]) == 2

    err = capsys.readouterr().err
    assert "branch 'storage' has 1 pending migration(s)" in err
    assert err.rstrip().endswith(f"pyramidion db upgrade {ini}")

    assert main(["db", "upgrade", ini]) == 0
    capsys.readouterr()
    assert main(["auth", "list-users", ini]) == 0


def test_an_unreachable_database_is_a_sentence_without_its_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Port 9 (discard) has no database server: the connection is refused.
    url = "postgresql+psycopg://app:Zk8-hidden@127.0.0.1:9/app"
    ini = app_ini(tmp_path, **{"sqlalchemy.url": url, "pyramidion.db_connect_timeout": "2"})

    assert main(["auth", "list-users", ini]) == 2

    err = capsys.readouterr().err
    assert "postgresql+psycopg://app:***@127.0.0.1:9/app is unreachable" in err
    assert "start the database or correct sqlalchemy.url" in err
    assert "Zk8-hidden" not in err
    assert "Traceback" not in err


def test_informational_lines_are_shown_only_with_v(tmp_path: Path) -> None:
    ini = Path(app_ini(tmp_path))
    ini.write_text(ini.read_text() + LOGGING)

    def run(*argv: str) -> str:
        result = subprocess.run(
            [str(BIN / "pyramidion"), *argv],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stderr

    assert "add-on auth" not in run("addons", "list", str(ini))
    assert "INFO [pyramidion] add-on auth 0.1.0 (pyramidion-auth) enabled" in run(
        "addons", "list", str(ini), "-v"
    )
    assert "INFO [pyramidion] add-on auth" in run("-v", "addons", "graph", str(ini))


def test_a_server_section_using_pserve_variables_is_left_to_pserve_by_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ini = Path(app_ini(tmp_path))
    ini.write_text(ini.read_text().replace("localhost:6543", "127.0.0.1:%(http_port)s"))

    assert main(["db", "upgrade", str(ini)]) == 0
    assert main(["check", str(ini)]) == 2
    err = capsys.readouterr().err
    assert f"{ini}, [server:main] listen: %(http_port)s refers to nothing" in err
    assert "[DEFAULT] section (pserve's http_port=VALUE argument overrides it)" in err

    ini.write_text("[DEFAULT]\nhttp_port = 6543\n\n" + ini.read_text())
    assert main(["check", str(ini)]) == 0


def test_a_file_that_cannot_be_read_is_a_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    # Tests may run as root, who reads any file; /proc/self/mem refuses
    # a read from its start whoever asks.
    assert main(["check", "/proc/self/mem"]) == 2

    err = capsys.readouterr().err
    assert err.startswith("pyramidion: error: config file /proc/self/mem cannot be read (")
    assert "give the user running this command read access to it" in err
