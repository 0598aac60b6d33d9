"""Add-on descriptors are checked when they are loaded, and one broken add-on
never takes the commands of the others away."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyramidion import Addon, Command
from pyramidion.addon import DescriptorError
from pyramidion.cli import main
from tests.distributions import Distributions
from tests.inifiles import write_ini

COMMANDS = """
def arguments(parser):
    parser.add_argument("word")


def shout(request, args):
    print(args.word.upper())
"""


def run(argv: list[str]) -> int:
    """``main``'s exit status; the app factory ends a broken start with SystemExit."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def good_addon(distributions: Distributions) -> None:
    distributions.addon(
        "echo",
        preamble="from pyramidion import Command\n",
        descriptor="""
        commands=(
            Command(
                name="shout",
                help="Print a word in capitals.",
                handler="{pkg}.commands:shout",
                arguments="{pkg}.commands:arguments",
            ),
        ),
        """,
        files={"commands.py": COMMANDS},
    )


def test_arguments_accept_a_dotted_name_like_handler(
    distributions: Distributions, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good_addon(distributions)
    ini = write_ini(tmp_path, {"pyramidion.addons": "echo"})
    assert main(["db", "upgrade", ini]) == 0
    capsys.readouterr()

    assert main(["echo", "shout", ini, "hello"]) == 0

    assert capsys.readouterr().out == "HELLO\n"


@pytest.mark.parametrize(
    ("descriptor", "words"),
    [
        (
            "commands=(Command(name='x', help='x', handler='{pkg}:run', arguments=42),)",
            ["add-on 'broken'", "arguments is a int", "dotted name"],
        ),
        (
            "commands=(Command(name='x', help='x', handler='not a name'),)",
            ["add-on 'broken'", "handler = 'not a name' is not a dotted name"],
        ),
        ("title=('a', 'b'),", ["add-on 'broken'", "title is a tuple"]),
        ("settings=dict,", ["add-on 'broken'", "settings is", "@dataclass"]),
        ("route_prefix='shop',", ["add-on 'broken'", "must start with '/'", "'/shop'"]),
        ("commands=('gc',),", ["add-on 'broken'", "commands must be a tuple of"]),
        ("install=3,", ["add-on 'broken'", "install is a int"]),
    ],
)
def test_a_descriptor_field_of_the_wrong_kind_is_one_sentence_for_apps_that_enable_it(
    descriptor: str,
    words: list[str],
    distributions: Distributions,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    distributions.addon(
        "broken", preamble="from pyramidion import Command\n", descriptor=descriptor
    )
    ini = write_ini(tmp_path, {"pyramidion.addons": "broken"})

    assert run(["check", ini]) == 2

    err = capsys.readouterr().err
    assert err.startswith("pyramidion: error: add-on 'broken'")
    for word in words:
        assert word in err
    assert "Traceback" not in err


def test_a_broken_addon_does_not_break_help_or_other_addons_commands(
    distributions: Distributions, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good_addon(distributions)
    # Valid at import time, but its arguments function cannot be imported.
    distributions.addon(
        "broken",
        preamble="from pyramidion import Command\n",
        descriptor="commands=(Command(name='x', help='x', handler='{pkg}:run', "
        "arguments='{pkg}.nowhere:arguments'),)",
    )
    distributions.addon("crashes", preamble="raise RuntimeError('import failed')\n")
    ini = write_ini(tmp_path, {"pyramidion.addons": "echo"})
    assert main(["db", "upgrade", ini]) == 0
    capsys.readouterr()

    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    captured = capsys.readouterr()
    assert "echo" in captured.out
    assert "pyramidion: warning: add-on 'broken'" in captured.err
    assert "pyramidion: warning: add-on 'crashes'" in captured.err
    assert "Traceback" not in captured.err

    assert main(["echo", "shout", ini, "still"]) == 0
    assert capsys.readouterr().out == "STILL\n"

    assert main(["broken", "x", ini]) == 2
    err = capsys.readouterr().err
    assert "add-on 'broken'" in err
    assert "command 'x': arguments" in err
    assert "cannot be imported" in err


def test_descriptors_are_checked_when_they_are_made() -> None:
    with pytest.raises(DescriptorError, match="arguments is a int"):
        Command(name="x", help="x", handler="pkg:run", arguments=42)  # type: ignore[arg-type]
    with pytest.raises(DescriptorError, match=r"requires = 'auth' must be a tuple"):
        Addon(name="x", includeme="pkg:includeme", requires="auth")  # type: ignore[arg-type]
    with pytest.raises(DescriptorError, match="includeme is a int"):
        Addon(name="x", includeme=3)  # type: ignore[arg-type]
    assert Addon(name="x", includeme="pkg:includeme").requires == ()
