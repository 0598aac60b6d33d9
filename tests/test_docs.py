"""The docs that are generated from code must match the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"
#: The console script installed beside this interpreter.
PYRAMIDION = str(Path(sys.executable).parent / "pyramidion")


def test_the_settings_page_is_up_to_date() -> None:
    # The command the page is made with, in a process of its own: the example
    # add-ons other tests install into this one are not part of the page.
    generated = subprocess.run(
        [PYRAMIDION, "settings", "--all-installed", "--format", "markdown"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    expected = generated.stdout
    actual = (DOCS / "settings.md").read_text()
    assert actual == expected, (
        "docs/settings.md is out of date; regenerate it with "
        "`pyramidion settings --all-installed --format markdown > docs/settings.md`"
    )
