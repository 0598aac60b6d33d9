"""Commands contributed by add-ons: ``pyramidion ADDON COMMAND CONFIG ...``.

The core bootstraps the ini, runs the handler inside ``request.tm`` and
commits only when it succeeds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from pyramidion.cli import main
from tests.distributions import Distributions

COMMANDS = """
from sqlalchemy import text


def arguments(parser):
    parser.add_argument("word", help="the word to store")
    parser.add_argument("--fail", action="store_true", help="raise after writing")


def store(request, args):
    request.dbsession.execute(
        text("INSERT INTO {table} (word) VALUES (:word)"), {"word": args.word}
    )
    if args.fail:
        raise RuntimeError("failed after writing")
    print(f"stored {args.word}")
    return 0
"""

DESCRIPTOR = """
title="Stores words",
commands=(
    Command(
        name="store",
        help="Store a word in the words table.",
        handler="{pkg}.commands:store",
        arguments=arguments,
    ),
),
"""


@pytest.fixture
def words(distributions: Distributions, tmp_path: Path) -> tuple[str, str]:
    """A ``words`` add-on with a ``store`` command, and an ini enabling it."""
    table = distributions.table("words", "entries")
    distributions.addon(
        "words",
        preamble="from pyramidion import Command\nfrom .commands import arguments\n",
        descriptor=DESCRIPTOR,
        files={"commands.py": COMMANDS.replace("{table}", table)},
    )
    database = tmp_path / "words.sqlite"
    engine = create_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.execute(text(f"CREATE TABLE {table} (word TEXT)"))
    engine.dispose()
    ini = tmp_path / "app.ini"
    ini.write_text(
        "[app:main]\nuse = egg:pyramidion-core\npyramidion.addons = words\n"
        "pyramidion.environment = development\n"
        f"sqlalchemy.url = sqlite:///{database}\n"
    )
    return str(ini), table


def stored(ini: str, table: str) -> list[str]:
    database = Path(ini).parent / "words.sqlite"
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        rows = connection.execute(text(f"SELECT word FROM {table}")).scalars().all()
    engine.dispose()
    return list(rows)


def test_an_addon_command_runs_and_commits(
    words: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    ini, table = words
    assert main(["words", "store", ini, "hello"]) == 0
    assert "stored hello" in capsys.readouterr().out
    assert stored(ini, table) == ["hello"]


def test_a_failing_addon_command_commits_nothing(
    words: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    ini, table = words
    with pytest.raises(RuntimeError, match="failed after writing"):
        main(["words", "store", ini, "lost", "--fail"])
    assert stored(ini, table) == []


def test_addon_commands_are_listed_in_help(
    words: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["words", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "store" in out
    assert "Store a word in the words table." in out


def test_a_command_of_an_addon_that_is_not_enabled_is_refused(
    words: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ini, _table = words
    other = tmp_path / "other.ini"
    other.write_text(Path(ini).read_text().replace("pyramidion.addons = words", ""))
    assert main(["words", "store", str(other), "hello"]) == 2
    err = capsys.readouterr().err
    assert "add-on 'words' is installed but not enabled in" in err
    assert "add it to pyramidion.addons" in err


def test_a_missing_config_file_is_one_sentence(
    words: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.ini"
    assert main(["words", "store", str(missing), "hello"]) == 2
    assert (
        capsys.readouterr().err == f"pyramidion: error: config file '{missing}' does not exist\n"
    )
