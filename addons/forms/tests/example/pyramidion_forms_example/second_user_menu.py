"""Sets a second user menu, which must conflict; enable as a plain include."""

from typing import Any


def includeme(config: Any) -> None:
    config.set_user_menu(lambda request: None)
