"""Permissions per model and action, granted to groups, checked on every
admin view and every row; buttons the user may not use are not shown."""

from __future__ import annotations

from typing import Any

THINGS = "/admin/admintest/thing/"


def test_a_view_only_user_sees_no_edit_buttons_and_gets_403(
    testapp: Any, auth_make_user: Any, auth_logged_in: Any, admin_grant: Any, make_things: Any
) -> None:
    thing = make_things(1)[0]
    admin_grant("viewers", ["admin.admintest.thing.view"])
    auth_logged_in(testapp, auth_make_user("Viewer", groups=["viewers"]))
    listing = testapp.get(THINGS)
    assert listing.html.select("[data-admin=row]")
    assert listing.html.select_one("[data-admin=add]") is None
    assert listing.html.select_one("input[name=ids]") is None
    page = testapp.get(f"{THINGS}{thing.id}")
    assert page.html.select_one("[data-admin=edit]") is None
    assert page.html.select_one("[data-admin=delete]") is None
    token = testapp.csrf_token()
    testapp.get(f"{THINGS}{thing.id}/edit", status=403)
    testapp.post(f"{THINGS}{thing.id}/edit", {"csrf_token": token, "name": "x"}, status=403)
    testapp.get(f"{THINGS}{thing.id}/delete", status=403)
    testapp.post(f"{THINGS}{thing.id}/delete", {"csrf_token": token}, status=403)
    testapp.get(f"{THINGS}add", status=403)
    for action in ("delete", "deactivate"):
        testapp.post(
            f"{THINGS}action",
            {"csrf_token": token, "action": action, "ids": thing.id, "confirm": "yes"},
            status=403,
        )


def test_each_action_needs_its_own_grant(
    testapp: Any,
    auth_make_user: Any,
    auth_logged_in: Any,
    admin_grant: Any,
    make_things: Any,
    dbsession: Any,
) -> None:
    thing = make_things(1)[0]
    admin_grant(
        "editors",
        [
            "admin.admintest.thing.view",
            "admin.admintest.thing.change",
            "admin.admintest.thing.deactivate",
        ],
    )
    auth_logged_in(testapp, auth_make_user("Editor", groups=["editors"]))
    listing = testapp.get(THINGS)
    offered = [o["value"] for o in listing.html.select("#admin-action option")]
    assert offered == ["deactivate"]
    page = testapp.get(f"{THINGS}{thing.id}")
    assert page.html.select_one("[data-admin=edit]") is not None
    assert page.html.select_one("[data-admin=delete]") is None
    form = testapp.get(f"{THINGS}{thing.id}/edit").forms["deform"]
    form["name"] = "renamed"
    form.submit("submit", status=303)
    dbsession.expire_all()
    assert dbsession.get(type(thing), thing.id).name == "renamed"
    token = testapp.csrf_token()
    testapp.post(
        f"{THINGS}action",
        {"csrf_token": token, "action": "delete", "ids": thing.id, "confirm": "yes"},
        status=403,
    )


def test_the_admin_link_shows_only_with_an_admin_permission(
    testapp: Any, auth_make_user: Any, auth_logged_in: Any, admin_grant: Any
) -> None:
    auth_logged_in(testapp, auth_make_user("Plain", groups=["plain"]))
    assert testapp.get("/admin/", status=403)
    assert not [a for a in testapp.get("/auth/account").html.select("a") if a.text == "Admin"]
    admin_grant("plain", ["admin.admintest.part.view"])
    page = testapp.get("/auth/account")
    assert [a["href"] for a in page.html.select("a") if a.text == "Admin"] == [
        "http://localhost/admin/"
    ]
    dashboard = testapp.get("/admin/")
    assert [a.text for a in dashboard.html.select("[data-admin=model]")] == ["Parts"]


def test_a_rows_own_rules_come_first(
    testapp: Any, auth_make_user: Any, auth_logged_in: Any, make_things: Any
) -> None:
    kept = make_things(1, code="KEEP")[0]
    other = make_things(1, start=1)[0]
    auth_logged_in(testapp, auth_make_user("Root", admin=True))
    page = testapp.get(f"{THINGS}{kept.id}")
    assert page.html.select_one("[data-admin=delete]") is None
    assert page.html.select_one("[data-admin=edit]") is not None
    token = testapp.csrf_token()
    testapp.post(f"{THINGS}{kept.id}/delete", {"csrf_token": token}, status=403)
    testapp.post(
        f"{THINGS}action",
        {"csrf_token": token, "action": "delete", "ids": [kept.id, other.id], "confirm": "yes"},
        status=403,
    )
    testapp.get(f"{THINGS}{other.id}/delete")
