"""A nullable file column's edit form offers "Remove the current drawing";
the removed file goes to the store's ``release`` like a replaced one."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from webtest import Upload

from pyramidion.testing import PyramidionTestApp
from pyramidion_storage.models import StoredFile

REMOVE = "drawing_id__remove"


def make_part(dbsession: Any, tm: Any) -> int:
    from pyramidion_admin_example.models import Part, Thing

    thing = Thing(name="thing", code="T1")
    dbsession.add(thing)
    dbsession.flush()
    part = Part(thing_id=thing.id, label="bolt")
    dbsession.add(part)
    dbsession.flush()
    part_id: int = part.id
    tm.commit()
    return part_id


def drawing(dbsession: Any, part_id: int) -> StoredFile | None:
    from pyramidion_admin_example.models import Part

    dbsession.expire_all()
    part = dbsession.get(Part, part_id)
    return None if part.drawing_id is None else dbsession.get(StoredFile, part.drawing_id)


def upload_drawing(app: PyramidionTestApp, part_id: int, name: str) -> None:
    form = app.get(f"/admin/admintest/part/{part_id}/edit").forms["deform"]
    form["upload"] = Upload(name, b"drawing\n", "text/plain")
    form.submit("save", status=303)


def test_the_removal_is_offered_only_for_a_file_there_is(
    admin_client: PyramidionTestApp, dbsession: Any, tm: Any
) -> None:
    part_id = make_part(dbsession, tm)

    form = admin_client.get(f"/admin/admintest/part/{part_id}/edit").forms["deform"]
    assert REMOVE not in form.fields

    upload_drawing(admin_client, part_id, "bolt.txt")
    page = admin_client.get(f"/admin/admintest/part/{part_id}/edit")
    checkbox = page.html.select_one(f"input[type=checkbox][name={REMOVE}]")
    assert checkbox is not None
    assert checkbox.get("checked") is None
    label = page.html.select_one(f"label[for={checkbox['id']}]")
    assert "Remove the current drawing" in label.text


def test_removing_the_file_empties_the_column_and_releases_the_file(
    admin_client: PyramidionTestApp, dbsession: Any, tm: Any
) -> None:
    part_id = make_part(dbsession, tm)
    upload_drawing(admin_client, part_id, "bolt.txt")
    stored = drawing(dbsession, part_id)
    assert stored is not None
    stored_id, url = stored.id, f"/storage/files/{stored.key}"

    form = admin_client.get(f"/admin/admintest/part/{part_id}/edit").forms["deform"]
    form[REMOVE] = True
    form.submit("save", status=303)

    assert drawing(dbsession, part_id) is None
    # Released: no row used it any more, so storage deleted it.
    assert dbsession.get(StoredFile, stored_id) is None
    admin_client.get(url, status=404)
    page = admin_client.get(f"/admin/admintest/part/{part_id}/edit")
    assert page.html.select_one("[data-admin=current-files]") is None


def test_a_new_upload_wins_over_the_removal(
    admin_client: PyramidionTestApp, dbsession: Any, tm: Any
) -> None:
    part_id = make_part(dbsession, tm)
    upload_drawing(admin_client, part_id, "bolt.txt")
    old = drawing(dbsession, part_id)
    assert old is not None
    old_id = old.id

    form = admin_client.get(f"/admin/admintest/part/{part_id}/edit").forms["deform"]
    form[REMOVE] = True
    form["upload"] = Upload("bolt-2.txt", b"second\n", "text/plain")
    form.submit("save", status=303)

    new = drawing(dbsession, part_id)
    assert new is not None
    assert new.filename == "bolt-2.txt"
    assert dbsession.get(StoredFile, old_id) is None
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(StoredFile)) == 1


def test_saving_without_the_removal_keeps_the_file(
    admin_client: PyramidionTestApp, dbsession: Any, tm: Any
) -> None:
    part_id = make_part(dbsession, tm)
    upload_drawing(admin_client, part_id, "bolt.txt")

    form = admin_client.get(f"/admin/admintest/part/{part_id}/edit").forms["deform"]
    form["label"] = "nut"
    form.submit("save", status=303)

    stored = drawing(dbsession, part_id)
    assert stored is not None
    assert stored.filename == "bolt.txt"
