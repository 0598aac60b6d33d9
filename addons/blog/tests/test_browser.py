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
    pyramidion_page: Any, pyramidion_live_server: Any, password: str
) -> None:
    base = pyramidion_live_server.url
    address = f"reader-{uuid.uuid4().hex[:8]}@example.com"
    title = f"Field notes {uuid.uuid4().hex[:6]}"

    # Register: the account is ready and logged in at once.
    pyramidion_page.goto(f"{base}/")
    assert pyramidion_page.inner_text("main h1") == "Posts"
    pyramidion_page.click('[data-user-menu="login"]')
    pyramidion_page.click("text=Create an account")
    pyramidion_page.fill('input[name="email"]', address)
    pyramidion_page.fill('input[name="display_name"]', "Rosalind Franklin")
    pyramidion_page.fill('input[name="password"]', password)
    pyramidion_page.fill('input[name="password-confirm"]', password)
    pyramidion_page.click('main button[type="submit"]')
    pyramidion_page.wait_for_selector("text=Welcome! Your account is ready.")
    assert pyramidion_page.inner_text('[data-user-menu="name"]') == "Rosalind Franklin"
    shot(pyramidion_page, "1-registered")

    # Log out, then log in again from the post list.
    pyramidion_page.click('[data-user-menu="logout"]')
    pyramidion_page.wait_for_selector("text=You have logged out.")
    pyramidion_page.goto(f"{base}/")
    assert pyramidion_page.locator('[data-user-menu="name"]').count() == 0
    pyramidion_page.click('[data-user-menu="login"]')
    pyramidion_page.fill('input[name="email"]', address)
    pyramidion_page.fill('input[name="password"]', password)
    pyramidion_page.click('main button[type="submit"]')
    pyramidion_page.wait_for_selector('[data-user-menu="name"]')
    assert pyramidion_page.url == f"{base}/"
    shot(pyramidion_page, "2-logged-in")

    # Write a post with an attachment.
    pyramidion_page.click('[data-blog="new-post"]')
    pyramidion_page.fill('input[name="title"]', title)
    pyramidion_page.fill('textarea[name="body"]', "Photo 51 is sharp.\n\nMore tomorrow.")
    pyramidion_page.set_input_files(
        'input[name="upload"]',
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"helix, 3.4 nm\n"}],
    )
    pyramidion_page.click('main button[type="submit"]')
    pyramidion_page.wait_for_selector("text=Your post is published.")
    assert pyramidion_page.inner_text('[data-blog="post-title"]') == title
    assert pyramidion_page.inner_text('[data-blog="attachment"]') == "notes.txt"
    post_url = pyramidion_page.url
    shot(pyramidion_page, "3-published")

    # It is listed, and its file downloads.
    pyramidion_page.goto(f"{base}/")
    card = pyramidion_page.locator('[data-blog="post"]', has_text=title)
    assert card.locator('[data-blog="author"]').inner_text() == "Rosalind Franklin"
    file_url = card.locator('[data-blog="attachment"]').get_attribute("href")
    shot(pyramidion_page, "4-listed")
    download = pyramidion_page.request.get(file_url)
    assert download.status == 200
    assert download.body() == b"helix, 3.4 nm\n"

    # Edit it.
    pyramidion_page.goto(post_url)
    pyramidion_page.click('[data-blog="edit"]')
    assert pyramidion_page.input_value('input[name="title"]') == title
    pyramidion_page.fill('input[name="title"]', f"{title} (revised)")
    pyramidion_page.click('main button[type="submit"]')
    pyramidion_page.wait_for_selector("text=Your changes are saved.")
    assert pyramidion_page.inner_text('[data-blog="post-title"]') == f"{title} (revised)"
    shot(pyramidion_page, "5-edited")

    # Delete it: the post and its file are gone.
    pyramidion_page.click('[data-blog="delete"]')
    pyramidion_page.click('[data-blog="confirm-delete"]')
    pyramidion_page.wait_for_selector(f"text=The post “{title} (revised)” is deleted.")
    assert pyramidion_page.locator('[data-blog="post"]', has_text=title).count() == 0
    shot(pyramidion_page, "6-deleted")
    assert pyramidion_page.request.get(file_url).status == 404

    # Log out: the bar offers to log in again.
    pyramidion_page.click('[data-user-menu="logout"]')
    pyramidion_page.wait_for_selector("text=You have logged out.")
    pyramidion_page.goto(f"{base}/")
    assert pyramidion_page.locator('[data-user-menu="login"]').is_visible()
    assert pyramidion_page.locator('[data-blog="new-post"]').count() == 0


def test_a_missing_post_shows_a_404_page(
    pyramidion_page: Any, pyramidion_live_server: Any
) -> None:
    response = pyramidion_page.goto(f"{pyramidion_live_server.url}/posts/987654321")

    assert response.status == 404
    assert re.search("nothing at this address", pyramidion_page.inner_text("body"))
    shot(pyramidion_page, "404")
