"""The admin's front page: models by add-on, recent changes, operator health."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from pyramidion import AddonConflict
from pyramidion.testing import PyramidionTestApp

#: The test add-on's only revision.
ADMINTEST_REVISION = "5c2f0e8a1b47"


def health(page: Any) -> dict[str, tuple[str, str]]:
    """Each health line: label -> (value, status)."""
    return {
        line.th.text.strip(): (
            line.select_one("[data-admin=health-value]").text.strip(),
            line["data-status"],
        )
        for line in page.html.select("[data-admin=health-line]")
    }


def test_a_user_sees_only_the_models_they_may_view_and_no_health(
    testapp: Any, auth_make_user: Any, auth_logged_in: Any, admin_grant: Any
) -> None:
    admin_grant("part-viewers", ["admin.admintest.part.view"])
    auth_logged_in(testapp, auth_make_user("Viewer", groups=["part-viewers"]))

    page = testapp.get("/admin/")

    assert [a.text for a in page.html.select("[data-admin=model]")] == ["Parts"]
    assert page.html.select("[data-admin=health]") == []


def test_the_admin_group_sees_pending_migrations_and_addons_not_installed(
    testapp: Any, auth_make_user: Any, auth_logged_in: Any, dbsession: Session, tm: Any
) -> None:
    auth_logged_in(testapp, auth_make_user("Root", admin=True))
    before = health(testapp.get("/admin/"))
    assert before["Pending migrations"] == ("none", "ok")
    assert before["Add-ons enabled but not installed"] == ("none", "ok")

    # As if admintest had been enabled but never installed: its revision
    # and its record are gone (the test's transaction is rolled back after).
    for statement in (
        "DELETE FROM pyramidion_alembic_version WHERE version_num = :rev",
        "DELETE FROM pyramidion_applied_revisions WHERE revision = :rev",
    ):
        dbsession.execute(text(statement), {"rev": ADMINTEST_REVISION})
    dbsession.execute(text("DELETE FROM pyramidion_addons WHERE name = 'admintest'"))
    # And an add-on installed once, no longer in the ini.
    dbsession.execute(
        text(
            "INSERT INTO pyramidion_addons (name, version, distribution, installed_at, "
            "updated_at) VALUES ('retired', '1.0', 'retired-addon', :at, :at)"
        ),
        {"at": datetime.datetime(2026, 1, 1)},
    )
    tm.commit()

    page = testapp.get("/admin/")
    after = health(page)

    assert after["Pending migrations"] == ("1 (admintest)", "warning")
    assert after["Add-ons enabled but not installed"] == ("admintest", "warning")
    # Other tests of the session may have installed add-ons this app does
    # not enable, in a database they commit to: only the difference counts.
    installed_before = before.get("Add-ons installed but not enabled", ("", "ok"))[0]
    installed_after, level = after["Add-ons installed but not enabled"]
    assert set(installed_after.split(", ")) - set(installed_before.split(", ")) == {"retired"}
    assert level == "ok"
    assert "pyramidion db upgrade" in page.html.select_one("[data-admin=health]").text


def test_failed_logins_of_the_last_hour_are_counted(
    testapp: Any, auth_make_user: Any, auth_logged_in: Any, auth_log_in: Any
) -> None:
    admin = auth_make_user("Root", admin=True)
    auth_logged_in(testapp, admin)
    before = int(health(testapp.get("/admin/"))["Failed logins in the last hour"][0])

    other = PyramidionTestApp(testapp.app)
    assert auth_log_in(other, admin.email, "not the password at all").status_int == 422
    assert auth_log_in(other, admin.email, "still not the password").status_int == 422

    after = int(health(testapp.get("/admin/"))["Failed logins in the last hour"][0])
    assert after == before + 2


def test_storage_adds_the_files_awaiting_garbage_collection(
    make_pyramidion_app: Any,
    db_connection: Any,
    tmp_path: Path,
    auth_make_user: Any,
    auth_logged_in: Any,
) -> None:
    from pyramidion_storage.backends import LocalBackend, new_key

    app = PyramidionTestApp(
        make_pyramidion_app(
            {"storage.local_root": str(tmp_path), "storage.gc_grace": "0"},
            addons=["admin", "admintest", "storage"],
            connection=db_connection,
        )
    )
    auth_logged_in(app, auth_make_user("Root", admin=True))
    label = "Files awaiting garbage collection"
    assert health(app.get("/admin/"))[label] == (
        "0 orphaned file(s), 0 expired temporary upload(s)",
        "ok",
    )

    LocalBackend(tmp_path).stage(new_key(), iter([b"no row names me"])).publish()
    page = app.get("/admin/")

    assert health(page)[label] == ("1 orphaned file(s), 0 expired temporary upload(s)", "warning")
    assert "pyramidion storage gc" in page.html.select_one("[data-admin=health]").text


def test_without_storage_there_is_no_garbage_line(
    testapp: Any, auth_make_user: Any, auth_logged_in: Any
) -> None:
    auth_logged_in(testapp, auth_make_user("Root", admin=True))

    assert "Files awaiting garbage collection" not in health(testapp.get("/admin/"))


def test_add_ons_contribute_checks_and_a_failing_one_does_not_break_the_page(
    make_pyramidion_app: Any, db_connection: Any, auth_make_user: Any, auth_logged_in: Any
) -> None:
    app = PyramidionTestApp(
        make_pyramidion_app(
            addons=["admin", "admintest", "pyramidion_admin_example.health"],
            connection=db_connection,
        )
    )
    auth_logged_in(app, auth_make_user("Root", admin=True))

    lines = health(app.get("/admin/"))

    assert list(lines)[:2] == ["admintest.broken", "Queue"]  # before the admin's own
    assert lines["Queue"] == ("1200 waiting", "warning")
    assert lines["admintest.broken"] == ("could not be checked", "warning")
    # The failed query did not spoil the transaction the later checks use.
    assert lines["Pending migrations"] == ("none", "ok")
    assert "Failed logins in the last hour" in lines


def test_two_checks_with_one_name_conflict(make_pyramidion_app: Any) -> None:
    with pytest.raises(AddonConflict) as raised:
        make_pyramidion_app(addons=["admin", "admintest", "pyramidion_admin_example.health_twice"])
    assert "pyramidion_admin.health" in str(raised.value)
