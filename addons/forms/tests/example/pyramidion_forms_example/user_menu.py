"""A user menu from the ``X-User`` header, as an authentication add-on would
set one; enable as a plain include."""

from typing import Any

from pyramidion_forms import UserMenu


def menu(request: Any) -> UserMenu:
    name = request.headers.get("X-User")
    if not name:
        return UserMenu(None, login_url="/signin")
    return UserMenu(name, logout_url="/signout", account_url=f"/people/{name}")


def includeme(config: Any) -> None:
    config.set_user_menu(menu)
