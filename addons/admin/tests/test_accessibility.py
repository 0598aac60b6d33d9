"""The admin's pages as a browser shows them: no serious or critical
axe-core violation, and no sideways scrolling on a phone.

The violations found are printed per page (run with ``-s`` to see them)
before the test asserts there are none.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pyramid.router import Router
from sqlalchemy import delete

from pyramidion import get_database
from pyramidion.testing import LiveServer, axe_violations

PHONE = {"width": 360, "height": 740}


def report(found: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for name, problems in found.items():
        lines.append(f"{name}: {len(problems)}")
        lines.extend(f"    {p['id']} ({p['impact']}): {p['targets'][:3]}" for p in problems)
    return "\n".join(lines)


@pytest.fixture
def seeded(pyramidion_app: Router, auth_password: str) -> Iterator[tuple[str, str]]:
    """An administrator and a few things, committed for the live server;
    deleted afterwards."""
    from pyramidion_admin_example.models import Part, Thing

    from pyramidion_auth.accounts import create_user
    from pyramidion_auth.models import User

    marker = uuid.uuid4().hex[:8]
    email = f"a11y-{marker}@example.com"
    database = get_database(pyramidion_app.registry)
    session = database.session_factory()
    admin = create_user(
        pyramidion_app.registry, session, email=email, password=auth_password, admin=True
    )
    things = [
        Thing(name=f"{marker} {i}", created_at=datetime.datetime(2026, 1, 1), owner_id=admin.id)
        for i in range(3)
    ]
    session.add_all(things)
    session.flush()
    part = Part(thing_id=things[0].id, label="bolt", drawing_id=7)
    session.add(part)
    session.flush()
    first, part_id = things[0].id, part.id
    session.commit()
    session.close()
    try:
        yield email, str(first), str(part_id)
    finally:
        with database.engine.begin() as connection:
            connection.execute(delete(Thing).where(Thing.name.startswith(marker)))
            connection.execute(delete(User).where(User.email == email))


def test_every_admin_page_is_accessible(
    pyramidion_page: Any,
    pyramidion_live_server: LiveServer,
    auth_password: str,
    seeded: tuple[str, str, str],
) -> None:
    email, thing, part = seeded
    page = pyramidion_page
    base = pyramidion_live_server.url
    found: dict[str, list[dict[str, Any]]] = {}

    def survey(name: str) -> None:
        page.wait_for_load_state("load")
        found[name] = list(axe_violations(page))
        size = page.viewport_size
        page.set_viewport_size(PHONE)
        try:
            if page.evaluate(
                "document.documentElement.scrollWidth > document.documentElement.clientWidth"
            ):
                found[name].append({"id": "horizontal-scroll", "impact": "serious", "targets": []})
        finally:
            page.set_viewport_size(size)

    def visit(name: str, url: str) -> None:
        page.goto(base + url)
        survey(name)

    page.goto(base + "/auth/login?came_from=/admin/")
    page.fill('input[name="email"]', email)
    page.fill('input[name="password"]', auth_password)
    page.click('main button[type="submit"]')
    page.wait_for_selector('[data-user-menu="name"]')

    things = "/admin/admintest/thing/"
    visit("dashboard", "/admin/")
    visit("add-on", "/admin/admintest/")
    visit("list", things)
    visit("list, filtered", things + "?q=a&f.active=1&f.created_at.from=2025-01-01&f.owner=a11y")
    visit("object", things + thing)
    visit("edit", things + thing + "/edit")
    page.fill('input[name="name"]', "x" * 101)
    page.click('main button[type="submit"]')
    page.wait_for_selector('[aria-invalid="true"], .is-invalid, .invalid-feedback')
    survey("edit, with errors")
    visit("add", things + "add")
    visit("edit, a read-only file field", f"/admin/admintest/part/{part}/edit")
    visit("delete", things + thing + "/delete")
    page.goto(base + things)
    page.check(f'input[name="ids"][value="{thing}"]')
    page.select_option("#admin-action", "deactivate")
    page.click('[data-admin="run-action"]')
    page.wait_for_selector('[data-admin="confirm-rows"]')
    survey("bulk action, confirm")
    visit("bad input", things + "?f.created_at.from=yesterday")

    print("\nserious or critical axe violations per page:\n" + report(found))
    assert all(not problems for problems in found.values()), report(found)
