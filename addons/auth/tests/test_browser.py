"""In a real browser: log in, see your name, log out."""

from __future__ import annotations

import uuid
from typing import Any

from pyramidion import get_database
from pyramidion_auth.services import create_user


def test_log_in_see_name_log_out(page: Any, live_server: Any, password: str) -> None:
    address = f"browser-{uuid.uuid4().hex[:8]}@example.com"
    registry = live_server.app.registry
    # The live server commits for real, so the user is committed too.
    with get_database(registry).session_factory.begin() as session:
        create_user(
            registry, session, email=address, password=password, display_name="Katherine Johnson"
        )

    page.goto(f"{live_server.url}/auth/account")
    page.fill('input[name="email"]', address)
    page.fill('input[name="password"]', password)
    page.click('button[type="submit"]')

    page.wait_for_selector('[data-user-menu="name"]')
    assert page.inner_text('[data-user-menu="name"]') == "Katherine Johnson"
    assert page.url == f"{live_server.url}/auth/account"
    page.screenshot(path="test-artifacts/screenshots/auth-logged-in.png", full_page=True)

    page.click('[data-user-menu="logout"]')
    page.wait_for_selector("text=You have logged out.")
    assert page.locator('[data-user-menu="name"]').count() == 0
    page.goto(f"{live_server.url}/auth/account")
    assert "/auth/login" in page.url
