"""The docs that are generated from code must match the code."""

from __future__ import annotations

from pathlib import Path

from pyramidion.cli.settings import format_markdown, installed_settings

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_the_settings_page_is_up_to_date() -> None:
    expected = format_markdown(installed_settings())
    actual = (DOCS / "settings.md").read_text()
    assert actual == expected, (
        "docs/settings.md is out of date; regenerate it with "
        "`pyramidion settings --all-installed --format markdown > docs/settings.md`"
    )
