"""An administrator's journey in a real browser (headless Chromium), with
axe-core run on every admin page visited: 0 serious or critical violations.

The administrator finds a user by email and deactivates them (the user's
open session stops working at once), puts another user in a group granted
only ``admin.blog.post.view`` (that user then sees the posts but no edit
button, and gets 403 on the edit page), hides three posts in one bulk
action, and, when the history is there, finds all of it in the log; then
attaches a file to a post through the upload field.

The live server commits for real: the data has unique names and is deleted
afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pyramid.router import Router
from pyramidion_admin.models import HistoryRecord
from pyramidion_admin.services import grant
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from pyramidion import get_database
from pyramidion.testing import LiveServer, axe_violations
from pyramidion_auth.accounts import create_user
from pyramidion_auth.models import Group, User
from pyramidion_blog.models import Post
from pyramidion_storage.models import StoredFile

SHOTS = "test-artifacts/screenshots"
PHONE = {"width": 360, "height": 740}


@dataclass
class Cast:
    """Who and what the journey uses, committed in the session's database."""

    tag: str
    admin: str
    leaver: str
    viewer: str
    viewer_id: int
    group: str
    titles: list[str]
    post_ids: list[int]


@pytest.fixture
def cast(pyramidion_app: Router, auth_password: str) -> Iterator[Cast]:
    registry = pyramidion_app.registry
    tag = uuid.uuid4().hex[:8]
    emails = [f"{who}-{tag}@example.com" for who in ("root", "leaver", "viewer", "author")]
    group = f"readers-{tag}"
    titles = [f"Spam {tag} {n}" for n in range(3)]
    engine = get_database(registry).engine
    with Session(engine) as session, session.begin():
        root, leaver, viewer, author = (
            create_user(
                registry,
                session,
                email=email,
                password=auth_password,
                display_name=email.split("-")[0].title(),
                admin=email.startswith("root"),
            )
            for email in emails
        )
        # The group may see posts in the admin, and nothing else.
        grant(session, group, ["admin.blog.post.view"])
        posts = [Post(author_id=author.id, title=title, body="Buy now.") for title in titles]
        session.add_all(posts)
        session.flush()
        made = Cast(
            tag,
            root.email,
            leaver.email,
            viewer.email,
            viewer.id,
            group,
            titles,
            [post.id for post in posts],
        )
    try:
        yield made
    finally:
        with Session(engine) as session, session.begin():
            # Posts and memberships go with their users (ON DELETE CASCADE),
            # grants with their group.
            session.execute(delete(HistoryRecord).where(HistoryRecord.actor_label == emails[0]))
            session.execute(delete(Post).where(Post.title.in_(titles)))
            session.execute(delete(StoredFile).where(StoredFile.filename == f"plan-{tag}.txt"))
            session.execute(delete(User).where(User.email.in_(emails)))
            session.execute(delete(Group).where(Group.name == group))


def log_in(page: Any, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/auth/login")
    page.fill('input[name="email"]', email)
    page.fill('input[name="password"]', password)
    page.click('main button[type="submit"]')
    page.wait_for_selector('[data-user-menu="name"]')


def survey(page: Any, found: dict[str, list[dict[str, Any]]], name: str) -> None:
    """Record axe-core's serious and critical violations on the page shown
    now, at a desktop's width and at a phone's (where nothing may scroll sideways)."""
    page.wait_for_load_state("load")
    problems = list(axe_violations(page))
    size = page.viewport_size
    page.set_viewport_size(PHONE)
    try:
        if page.evaluate(
            "document.documentElement.scrollWidth > document.documentElement.clientWidth"
        ):
            problems.append({"id": "horizontal-scroll", "impact": "serious", "targets": []})
        problems.extend(axe_violations(page))
    finally:
        page.set_viewport_size(size)
    found[name] = problems
    page.screenshot(path=f"{SHOTS}/admin-{len(found):02d}-{name.replace(' ', '-')}.png")


def report(found: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for name, problems in found.items():
        lines.append(f"{name}: {len(problems)}")
        lines.extend(f"    {p['id']} ({p['impact']}): {p['targets'][:3]}" for p in problems)
    return "\n".join(lines)


def test_an_administrator_deactivates_grants_and_moderates(
    pyramidion_browser: Any,
    pyramidion_page: Any,
    pyramidion_live_server: LiveServer,
    auth_password: str,
    cast: Cast,
) -> None:
    base = pyramidion_live_server.url
    page = pyramidion_page
    found: dict[str, list[dict[str, Any]]] = {}
    others = pyramidion_browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        leaver = others.new_page()
        log_in(leaver, base, cast.leaver, auth_password)
        assert leaver.goto(f"{base}/auth/account").status == 200

        # The administrator finds the user by email.
        log_in(page, base, cast.admin, auth_password)
        page.click("nav >> text=Admin")
        survey(page, found, "dashboard")
        page.goto(f"{base}/admin/auth/user/")
        survey(page, found, "users")
        page.fill("#admin-q", cast.leaver.upper())
        page.click('[data-admin="search"] button[type="submit"]')
        rows = page.locator('[data-admin="row"]')
        assert rows.count() == 1
        assert cast.leaver in rows.first.inner_text()
        survey(page, found, "users, searched")

        # Deactivates them, through the confirmation page.
        rows.first.locator('input[name="ids"]').check()
        page.select_option("#admin-action", "deactivate")
        page.click('[data-admin="run-action"]')
        assert cast.leaver in page.inner_text('[data-admin="confirm-rows"]')
        survey(page, found, "deactivate, confirm")
        page.click('[data-admin="confirm"]')
        page.wait_for_selector("text=1 user deactivated.")
        survey(page, found, "users, deactivated")

        # The user's open session has stopped working.
        leaver.goto(f"{base}/auth/account")
        assert leaver.url.startswith(f"{base}/auth/login")

        # Puts another user in the group that may see posts.
        page.goto(f"{base}/admin/auth/user/{cast.viewer_id}")
        survey(page, found, "user")
        page.click('[data-admin="object-link"]:text("Groups")')
        assert page.url == f"{base}/admin/auth/user/{cast.viewer_id}/groups"
        survey(page, found, "user's groups")
        page.check(f'input[type="checkbox"][value="{cast.group}"]')
        page.click('main button[type="submit"]')
        page.wait_for_selector(f"text=is a member of: {cast.group}")

        # The permission takes effect: posts are listed, nothing can change.
        viewer = others.new_page()
        log_in(viewer, base, cast.viewer, auth_password)
        listed = viewer.goto(f"{base}/admin/blog/post/?q=Spam+{cast.tag}")
        assert listed.status == 200
        assert viewer.locator('[data-admin="row"]').count() == 3
        assert viewer.locator('[data-admin="add"]').count() == 0
        assert viewer.locator('input[name="ids"]').count() == 0
        viewer.goto(f"{base}/admin/blog/post/{cast.post_ids[0]}")
        assert viewer.locator('[data-admin="edit"]').count() == 0
        assert viewer.goto(f"{base}/admin/blog/post/{cast.post_ids[0]}/edit").status == 403
        assert viewer.goto(f"{base}/admin/auth/user/").status == 403

        # Hides three posts in one bulk action.
        page.goto(f"{base}/admin/blog/post/?q=Spam+{cast.tag}")
        survey(page, found, "posts")
        boxes = page.locator('[data-admin="row"] input[name="ids"]')
        assert boxes.count() == 3
        for index in range(3):
            boxes.nth(index).check()
        page.select_option("#admin-action", "hide")
        page.click('[data-admin="run-action"]')
        survey(page, found, "hide, confirm")
        page.click('[data-admin="confirm"]')
        page.wait_for_selector("text=3 posts hidden")
        page.goto(f"{base}/admin/blog/post/?q=Spam+{cast.tag}&f.hidden=1")
        assert page.locator('[data-admin="row"]').count() == 3
        survey(page, found, "moderation queue")
        with Session(get_database(pyramidion_live_server.app.registry).engine) as session:
            hidden = session.scalars(select(Post.hidden).where(Post.title.in_(cast.titles)))
            assert list(hidden) == [True, True, True]

        # The history, when the admin keeps one, shows all of it.
        history = page.goto(f"{base}/admin/@@history")
        if history.status != 404:
            assert history.status == 200
            survey(page, found, "history")
            text = page.inner_text("main")
            assert cast.leaver in text
            assert cast.viewer in text
            for key in cast.post_ids:
                assert f"Post {key}" in text
            # Who changed what from what to what.
            assert "is_active" in text
            assert cast.group in text
        page.goto(f"{base}/admin/@@installed")
        survey(page, found, "installed add-ons")

        # Attaches a file to a post, and sees it on the attachment's form.
        page.goto(f"{base}/admin/blog/attachment/add")
        survey(page, found, "attachment, add")
        page.fill('input[name="post_id"]', str(cast.post_ids[0]))
        page.set_input_files(
            'input[type="file"]',
            {"name": f"plan-{cast.tag}.txt", "mimeType": "text/plain", "buffer": b"plan\n"},
        )
        page.click('main button[type="submit"]')
        page.wait_for_selector("text=added.")
        page.click('[data-admin="edit"]')
        link = page.locator('[data-admin="current-files"] a')
        assert link.inner_text() == f"plan-{cast.tag}.txt"
        survey(page, found, "attachment, edit with its file")
    finally:
        others.close()

    print("\nserious or critical axe violations per admin page:\n" + report(found))
    assert all(not problems for problems in found.values()), report(found)
