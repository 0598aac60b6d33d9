"""Claims a navigation entry formstest already has; enable as a plain include."""

from typing import Any


def includeme(config: Any) -> None:
    config.add_nav_item("formstest.contact", "Write to us", url="/elsewhere")
