"""Adding, editing and deleting rows, and bulk actions behind a confirmation
page; every unsafe request needs the CSRF token."""

from __future__ import annotations

from typing import Any

import pytest

THINGS = "/admin/admintest/thing/"


@pytest.fixture
def admin(testapp: Any, auth_make_user: Any, auth_logged_in: Any) -> Any:
    return auth_logged_in(testapp, auth_make_user("Root", admin=True))


def flashes(page: Any) -> list[str]:
    return [" ".join(a.text.split()) for a in page.html.select(".alert")]


def test_a_bulk_action_is_confirmed_then_done(
    admin: Any, make_things: Any, dbsession: Any
) -> None:
    things = make_things(4)
    listing = admin.get(THINGS)
    form = listing.forms[next(k for k, f in listing.forms.items() if "ids" in f.fields)]
    for box in form.fields["ids"]:
        box.checked = box._value in (str(things[0].id), str(things[2].id))
    form["action"] = "deactivate"
    confirm = form.submit()
    assert confirm.status_int == 200
    listed = [li.text for li in confirm.html.select("[data-admin=confirm-rows] li")]
    assert listed == ["thing 000", "thing 002"]
    dbsession.expire_all()
    assert all(t.active for t in things)
    done = confirm.forms[
        next(k for k, f in confirm.forms.items() if "confirm" in f.fields)
    ].submit()
    assert done.status_int == 303
    page = done.follow()
    assert "2 things deactivated." in flashes(page)
    dbsession.expire_all()
    assert [t.active for t in things] == [False, True, False, True]


def test_bulk_delete_lists_what_goes_and_then_deletes(
    admin: Any, make_things: Any, dbsession: Any
) -> None:
    from pyramidion_admin_example.models import Thing

    things = make_things(3)
    token = admin.csrf_token()
    ids = [things[0].id, things[1].id]
    confirm = admin.post(f"{THINGS}action", {"csrf_token": token, "action": "delete", "ids": ids})
    assert "This cannot be undone." in confirm.text
    assert [li.text for li in confirm.html.select("[data-admin=confirm-rows] li")] == [
        "thing 000",
        "thing 001",
    ]
    admin.post(
        f"{THINGS}action",
        {"csrf_token": token, "action": "delete", "ids": ids, "confirm": "yes"},
        status=303,
    )
    dbsession.expire_all()
    assert [t.name for t in dbsession.query(Thing).all()] == ["thing 002"]


def test_an_empty_selection_goes_back_with_a_message(admin: Any, make_things: Any) -> None:
    make_things(1)
    token = admin.csrf_token()
    page = admin.post(f"{THINGS}action", {"csrf_token": token, "action": "delete"}, status=303)
    assert "Select the things to delete first." in flashes(page.follow())


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"action": "explode", "ids": "1"}, "have no action 'explode'"),
        ({"action": "delete", "ids": "one"}, "is not the key of a thing"),
    ],
)
def test_a_bad_bulk_request_is_a_400(
    admin: Any, make_things: Any, data: dict[str, str], says: str
) -> None:
    make_things(1)
    response = admin.post(
        f"{THINGS}action", {"csrf_token": admin.csrf_token(), **data}, status=400
    )
    assert says in response.text


def test_unsafe_requests_without_the_csrf_token_are_refused(
    admin: Any, make_things: Any, dbsession: Any
) -> None:
    thing = make_things(1)[0]
    admin.post(
        f"{THINGS}action", {"action": "delete", "ids": thing.id, "confirm": "yes"}, status=400
    )
    admin.post(f"{THINGS}{thing.id}/delete", {"csrf_token": "forged"}, status=400)
    admin.post(f"{THINGS}{thing.id}/edit", {"name": "forged"}, status=400)
    dbsession.expire_all()
    assert dbsession.get(type(thing), thing.id).name == "thing 000"


def test_add_then_edit_then_delete(admin: Any, dbsession: Any) -> None:
    from pyramidion_admin_example.models import Thing

    form = admin.get(f"{THINGS}add").forms["deform"]
    assert "secret_token" not in form.fields
    assert "created_at" not in form.fields
    form["name"] = "Drill"
    form["code"] = "D1"
    page = form.submit("submit", status=303).follow()
    assert "Thing “Drill” added." in flashes(page)
    thing = dbsession.query(Thing).filter_by(name="Drill").one()
    thing.secret_token = "s3cret"
    dbsession.flush()
    edit = admin.get(page.html.select_one("[data-admin=edit]")["href"])
    assert "s3cret" not in edit.text
    assert edit.html.select_one("[data-admin=readonly]") is not None
    form = edit.forms["deform"]
    form["name"] = "Hammer drill"
    page = form.submit("submit", status=303).follow()
    assert "Thing “Hammer drill” saved." in flashes(page)
    confirm = admin.get(page.html.select_one("[data-admin=delete]")["href"])
    done = confirm.forms[next(k for k, f in confirm.forms.items() if f.action == "")].submit()
    assert done.status_int == 303
    assert "deleted" in " ".join(flashes(done.follow()))
    dbsession.expire_all()
    assert dbsession.query(Thing).filter_by(code="D1").count() == 0


def test_an_invalid_form_is_shown_again(admin: Any, make_things: Any) -> None:
    thing = make_things(1)[0]
    form = admin.get(f"{THINGS}{thing.id}/edit").forms["deform"]
    form["name"] = "x" * 101
    form["owner_id"] = "999999"
    page = form.submit("submit", status=422)
    assert "Longer than maximum length 100" in page.text


def test_the_object_page_shows_inlines_and_hides_secrets(
    admin: Any, make_things: Any, dbsession: Any, tm: Any
) -> None:
    from pyramidion_admin_example.models import Part

    thing = make_things(1, secret_token="hush")[0]
    dbsession.add(Part(thing_id=thing.id, label="bolt", count=4))
    dbsession.flush()
    tm.commit()
    page = admin.get(f"{THINGS}{thing.id}")
    assert "hush" not in page.text
    assert "Secret token" not in page.text
    inline = page.html.select_one("[data-admin=inline]")
    assert "bolt" in inline.text
    assert inline.select_one("a")["href"].startswith("http://localhost/admin/admintest/part/")


def test_a_row_the_database_refuses_is_shown_again_not_a_500(admin: Any, dbsession: Any) -> None:
    # An API token added with nothing filled in: the form lets it through,
    # the database refuses it at the flush (NOT NULL), and the page (whose
    # layout queries the database again) must still show the form with
    # the sentence rather than fail on the refused row.
    from pyramidion_auth.models import ApiToken

    before = dbsession.query(ApiToken).count()
    page = admin.get("/admin/auth/api_token/add")
    token = page.html.select_one("input[name=csrf_token]")["value"]
    page = admin.post("/admin/auth/api_token/add", {"csrf_token": token}, status=422)

    assert "refers to something that no longer exists" in page.text
    assert dbsession.query(ApiToken).count() == before


def test_without_a_file_store_a_file_field_is_shown_and_left_as_it_is(
    admin: Any, make_things: Any, dbsession: Any, tm: Any
) -> None:
    # The test app has no storage: the part's drawing (a file field by
    # registration) cannot be uploaded, so it is read-only.
    from pyramidion_admin_example.models import Part

    thing = make_things(1)[0]
    part = Part(thing_id=thing.id, label="bolt", count=4, drawing_id=77)
    dbsession.add(part)
    dbsession.flush()
    tm.commit()

    page = admin.get(f"/admin/admintest/part/{part.id}/edit")
    assert page.html.select_one("input[type=file]") is None
    assert "drawing_id" not in page.forms["deform"].fields
    shown = page.html.select_one("[data-admin=readonly]").text
    assert "Drawing id" in shown
    assert "77" in shown
    form = page.forms["deform"]
    form["label"] = "nut"
    form.submit("submit", status=303)
    dbsession.expire_all()
    saved = dbsession.get(Part, part.id)
    assert (saved.label, saved.drawing_id) == ("nut", 77)
    added = admin.get("/admin/admintest/part/add")
    assert "drawing_id" not in added.forms["deform"].fields
