"""Every page of the demo, as a browser shows it: standards mode, no serious
or critical axe-core violation, usable from the keyboard and on a phone.

Pages are visited logged out and logged in, and with forms showing their
validation errors. The violations found are printed per page (run with
``-s`` to see them) before the test asserts there are none.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pyramid.router import Router
from sqlalchemy import delete, select

from pyramidion import get_database
from pyramidion.testing import LiveServer, axe_violations
from pyramidion_blog.models import Attachment, Post
from pyramidion_storage.models import StoredFile

PHONE = {"width": 360, "height": 740}


def survey(page: Any, found: dict[str, list[dict[str, Any]]], name: str) -> None:
    """Check the page the browser shows now, and record what axe finds."""
    page.wait_for_load_state("load")
    problems = list(axe_violations(page))
    if page.evaluate("document.compatMode") != "CSS1Compat":
        problems.append({"id": "quirks-mode", "impact": "serious", "targets": []})
    # The first thing the keyboard reaches is the skip link, which shows
    # itself when focused; the next Tab's focus is visible too.
    page.evaluate(
        "document.querySelector('a[href], button, input:not([type=hidden]), select,"
        ' textarea, [tabindex]:not([tabindex="-1"])\').focus()'
    )
    skip = page.evaluate(
        "(() => { const e = document.activeElement, r = e.getBoundingClientRect();"
        " return {href: e.getAttribute('href'), visible: r.width > 1 && r.height > 1}; })()"
    )
    page.keyboard.press("Tab")
    ring = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    if skip != {"href": "#content", "visible": True} or ring == "none":
        problems.append({"id": "keyboard", "impact": "serious", "targets": [str(skip), ring]})
    found[name] = problems


def survey_on_phone(page: Any, found: dict[str, list[dict[str, Any]]], name: str) -> None:
    """The page at a phone's width scrolls only vertically."""
    size = page.viewport_size
    page.set_viewport_size(PHONE)
    try:
        wide = page.evaluate(
            "document.documentElement.scrollWidth > document.documentElement.clientWidth"
        )
        if wide:
            found[name].append({"id": "horizontal-scroll", "impact": "serious", "targets": []})
    finally:
        page.set_viewport_size(size)


def report(found: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for name, problems in found.items():
        lines.append(f"{name}: {len(problems)}")
        lines.extend(f"    {p['id']} ({p['impact']}): {p['targets'][:3]}" for p in problems)
    return "\n".join(lines)


@pytest.fixture
def title(pyramidion_app: Router) -> Iterator[str]:
    """A unique post title; the live server commits for real, and other
    tests count posts, so the post is deleted afterwards."""
    made = f"Accessible {uuid.uuid4().hex[:8]}"
    yield made
    with get_database(pyramidion_app.registry).engine.begin() as connection:
        posts = select(Post.id).where(Post.title == made).scalar_subquery()
        files = select(Attachment.file_id).where(Attachment.post_id.in_(posts))
        file_ids = list(connection.scalars(files))
        connection.execute(delete(Attachment).where(Attachment.post_id.in_(posts)))
        connection.execute(delete(StoredFile).where(StoredFile.id.in_(file_ids)))
        connection.execute(delete(Post).where(Post.title == made))


def test_every_page_is_accessible_logged_out_and_in(
    pyramidion_page: Any, pyramidion_live_server: LiveServer, auth_password: str, title: str
) -> None:
    page = pyramidion_page
    live_server = pyramidion_live_server
    base = live_server.url
    found: dict[str, list[dict[str, Any]]] = {}

    def visit(name: str, url: str) -> None:
        page.goto(base + url)
        survey(page, found, name)
        survey_on_phone(page, found, name)

    # Logged out.
    visit("posts", "/")
    visit("log in", "/auth/login")
    page.fill('input[name="email"]', "nobody@example.com")
    page.fill('input[name="password"]', "not the password")
    page.click('main button[type="submit"]')
    survey(page, found, "log in, refused")
    visit("register", "/auth/register")
    page.fill('input[name="email"]', "someone@example.com")
    page.fill('input[name="display_name"]', "Grace Hopper")
    page.fill('input[name="password"]', "short")
    page.fill('input[name="password-confirm"]', "other")
    page.click('main button[type="submit"]')
    page.wait_for_selector('[aria-invalid="true"]')
    survey(page, found, "register, with errors")
    visit("password reset", "/auth/reset")
    visit("not found", "/no/such/page")

    # Register, then log in.
    address = f"a11y-{uuid.uuid4().hex[:8]}@example.com"
    page.goto(base + "/auth/register")
    page.fill('input[name="email"]', address)
    page.fill('input[name="display_name"]', "Grace Hopper")
    page.fill('input[name="password"]', auth_password)
    page.fill('input[name="password-confirm"]', auth_password)
    page.click('main button[type="submit"]')
    page.wait_for_selector("text=If this address had no account, it has one now")
    survey(page, found, "registered")
    page.fill('input[name="email"]', address)
    page.fill('input[name="password"]', auth_password)
    page.click('main button[type="submit"]')
    page.wait_for_selector('[data-user-menu="name"]')

    visit("posts, logged in", "/")
    visit("new post", "/posts/new")
    # A title too long is refused by the server (the browser checks only
    # that fields are filled in), with the chosen file kept.
    page.fill('input[name="title"]', "x" * 201)
    page.fill('textarea[name="body"]', "Plain words.")
    page.set_input_files(
        'input[name="upload"]',
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"notes\n"}],
    )
    page.click('main button[type="submit"]')
    assert page.inner_text('[data-upload="kept"]').startswith("Kept: notes.txt.")
    survey(page, found, "new post, with errors")
    page.fill('input[name="title"]', title)
    page.click('main button[type="submit"]')
    page.wait_for_selector('[data-blog="post-title"]')
    # The file chosen before the refusal was kept, and is attached.
    assert page.inner_text('[data-blog="attachment"]') == "notes.txt"
    post_url = page.url.removeprefix(base)
    survey(page, found, "post")
    survey_on_phone(page, found, "post")
    visit("edit post", post_url + "/edit")
    visit("delete post", post_url + "/delete")
    visit("account", "/auth/account")
    visit("change password", "/auth/password")
    visit("tokens", "/auth/tokens")
    visit("not found, logged in", "/posts/987654321")

    print("\nserious or critical axe violations per page:\n" + report(found))
    assert all(not problems for problems in found.values()), report(found)
