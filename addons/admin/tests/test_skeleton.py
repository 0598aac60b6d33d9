"""The admin's tree, its registrations and its first pages."""

from __future__ import annotations

from typing import Any

import pytest

from pyramidion import AddonConflict


def test_an_admin_sees_the_registered_models(
    testapp: Any, auth_make_user: Any, auth_logged_in: Any, make_things: Any
) -> None:
    make_things(3)
    admin = auth_make_user("Root", admin=True)
    auth_logged_in(testapp, admin)
    page = testapp.get("/admin/")
    # The admin's own registrations (auth's users, groups...) are listed too.
    assert {"Parts", "Things"} <= {a.text for a in page.html.select("[data-admin=model]")}
    assert page.html.find("a", string="Admin") is not None
    things = testapp.get("/admin/admintest/thing/")
    assert len(things.html.select("[data-admin=row]")) == 3
    first = things.html.select("[data-admin=row] a")[0]["href"]
    detail = testapp.get(first)
    assert "thing 002" in detail.text
    assert "secret_token" not in detail.text.lower().replace(" ", "_")


def test_anonymous_and_plain_users_are_refused(
    testapp: Any, auth_make_user: Any, auth_logged_in: Any, make_things: Any
) -> None:
    thing = make_things(1)[0]
    assert testapp.get("/admin/", status="*").status_int in (302, 303, 403)
    auth_logged_in(testapp, auth_make_user("Plain"))
    testapp.get("/admin/", status=403)
    testapp.get("/admin/admintest/thing/", status=403)
    testapp.get(f"/admin/admintest/thing/{thing.id}", status=403)
    page = testapp.get("/")
    assert page.html.find("a", string="Admin") is None


def test_a_grant_opens_one_model(
    testapp: Any, auth_make_user: Any, auth_logged_in: Any, admin_grant: Any, make_things: Any
) -> None:
    make_things(1)
    admin_grant("viewers", ["admin.admintest.thing.view"])
    auth_logged_in(testapp, auth_make_user("Viewer", groups=["viewers"]))
    page = testapp.get("/admin/")
    assert [a.text for a in page.html.select("[data-admin=model]")] == ["Things"]
    testapp.get("/admin/admintest/thing/")
    testapp.get("/admin/admintest/part/", status=403)


def test_unknown_segments_are_404(testapp: Any, auth_make_user: Any, auth_logged_in: Any) -> None:
    auth_logged_in(testapp, auth_make_user("Root", admin=True))
    testapp.get("/admin/nosuchaddon/", status=404)
    testapp.get("/admin/admintest/nosuchmodel/", status=404)
    testapp.get("/admin/admintest/thing/999999", status=404)
    testapp.get("/admin/admintest/thing/99999999999999999999999", status=404)


def test_registering_one_model_twice_conflicts(make_pyramidion_app: Any) -> None:
    with pytest.raises(AddonConflict) as raised:
        make_pyramidion_app(addons=["admin", "admintest", "pyramidion_admin_example.twice"])
    assert "pyramidion_admin.model" in str(raised.value)
    assert "Thing" in str(raised.value)
