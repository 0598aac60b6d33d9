"""In a real browser: log in, see your name, log out."""

from __future__ import annotations

import uuid
from typing import Any

from pyramidion import get_database
from pyramidion_auth.services import create_user


def test_log_in_see_name_log_out(
    pyramidion_page: Any, pyramidion_live_server: Any, password: str
) -> None:
    address = f"browser-{uuid.uuid4().hex[:8]}@example.com"
    registry = pyramidion_live_server.app.registry
    # The live server commits for real, so the user is committed too.
    with get_database(registry).session_factory.begin() as session:
        create_user(
            registry, session, email=address, password=password, display_name="Katherine Johnson"
        )

    pyramidion_page.goto(f"{pyramidion_live_server.url}/auth/account")
    pyramidion_page.fill('input[name="email"]', address)
    pyramidion_page.fill('input[name="password"]', password)
    pyramidion_page.click('button[type="submit"]')

    pyramidion_page.wait_for_selector('[data-user-menu="name"]')
    assert pyramidion_page.inner_text('[data-user-menu="name"]') == "Katherine Johnson"
    assert pyramidion_page.url == f"{pyramidion_live_server.url}/auth/account"
    pyramidion_page.screenshot(
        path="test-artifacts/screenshots/auth-logged-in.png", full_page=True
    )

    pyramidion_page.click('[data-user-menu="logout"]')
    pyramidion_page.wait_for_selector("text=You have logged out.")
    assert pyramidion_page.locator('[data-user-menu="name"]').count() == 0
    pyramidion_page.goto(f"{pyramidion_live_server.url}/auth/account")
    assert "/auth/login" in pyramidion_page.url
