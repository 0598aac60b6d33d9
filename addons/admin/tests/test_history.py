"""The history: what record_change stores, and the pages that show it."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pyramid.request import Request
from pyramid.scripting import prepare
from pyramidion_admin.history import CHANGED, record_change
from pyramidion_admin.models import HistoryRecord
from sqlalchemy import select
from sqlalchemy.orm import Session

from pyramidion_auth.models import User

#: ``as_user(user)``: a request of the test app made by ``user`` (logged in
#: for real, through auth's session cookie), its transaction begun.
AsUser = Callable[[User | None], Request]


@pytest.fixture
def as_user(testapp: Any, pyramidion_app: Any, auth_logged_in: Any) -> Iterator[AsUser]:
    closers: list[Callable[[], None]] = []

    def make(user: User | None) -> Request:
        headers = {}
        if user is not None:
            auth_logged_in(testapp, user)
            cookie = "; ".join(f"{k}={v}" for k, v in testapp.cookies.items())
            headers["Cookie"] = cookie
        request = Request.blank("/admin/", headers=headers)
        env = prepare(request=request, registry=pyramidion_app.registry)
        closers.append(env["closer"])
        request.tm.begin()
        return request

    yield make
    for close in closers:
        close()


@pytest.fixture
def example(admintest_site: Any) -> Any:
    """The test add-on's models module (importable once it is installed)."""
    import pyramidion_admin_example.models

    return pyramidion_admin_example.models


def records(dbsession: Session, **where: Any) -> list[HistoryRecord]:
    dbsession.expire_all()
    statement = select(HistoryRecord).filter_by(**where).order_by(HistoryRecord.id)
    return list(dbsession.scalars(statement))


def test_a_change_records_who_and_which_fields_changed_from_what_to_what(
    as_user: AsUser,
    auth_make_user: Any,
    make_things: Any,
    dbsession: Session,
    example: Any,
) -> None:
    thing = make_things(1)[0]
    admin = auth_make_user("Root", admin=True)
    request = as_user(admin)
    row = request.dbsession.get(example.Thing, thing.id)
    row.name = "renamed"
    row.active = False
    row.notes = ""  # unchanged: not recorded

    record_change(request, row, "change", message="tidying up")
    request.tm.commit()

    [record] = records(dbsession, object_pk=str(thing.id))
    assert (record.addon, record.model, record.action) == ("admintest", "thing", "change")
    assert record.changes == {"name": ["thing 000", "renamed"], "active": [True, False]}
    assert record.actor_id == admin.id
    assert record.actor_label == admin.email
    assert record.object_repr == "renamed"
    assert record.message == "tidying up"
    assert record.request_id


def test_an_add_records_the_new_values_and_a_delete_the_last_ones(
    as_user: AsUser,
    auth_make_user: Any,
    make_things: Any,
    dbsession: Session,
    example: Any,
) -> None:
    thing = make_things(1)[0]
    request = as_user(auth_make_user("Root", admin=True))
    part = example.Part(thing_id=thing.id, label="wheel")
    request.dbsession.add(part)

    record_change(request, part, "add")  # flushes to learn the key and defaults
    request.tm.commit()

    [added] = records(dbsession, model="part")
    assert added.object_pk == str(part.id)
    assert added.changes == {
        "id": [None, part.id],
        "thing_id": [None, thing.id],
        "label": [None, "wheel"],
        "count": [None, 1],
    }

    request = as_user(None)
    row = request.dbsession.get(example.Part, part.id)
    record_change(request, row, "delete")
    request.dbsession.delete(row)
    request.tm.commit()

    deleted = records(dbsession, model="part", action="delete")[0]
    assert deleted.changes["label"] == ["wheel", None]
    assert deleted.actor_id is None
    assert deleted.actor_label == ""
    assert dbsession.get(example.Part, part.id) is None


def test_secrets_are_recorded_as_changed_without_their_values(
    as_user: AsUser,
    auth_make_user: Any,
    make_things: Any,
    dbsession: Session,
    example: Any,
) -> None:
    thing = make_things(1, secret_token="old-secret-value")[0]
    target = auth_make_user("Target")
    request = as_user(auth_make_user("Root", admin=True))
    row = request.dbsession.get(example.Thing, thing.id)
    user = request.dbsession.get(User, target.id)
    # Set after both loads: a query flushes what was set before it.
    row.secret_token = "new-secret-value"
    old_hash = user.password_hash
    user.password_hash = "$argon2id$not-a-real-hash"

    record_change(request, row, "change")
    # The same call, for add-ons that may not import the admin.
    request.record_change(user, "change")
    request.tm.commit()

    thing_record = records(dbsession, model="thing")[0]
    user_record = records(dbsession, model="user")[0]
    assert thing_record.changes == {"secret_token": CHANGED}
    assert user_record.changes == {"password_hash": CHANGED}
    # An unregistered model is named by its table's add-on and its class.
    assert user_record.addon == "auth"
    stored = str(thing_record.changes) + str(user_record.changes)
    for secret in ("old-secret-value", "new-secret-value", old_hash, "not-a-real-hash"):
        assert secret not in stored


def test_changes_passed_by_the_caller_are_made_json_safe_and_masked(
    as_user: AsUser,
    auth_make_user: Any,
    make_things: Any,
    dbsession: Session,
    example: Any,
) -> None:
    thing = make_things(1)[0]
    request = as_user(auth_make_user("Root", admin=True))
    row = request.dbsession.get(example.Thing, thing.id)

    record_change(
        request,
        row,
        "deactivate",
        changes={
            "when": [None, datetime.datetime(2026, 5, 1, 12, 30)],
            "blob": [b"\x00\x01", None],
            "api_key": ["a", "b"],
        },
    )
    request.tm.commit()

    [record] = records(dbsession, action="deactivate")
    assert record.changes == {
        "when": [None, "2026-05-01T12:30:00"],
        "blob": ["(binary)", None],
        "api_key": CHANGED,
    }


def test_the_admin_pages_record_add_change_action_and_delete(
    testapp: Any,
    auth_make_user: Any,
    auth_logged_in: Any,
    dbsession: Session,
    example: Any,
) -> None:
    things = "/admin/admintest/thing/"
    admin = auth_make_user("Root", admin=True)
    auth_logged_in(testapp, admin)
    form = testapp.get(f"{things}add").forms["deform"]
    form["name"] = "Drill"
    form["code"] = "D1"
    page = form.submit("submit", status=303).follow()
    thing_id = str(dbsession.scalars(select(example.Thing.id).filter_by(code="D1")).one())
    form = testapp.get(page.html.select_one("[data-admin=edit]")["href"]).forms["deform"]
    form["name"] = "Hammer drill"
    form.submit("submit", status=303)
    token = testapp.csrf_token()
    testapp.post(
        f"{things}action",
        {"csrf_token": token, "action": "deactivate", "ids": [thing_id], "confirm": "yes"},
        status=303,
    )
    confirm = testapp.get(f"{things}{thing_id}/delete")
    confirm.forms[next(k for k, f in confirm.forms.items() if f.action == "")].submit(status=303)

    found = records(dbsession, object_pk=thing_id, model="thing")

    assert [r.action for r in found] == ["add", "change", "deactivate", "delete"]
    assert {r.actor_label for r in found} == {admin.email}
    assert found[0].changes["name"] == [None, "Drill"]
    assert found[0].changes["active"] == [None, True]  # a default, recorded too
    assert found[1].changes == {"name": ["Drill", "Hammer drill"]}
    assert found[2].changes == {"active": [True, False]}
    assert found[3].changes["name"] == ["Hammer drill", None]
    assert "secret_token" not in found[3].changes
    # The object is gone; its records are not.
    log = testapp.get("/admin/@@history", {"model": "admintest.thing", "object": thing_id})
    assert len(log.html.select("[data-admin=history-record]")) == 4
