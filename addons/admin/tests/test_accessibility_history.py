"""The dashboard and the history pages as a browser shows them: no serious
or critical axe-core violation, nothing wider than a phone, reachable from
the keyboard. The violations found are printed per page (run with ``-s``)."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pyramid.router import Router
from pyramidion_admin.models import HistoryRecord
from sqlalchemy import delete
from sqlalchemy.orm import Session

from pyramidion import get_database
from pyramidion.testing import LiveServer, axe_violations

PHONE = {"width": 360, "height": 740}


def survey(page: Any, found: dict[str, list[dict[str, Any]]], name: str) -> None:
    page.wait_for_load_state("load")
    problems = list(axe_violations(page))
    size = page.viewport_size
    page.set_viewport_size(PHONE)
    try:
        if page.evaluate(
            "document.documentElement.scrollWidth > document.documentElement.clientWidth"
        ):
            problems.append({"id": "horizontal-scroll", "impact": "serious", "targets": []})
    finally:
        page.set_viewport_size(size)
    found[name] = problems


def report(found: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for name, problems in found.items():
        lines.append(f"{name}: {len(problems)}")
        lines.extend(f"    {p['id']} ({p['impact']}): {p['targets'][:3]}" for p in problems)
    return "\n".join(lines)


@pytest.fixture
def operator(pyramidion_app: Router, auth_password: str) -> Iterator[tuple[str, str]]:
    """An admin and a history record, committed for the live server (which
    uses the session's database), removed afterwards: (email, object pk)."""
    from pyramidion_auth.accounts import create_user
    from pyramidion_auth.models import User

    engine = get_database(pyramidion_app.registry).engine
    email = f"a11y-{uuid.uuid4().hex[:8]}@example.com"
    pk = uuid.uuid4().hex[:8]
    with Session(engine) as session, session.begin():
        user = create_user(
            pyramidion_app.registry, session, email=email, password=auth_password, admin=True
        )
        session.add(
            HistoryRecord(
                at=datetime.datetime(2026, 3, 10, 9, 0),
                actor_id=user.id,
                actor_label=email,
                addon="admintest",
                model="thing",
                object_pk=pk,
                object_repr="A long object label that must wrap on a phone screen",
                action="change",
                changes={"name": ["before", "after"], "secret_token": "(changed)"},
                message="Accessible record",
            )
        )
    yield email, pk
    with Session(engine) as session, session.begin():
        session.execute(delete(HistoryRecord).where(HistoryRecord.object_pk == pk))
        session.execute(delete(User).where(User.email == email))


def test_the_dashboard_and_history_pages_are_accessible(
    pyramidion_page: Any,
    pyramidion_live_server: LiveServer,
    auth_password: str,
    operator: tuple[str, str],
) -> None:
    page = pyramidion_page
    base = pyramidion_live_server.url
    email, pk = operator
    found: dict[str, list[dict[str, Any]]] = {}
    page.goto(base + "/auth/login")
    page.fill('input[name="email"]', email)
    page.fill('input[name="password"]', auth_password)
    page.click('main button[type="submit"]')
    page.wait_for_url(lambda url: "/auth/login" not in url)

    page.goto(base + "/admin/")
    page.wait_for_selector("[data-admin=health]")
    survey(page, found, "dashboard")
    page.goto(base + "/admin/@@history")
    survey(page, found, "history")
    # The filters work from the keyboard alone, without JavaScript.
    page.focus("#history-actor")
    page.keyboard.type(email)
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-admin=history-record]")
    assert page.url.startswith(base + "/admin/@@history?actor=")
    survey(page, found, "history, filtered")
    page.goto(base + f"/admin/@@history?model=admintest.thing&object={pk}")
    survey(page, found, "history of a deleted object")

    print("\nserious or critical axe violations per page:\n" + report(found))
    assert all(not problems for problems in found.values()), report(found)
