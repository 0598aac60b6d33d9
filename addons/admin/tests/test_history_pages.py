"""The site-wide log (``/admin/@@history``) and an object's history page."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from pyramidion_admin.history import CHANGED
from pyramidion_admin.models import HistoryRecord
from sqlalchemy.orm import Session

from pyramidion_auth.models import User

AddRecord = Callable[..., HistoryRecord]
DAY = datetime.datetime(2026, 3, 10, 9, 0)


@pytest.fixture
def add_record(dbsession: Session, tm: Any) -> AddRecord:
    """``add_record(actor=None, **columns)``: a committed history record of a thing."""
    counter = iter(range(1, 10_000))

    def add(actor: User | None = None, **columns: Any) -> HistoryRecord:
        n = next(counter)
        values: dict[str, Any] = {
            "at": DAY + datetime.timedelta(minutes=n),
            "actor_id": None if actor is None else actor.id,
            "actor_label": "" if actor is None else actor.email,
            "addon": "admintest",
            "model": "thing",
            "object_pk": str(n),
            "object_repr": f"thing {n}",
            "action": "change",
            "changes": {"name": [f"old {n}", f"new {n}"]},
            **columns,
        }
        record = HistoryRecord(**values)
        dbsession.add(record)
        dbsession.flush()
        tm.commit()
        return record

    return add


def shown(page: Any) -> list[str]:
    return [
        a.text.strip() for a in page.html.select("[data-admin=history-record] [data-admin=object]")
    ]


def test_the_log_shows_who_did_what_with_the_changed_fields(
    testapp: Any, auth_make_user: Any, auth_logged_in: Any, add_record: AddRecord
) -> None:
    admin = auth_make_user("Root", admin=True)
    add_record(admin, object_repr="Spanner", changes={"name": ["Wrench", "Spanner"]})
    add_record(admin, object_repr="Hidden", changes={"secret_token": CHANGED})
    add_record(admin, object_repr="Saved as it was", changes={})
    auth_logged_in(testapp, admin)

    page = testapp.get("/admin/@@history")

    assert shown(page) == ["Saved as it was", "Hidden", "Spanner"]  # newest first
    assert "No fields changed." in page.html.select("[data-admin=history-record]")[0].text
    rows = page.html.select("[data-admin=history-record]")[1:]
    assert rows[1].select_one("[data-admin=actor]").text == admin.email
    change = rows[1].select_one("[data-admin=change]")
    assert change["data-field"] == "name"
    assert change.select_one("[data-admin=old]").text == "Wrench"
    assert change.select_one("[data-admin=new]").text == "Spanner"
    assert rows[0].select_one("[data-admin=secret]") is not None


def test_records_of_a_deleted_object_and_a_deleted_actor_stay_readable(
    testapp: Any,
    auth_make_user: Any,
    auth_logged_in: Any,
    add_record: AddRecord,
    dbsession: Session,
    tm: Any,
) -> None:
    editor = auth_make_user("Editor", admin=True)
    add_record(editor, object_pk="41", object_repr="Gone thing", action="delete")
    email = editor.email
    dbsession.delete(dbsession.get(User, editor.id))
    dbsession.flush()
    tm.commit()
    auth_logged_in(testapp, auth_make_user("Root", admin=True))

    page = testapp.get("/admin/@@history", {"model": "admintest.thing", "object": "41"})

    assert shown(page) == ["Gone thing"]
    assert page.html.select_one("[data-admin=actor]").text == f"{email} (deleted user)"
    # The object's link leads to its records, which outlive it.
    link = page.html.select_one("[data-admin=object]")["href"]
    assert shown(testapp.get(link)) == ["Gone thing"]


def test_filters_narrow_the_log(
    testapp: Any, auth_make_user: Any, auth_logged_in: Any, add_record: AddRecord
) -> None:
    alice = auth_make_user("Alice", admin=True)
    bob = auth_make_user("Bob", admin=True)
    add_record(alice, object_repr="a-change")
    add_record(bob, object_repr="b-delete", action="delete")
    add_record(bob, object_repr="b-part", model="part")
    add_record(alice, object_repr="a-later", at=DAY + datetime.timedelta(days=2))
    auth_logged_in(testapp, alice)

    def log(**params: str) -> list[str]:
        return shown(testapp.get("/admin/@@history", params))

    assert log(actor=bob.email.upper()) == ["b-part", "b-delete"]
    assert log(action="delete") == ["b-delete"]
    assert log(model="admintest.part") == ["b-part"]
    assert log(since="2026-03-12") == ["a-later"]
    assert log(until="2026-03-10") == ["b-part", "b-delete", "a-change"]
    assert log(actor=alice.email, since="2026-03-10", until="2026-03-10") == ["a-change"]


def test_a_date_that_is_not_one_is_refused_with_a_sentence(
    testapp: Any, auth_make_user: Any, auth_logged_in: Any
) -> None:
    auth_logged_in(testapp, auth_make_user("Root", admin=True))

    page = testapp.get("/admin/@@history", {"since": "yesterday"}, status=400)

    assert "YYYY-MM-DD" in page.text
    testapp.get("/admin/@@history", {"before": "x'--"}, status=400)


def test_pages_go_back_and_forth_by_cursor(
    testapp: Any, auth_make_user: Any, auth_logged_in: Any, add_record: AddRecord
) -> None:
    for n in range(55):
        add_record(object_repr=f"r{n:02d}")
    auth_logged_in(testapp, auth_make_user("Root", admin=True))

    first = testapp.get("/admin/@@history")
    assert len(shown(first)) == 50
    assert shown(first)[0] == "r54"
    assert not first.html.select("[data-admin=newer]")

    second = testapp.get(first.html.select_one("[data-admin=older]")["href"])
    assert shown(second) == ["r04", "r03", "r02", "r01", "r00"]
    assert not second.html.select("[data-admin=older]")

    back = testapp.get(second.html.select_one("[data-admin=newer]")["href"])
    assert shown(back) == shown(first)


def test_a_user_sees_only_the_records_of_models_they_may_view(
    testapp: Any,
    auth_make_user: Any,
    auth_logged_in: Any,
    admin_grant: Any,
    add_record: AddRecord,
) -> None:
    add_record(object_repr="a thing")
    add_record(object_repr="a part", model="part")
    add_record(object_repr="someone", addon="auth", model="user")
    admin_grant("thing-viewers", ["admin.admintest.thing.view"])
    auth_logged_in(testapp, auth_make_user("Viewer", groups=["thing-viewers"]))

    assert shown(testapp.get("/admin/@@history")) == ["a thing"]
    assert shown(testapp.get("/admin/@@history", {"model": "admintest.part"})) == []
    dashboard = testapp.get("/admin/")
    assert [a.text for a in dashboard.html.select("[data-admin=recent] [data-admin=object]")] == [
        "a thing"
    ]

    auth_logged_in(testapp, auth_make_user("Root", admin=True))
    assert shown(testapp.get("/admin/@@history")) == ["someone", "a part", "a thing"]


def test_an_object_page_links_to_its_history(
    testapp: Any,
    auth_make_user: Any,
    auth_logged_in: Any,
    add_record: AddRecord,
    make_things: Any,
) -> None:
    thing, other = make_things(2)
    add_record(object_pk=str(thing.id), object_repr="mine")
    add_record(object_pk=str(other.id), object_repr="not mine")
    auth_logged_in(testapp, auth_make_user("Root", admin=True))

    detail = testapp.get(f"/admin/admintest/thing/{thing.id}/")
    page = testapp.get(detail.html.select_one("[data-admin=object-history]")["href"])

    assert shown(page) == ["mine"]
    assert "History of" in page.html.h1.text


def test_a_plain_user_gets_no_history(
    testapp: Any, auth_make_user: Any, auth_logged_in: Any, make_things: Any
) -> None:
    thing = make_things(1)[0]
    auth_logged_in(testapp, auth_make_user("Plain"))

    testapp.get("/admin/@@history", status=403)
    testapp.get(f"/admin/admintest/thing/{thing.id}/@@history", status=403)
