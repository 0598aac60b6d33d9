"""The demo's main journeys in a real browser (headless Chromium), with a
screenshot of each step kept in test-artifacts/screenshots/."""

from __future__ import annotations

import re
import uuid
from typing import Any

SHOTS = "test-artifacts/screenshots"


def shot(page: Any, name: str) -> None:
    page.screenshot(path=f"{SHOTS}/blog-{name}.png", full_page=True)


def test_register_log_in_post_download_edit_delete_log_out(
    page: Any, live_server: Any, auth_password: str
) -> None:
    base = live_server.url
    address = f"reader-{uuid.uuid4().hex[:8]}@example.com"
    title = f"Field notes {uuid.uuid4().hex[:6]}"

    # Register, then log in.
    page.goto(f"{base}/")
    assert page.inner_text("main h1") == "Posts"
    page.click('[data-user-menu="login"]')
    page.click("text=Create an account")
    page.fill('input[name="email"]', address)
    page.fill('input[name="display_name"]', "Rosalind Franklin")
    page.fill('input[name="password"]', auth_password)
    page.fill('input[name="password-confirm"]', auth_password)
    page.click('main button[type="submit"]')
    # The same answer whether or not the address had an account: log in.
    page.wait_for_selector("text=If this address had no account, it has one now")
    page.fill('input[name="email"]', address)
    page.fill('input[name="password"]', auth_password)
    page.click('main button[type="submit"]')
    page.wait_for_selector('[data-user-menu="name"]')
    assert page.inner_text('[data-user-menu="name"]') == "Rosalind Franklin"
    shot(page, "1-registered")

    # Log out, then log in again from the post list.
    page.click('[data-user-menu="logout"]')
    page.wait_for_selector("text=You have logged out.")
    page.goto(f"{base}/")
    assert page.locator('[data-user-menu="name"]').count() == 0
    page.click('[data-user-menu="login"]')
    page.fill('input[name="email"]', address)
    page.fill('input[name="password"]', auth_password)
    page.click('main button[type="submit"]')
    page.wait_for_selector('[data-user-menu="name"]')
    assert page.url == f"{base}/"
    shot(page, "2-logged-in")

    # Write a post with an attachment.
    page.click('[data-blog="new-post"]')
    page.fill('input[name="title"]', title)
    page.fill('textarea[name="body"]', "Photo 51 is sharp.\n\nMore tomorrow.")
    page.set_input_files(
        'input[name="upload"]',
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"helix, 3.4 nm\n"}],
    )
    page.click('main button[type="submit"]')
    page.wait_for_selector("text=Your post is published.")
    assert page.inner_text('[data-blog="post-title"]') == title
    assert page.inner_text('[data-blog="attachment"]') == "notes.txt"
    post_url = page.url
    shot(page, "3-published")

    # It is listed, and its file downloads.
    page.goto(f"{base}/")
    card = page.locator('[data-blog="post"]', has_text=title)
    assert card.locator('[data-blog="author"]').inner_text() == "Rosalind Franklin"
    file_url = card.locator('[data-blog="attachment"]').get_attribute("href")
    shot(page, "4-listed")
    download = page.request.get(file_url)
    assert download.status == 200
    assert download.body() == b"helix, 3.4 nm\n"

    # Edit it.
    page.goto(post_url)
    page.click('[data-blog="edit"]')
    assert page.input_value('input[name="title"]') == title
    page.fill('input[name="title"]', f"{title} (revised)")
    page.click('main button[type="submit"]')
    page.wait_for_selector("text=Your changes are saved.")
    assert page.inner_text('[data-blog="post-title"]') == f"{title} (revised)"
    shot(page, "5-edited")

    # Delete it: the post and its file are gone.
    page.click('[data-blog="delete"]')
    page.click('[data-blog="confirm-delete"]')
    page.wait_for_selector(f"text=The post “{title} (revised)” is deleted.")
    assert page.locator('[data-blog="post"]', has_text=title).count() == 0
    shot(page, "6-deleted")
    assert page.request.get(file_url).status == 404

    # Log out: the bar offers to log in again.
    page.click('[data-user-menu="logout"]')
    page.wait_for_selector("text=You have logged out.")
    page.goto(f"{base}/")
    assert page.locator('[data-user-menu="login"]').is_visible()
    assert page.locator('[data-blog="new-post"]').count() == 0


def test_a_missing_post_shows_a_404_page(page: Any, live_server: Any) -> None:
    response = page.goto(f"{live_server.url}/posts/987654321")

    assert response.status == 404
    assert re.search("nothing at this address", page.inner_text("body"))
    shot(page, "404")
