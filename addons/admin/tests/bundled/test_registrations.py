"""The admin's bundled registrations: auth's models (registered by the
admin), the blog's and storage's (registered by themselves), and the
installed add-ons page."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pyramidion_admin.options import admin_site

from pyramidion_auth.models import User

from .conftest import SMTP_PASSWORD


def test_every_bundled_model_is_registered(pyramidion_app: Any) -> None:
    site = admin_site(pyramidion_app.registry)

    assert {(m.addon, m.name) for m in site} >= {
        ("auth", "user"),
        ("auth", "group"),
        ("auth", "api_token"),
        ("auth", "session"),
        ("blog", "post"),
        ("storage", "stored_file"),
    }
    users = site.get("auth", "user")
    assert users is not None
    assert "password_hash" in users.secret_fields
    assert [a.name for a in users.actions] == [
        "deactivate",
        "activate",
        "send_password_reset",
        "end_sessions",
        "revoke_tokens",
    ]


def test_without_admin_the_blog_and_storage_register_nothing(make_pyramidion_app: Any) -> None:
    app = make_pyramidion_app(addons=["blog"])

    assert len(admin_site(app.registry)) == 0
    assert "admin" not in {route.name.split(".")[0] for route in app.routes_mapper.get_routes()}


def test_an_admin_finds_a_user_by_email_and_sees_no_secret(
    admin_client: Any, auth_make_user: Any
) -> None:
    wanted = auth_make_user("Grace Hopper", email="grace@example.com", groups=["navy"])
    auth_make_user("Alan Turing", email="alan@example.com")

    page = admin_client.get("/admin/auth/user/", params={"q": "GRACE@example"})

    rows = page.html.select("[data-admin=row]")
    assert len(rows) == 1
    assert "grace@example.com" in rows[0].text
    assert "navy" in rows[0].text
    detail = admin_client.get(f"/admin/auth/user/{wanted.id}")
    assert "grace@example.com" in detail.text
    assert "argon2" not in detail.text


def test_the_groups_page_sets_a_users_groups(
    admin_client: Any, auth_make_user: Any, dbsession: Any
) -> None:
    user = auth_make_user("Ed", groups=["authors"])
    auth_make_user("Other", groups=["editors"])

    page = admin_client.get(f"/admin/auth/user/{user.id}")
    form = page.click(linkid=None, href=f"/admin/auth/user/{user.id}/groups").forms["deform"]
    form.set("checkbox", True, index=_index(form, "editors"))
    form.set("checkbox", False, index=_index(form, "authors"))
    form["new_group"] = "reviewers"
    page = form.submit("submit").follow()

    assert "is a member of: editors, reviewers" in page.text
    dbsession.expire_all()
    assert [g.name for g in dbsession.get(User, user.id).groups] == ["editors", "reviewers"]


def test_the_groups_page_keeps_the_last_admin_in_admin(admin_client: Any) -> None:
    me = admin_client.user
    form = admin_client.get(f"/admin/auth/user/{me.id}/groups").forms["deform"]
    form.set("checkbox", False, index=_index(form, "admin"))

    page = form.submit("submit", status=422)

    assert "last active admin" in page.text


def test_a_bad_group_name_is_refused_with_a_sentence(
    admin_client: Any, auth_make_user: Any
) -> None:
    user = auth_make_user("Ed")
    form = admin_client.get(f"/admin/auth/user/{user.id}/groups").forms["deform"]
    form["new_group"] = "no spaces"

    page = form.submit("submit", status=422)

    assert "cannot name a group" in page.text


def test_other_models_have_no_groups_page(
    admin_client: Any, auth_make_user: Any, make_post: Any
) -> None:
    post = make_post(auth_make_user("Author"))

    admin_client.get(f"/admin/blog/post/{post.id}/groups", status=404)
    assert not admin_client.get(f"/admin/blog/post/{post.id}").html.select(
        "[data-admin=object-link]"
    )


def test_the_groups_page_needs_change_on_users(
    testapp: Any, auth_make_user: Any, auth_logged_in: Any, admin_grant: Any
) -> None:
    admin_grant("support", ["admin.auth.user.view"])
    user = auth_make_user("Ed")
    auth_logged_in(testapp, auth_make_user("Helper", groups=["support"]))

    page = testapp.get(f"/admin/auth/user/{user.id}", status=200)
    assert not page.html.select("[data-admin=object-link]")
    testapp.get(f"/admin/auth/user/{user.id}/groups", status=403)


def test_the_installed_addons_page_masks_secrets(admin_client: Any) -> None:
    page = admin_client.get("/admin/@@installed")

    names = [row.th.contents[0].strip() for row in page.html.select("[data-admin=addon-row]")]
    assert names[-2:] == ["admin", "blog"] or {"admin", "blog", "auth"} <= set(names)
    states = [td.text for td in page.html.select("[data-admin=migration-state]")]
    assert all("up to date" in s or "no tables" in s for s in states), states
    keys = [row.code.text for row in page.html.select("[data-admin=setting]")]
    assert "auth.smtp_password" in keys
    assert "storage.local_root" in keys
    assert SMTP_PASSWORD not in page.text
    assert page.html.find("a", string="Add-ons") is not None


def test_only_the_admin_group_sees_the_installed_addons(
    testapp: Any, auth_make_user: Any, auth_logged_in: Any, admin_grant: Any
) -> None:
    admin_grant("support", ["admin.auth.user.view"])
    auth_logged_in(testapp, auth_make_user("Helper", groups=["support"]))

    testapp.get("/admin/@@installed", status=403)
    assert testapp.get("/admin/").html.find("a", string="Add-ons") is None


def _index(form: Any, group: str) -> int:
    """The position of ``group``'s tick among the form's checkboxes."""
    boxes = form.html.select("input[type=checkbox]")
    return [box["value"] for box in boxes].index(group)


def test_users_are_filtered_by_a_group_looked_up_by_name_or_id(
    admin_client: Any, auth_make_user: Any, dbsession: Any
) -> None:
    from pyramidion_auth.models import Group

    auth_make_user("Grace Hopper", email="grace@example.com", groups=["navy", "cobol"])
    auth_make_user("Alan Turing", email="alan@example.com", groups=["bletchley"])
    auth_make_user("Ada Lovelace", email="ada@example.com")
    navy = dbsession.scalars(sa.select(Group).where(Group.name == "navy")).one()

    page = admin_client.get("/admin/auth/user/")
    # A text box to look the group up in, not a select of every group.
    lookup = page.html.select_one("input[name='f.groups']")
    assert lookup is not None
    assert lookup["type"] == "text"
    assert page.html.select_one("select[name='f.groups']") is None

    def emails(params: dict[str, str]) -> list[str]:
        found = admin_client.get("/admin/auth/user/", params=params)
        return [row.select("td")[1].text.strip() for row in found.html.select("[data-admin=row]")]

    assert emails({"f.groups": "NAV"}) == ["grace@example.com"]
    assert emails({"f.groups": str(navy.id)}) == ["grace@example.com"]
    assert emails({"f.groups": "bletch"}) == ["alan@example.com"]
    assert emails({"f.groups": "nobody's group"}) == []


def test_a_groups_page_shows_the_admin_permissions_it_holds(
    admin_client: Any, auth_make_user: Any, admin_grant: Any, dbsession: Any
) -> None:
    from pyramidion_auth.models import Group

    auth_make_user("Mod", groups=["moderators"])
    admin_grant("moderators", ["admin.blog.post.view", "admin.blog.post.hide"])
    auth_make_user("Reader", groups=["readers"])
    groups = {
        g.name: g.id
        for g in dbsession.scalars(
            sa.select(Group).where(Group.name.in_(["moderators", "readers", "admin"]))
        )
    }

    def grants(group: str) -> list[list[str]]:
        page = admin_client.get(f"/admin/auth/group/{groups[group]}")
        (section,) = [
            s for s in page.html.select("[data-admin=inline]") if "Admin permissions" in s.h2.text
        ]
        return [[td.text.strip() for td in tr.select("td")] for tr in section.select("tbody tr")]

    assert grants("moderators") == [
        ["admin.blog.post.hide", "Hide: posts (blog)"],
        ["admin.blog.post.view", "View: posts (blog)"],
    ]
    assert grants("readers") == []
    assert grants("admin") == [["every permission", "The admin group may do everything."]]
