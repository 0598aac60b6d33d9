"""The edit form with "Remove the current drawing", in headless Chromium:
0 serious or critical axe-core violations, at a desktop's width and a
phone's (where nothing may scroll sideways); ticking the box and saving
empties the drawing.

The live server commits for real: the data has unique names and is
deleted afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pyramid.router import Router
from sqlalchemy import delete
from sqlalchemy.orm import Session

from pyramidion import get_database
from pyramidion.testing import LiveServer, axe_violations
from pyramidion_auth.accounts import create_user
from pyramidion_auth.models import User
from pyramidion_storage.models import StoredFile

PHONE = {"width": 360, "height": 740}


@pytest.fixture
def seeded(pyramidion_app: Router, auth_password: str) -> Iterator[tuple[str, str, int]]:
    """An administrator, a thing and its part without a drawing; the tag
    of their names, the administrator's email and the part's id."""
    from pyramidion_admin_example.models import Part, Thing

    tag = uuid.uuid4().hex[:8]
    email = f"root-{tag}@example.com"
    engine = get_database(pyramidion_app.registry).engine
    with Session(engine) as session, session.begin():
        create_user(
            pyramidion_app.registry, session, email=email, password=auth_password, admin=True
        )
        thing = Thing(name=f"thing {tag}", code=tag)
        session.add(thing)
        session.flush()
        part = Part(thing_id=thing.id, label=f"bolt {tag}")
        session.add(part)
        session.flush()
        part_id = part.id
    try:
        yield tag, email, part_id
    finally:
        with Session(engine) as session, session.begin():
            session.execute(delete(Thing).where(Thing.name == f"thing {tag}"))
            session.execute(delete(StoredFile).where(StoredFile.filename == f"bolt-{tag}.txt"))
            session.execute(delete(User).where(User.email == email))


def violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations at a desktop's width and
    a phone's, and sideways scrolling on the phone."""
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
    return problems


def test_the_remove_checkbox_is_accessible_and_empties_the_drawing(
    pyramidion_page: Any,
    pyramidion_live_server: LiveServer,
    auth_password: str,
    seeded: tuple[str, str, int],
) -> None:
    from pyramidion_admin_example.models import Part

    tag, email, part_id = seeded
    page = pyramidion_page
    base = pyramidion_live_server.url
    page.goto(f"{base}/auth/login")
    page.fill('input[name="email"]', email)
    page.fill('input[name="password"]', auth_password)
    page.click('main button[type="submit"]')
    page.wait_for_selector('[data-user-menu="name"]')

    edit = f"{base}/admin/admintest/part/{part_id}/edit"
    page.goto(edit)
    page.set_input_files(
        'input[type="file"]',
        {"name": f"bolt-{tag}.txt", "mimeType": "text/plain", "buffer": b"bolt\n"},
    )
    page.click('main button[type="submit"]')
    page.wait_for_selector("text=saved.")
    page.goto(edit)
    checkbox = page.get_by_label("Remove the current drawing")
    assert checkbox.is_visible()
    problems = violations(page)
    print(f"\nserious or critical axe violations, part edit with a drawing: {problems}")
    assert problems == []

    checkbox.check()
    page.click('main button[type="submit"]')
    page.wait_for_selector("text=saved.")
    with Session(get_database(pyramidion_live_server.app.registry).engine) as session:
        assert session.get(Part, part_id).drawing_id is None
