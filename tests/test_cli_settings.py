"""``pyramidion settings``: every setting, its value and where it came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyramidion.cli import main
from tests.distributions import Distributions
from tests.inifiles import write_ini

SETTINGS_PREAMBLE = """
from dataclasses import dataclass
from typing import Literal

from pyramidion import setting


@dataclass(frozen=True)
class BlogSettings:
    title: str = setting(doc="Shown in the page header.")
    per_page: int = setting(20, doc="Posts on one page.", min=1)
    api_key: str = setting("", doc="Key for the spam checker.", secret=True)
    mode: Literal["draft", "live"] = setting("draft", doc="Either draft | live.")
"""

SECRET = "sk-live-0123456789abcdef0123456789abcdef"

pytestmark = pytest.mark.usefixtures("no_deployment_environment")


@pytest.fixture
def blog_ini(distributions: Distributions, tmp_path: Path) -> str:
    distributions.addon("blog", preamble=SETTINGS_PREAMBLE, descriptor="settings=BlogSettings,")
    return write_ini(
        tmp_path,
        {
            "pyramidion.addons": "blog",
            "pyramidion.environment": "development",
            "blog.per_page": "50",
            "blog.title": "Notes",
        },
    )


def test_lists_each_setting_with_its_value_and_source(
    blog_ini: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYRAMIDION_BLOG__API_KEY", SECRET)

    assert main(["settings", blog_ini]) == 0

    out = capsys.readouterr().out
    assert out.index("Pyramidion core") < out.index("Add-on blog (pyramidion-test-blog 1.0)")
    assert (
        "  pyramidion.environment  (Literal['development', 'production'])\n"
        "    default: production\n"
        "    current: development  [from ini]\n"
        "    env:     PYRAMIDION_ENVIRONMENT\n"
    ) in out
    assert (
        "  blog.per_page  (int)\n"
        "    default: 20\n"
        "    current: 50  [from ini]\n"
        "    env:     PYRAMIDION_BLOG__PER_PAGE\n"
        "    Posts on one page.\n"
    ) in out
    assert (
        "  blog.api_key  (str, secret)\n"
        "    default: (empty)\n"
        "    current: ********  [from PYRAMIDION_BLOG__API_KEY]\n"
    ) in out
    assert "  blog.title  (str, required)\n    current: Notes  [from ini]\n" in out
    assert (
        "  blog.mode  (Literal['draft', 'live'])\n    default: draft\n    current: draft\n" in out
    )
    assert "  blog.route_prefix  (str)\n    default: /blog\n    current: /blog\n" in out
    assert SECRET not in out


def test_markdown_documents_settings_without_values(
    blog_ini: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYRAMIDION_BLOG__API_KEY", SECRET)

    assert main(["settings", blog_ini, "--format", "markdown"]) == 0

    out = capsys.readouterr().out
    assert out.startswith("# Settings\n")
    assert "## Add-on blog (pyramidion-test-blog 1.0)\n" in out
    assert (
        "| `blog.per_page` | `int` | `20` | `PYRAMIDION_BLOG__PER_PAGE` | Posts on one page. |"
    ) in out
    # A pipe in a type or a description would split the table cell.
    assert (
        "| `blog.mode` | `Literal['draft', 'live']` | `draft` | `PYRAMIDION_BLOG__MODE` "
        "| Either draft \\| live. |"
    ) in out
    assert "| `pyramidion.overrides` | `str \\| None` | *empty* |" in out
    assert "| `blog.title` | `str` | *required* |" in out
    assert "| Key for the spam checker. *(secret)* |" in out
    assert "Notes" not in out
    assert "`50`" not in out
    assert SECRET not in out


def test_all_installed_describes_addons_no_app_enables(
    distributions: Distributions, capsys: pytest.CaptureFixture[str]
) -> None:
    distributions.addon("blog", preamble=SETTINGS_PREAMBLE, descriptor="settings=BlogSettings,")
    distributions.addon("gallery")

    assert main(["settings", "--all-installed"]) == 0

    out = capsys.readouterr().out
    assert "Add-on blog (pyramidion-test-blog 1.0)" in out
    assert "  blog.title  (str, required)\n    env:     PYRAMIDION_BLOG__TITLE\n" in out
    assert "Add-on gallery (pyramidion-test-gallery 1.0)" in out
    assert "  gallery.route_prefix  (str)\n    default: /gallery\n" in out
    assert "current:" not in out


def test_all_installed_stops_at_an_addon_that_cannot_be_imported(
    distributions: Distributions, capsys: pytest.CaptureFixture[str]
) -> None:
    distributions.addon("broken", preamble="import no_such_module_anywhere")

    assert main(["settings", "--all-installed"]) == 2

    err = capsys.readouterr().err
    assert err.startswith(
        "pyramidion: error: add-on 'broken' (distribution pyramidion-test-broken"
    )
    assert "No module named 'no_such_module_anywhere'" in err


@pytest.mark.parametrize("extra", [[], ["--all-installed"]])
def test_needs_exactly_one_of_config_and_all_installed(
    extra: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["settings", *extra]
    if extra:
        args.insert(1, write_ini(tmp_path, {}))

    assert main(args) == 2

    assert capsys.readouterr().err == (
        "pyramidion: error: give either CONFIG (the settings of the app that ini "
        "configures, with their values) or --all-installed (the settings of every "
        "installed add-on), not both and not neither.\n"
    )
