"""File fields in the admin's forms, through storage: the blog's attachments
(a foreign key to ``storage_files``) get an upload field, and the files
follow the request's transaction."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pyramidion_admin.models import HistoryRecord
from webtest import Upload

from pyramidion.testing import PyramidionTestApp
from pyramidion_blog.models import Attachment
from pyramidion_storage.models import StoredFile

from .conftest import MAX_UPLOAD_SIZE

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def add_attachment(app: PyramidionTestApp, post: Any, name: str, content: bytes) -> int:
    """Add an attachment to ``post`` through the admin; its id."""
    form = app.get("/admin/blog/attachment/add").forms["deform"]
    form["post_id"] = str(post.id)
    form["upload"] = Upload(name, content, "text/plain")
    page = form.submit("add", status=303)
    return int(page.location.rstrip("/").rsplit("/", 1)[1])


def download(stored: StoredFile) -> str:
    return f"/storage/files/{stored.key}"


def kept_files(dbsession: Any) -> list[str]:
    dbsession.expire_all()
    return list(
        dbsession.scalars(
            sa.select(StoredFile.filename)
            .where(StoredFile.upload_token.is_(None))
            .order_by(StoredFile.filename)
        )
    )


def current_file(dbsession: Any, attachment_id: int) -> StoredFile:
    dbsession.expire_all()
    attachment = dbsession.get(Attachment, attachment_id)
    assert attachment is not None
    stored: StoredFile = attachment.file
    return stored


def test_an_attachment_is_added_with_its_file_and_shown_with_a_download_link(
    admin_client: PyramidionTestApp, make_post: Any, dbsession: Any
) -> None:
    post = make_post(admin_client.user)

    attachment_id = add_attachment(admin_client, post, "notes.txt", b"first version\n")

    stored = current_file(dbsession, attachment_id)
    assert stored.filename == "notes.txt"
    assert not stored.temporary
    assert admin_client.get(download(stored)).body == b"first version\n"
    edit = admin_client.get(f"/admin/blog/attachment/{attachment_id}/edit")
    (link,) = edit.html.select("[data-admin=current-files] a")
    assert link.text == "notes.txt"
    assert admin_client.get(link["href"]).body == b"first version\n"
    assert edit.html.select_one("input[type=file]").get("required") is None


def test_a_new_upload_replaces_the_file_and_the_old_one_goes(
    admin_client: PyramidionTestApp, make_post: Any, dbsession: Any
) -> None:
    post = make_post(admin_client.user)
    attachment_id = add_attachment(admin_client, post, "notes.txt", b"first version\n")
    old = current_file(dbsession, attachment_id)
    old_url, old_id = download(old), old.id

    form = admin_client.get(f"/admin/blog/attachment/{attachment_id}/edit").forms["deform"]
    form["upload"] = Upload("notes-2.txt", b"second version\n", "text/plain")
    form.submit("save", status=303)

    new = current_file(dbsession, attachment_id)
    assert new.filename == "notes-2.txt"
    assert admin_client.get(download(new)).body == b"second version\n"
    # The replaced file was used by nothing else: its row and its bytes are gone.
    assert dbsession.get(StoredFile, old_id) is None
    admin_client.get(old_url, status=404)
    assert kept_files(dbsession) == ["notes-2.txt"]
    change = dbsession.scalars(
        sa.select(HistoryRecord)
        .where(HistoryRecord.action == "change")
        .order_by(HistoryRecord.id.desc())
    ).first()
    assert change is not None
    assert change.changes["file_id"] == [old_id, new.id]


def test_saving_without_choosing_a_file_keeps_the_current_one(
    admin_client: PyramidionTestApp, make_post: Any, dbsession: Any
) -> None:
    post = make_post(admin_client.user)
    other = make_post(admin_client.user, title="Another")
    attachment_id = add_attachment(admin_client, post, "notes.txt", b"first version\n")

    form = admin_client.get(f"/admin/blog/attachment/{attachment_id}/edit").forms["deform"]
    form["post_id"] = str(other.id)
    form.submit("save", status=303)

    stored = current_file(dbsession, attachment_id)
    assert stored.filename == "notes.txt"
    assert dbsession.get(Attachment, attachment_id).post_id == other.id
    assert admin_client.get(download(stored)).body == b"first version\n"


def test_an_oversize_upload_is_a_field_error_and_nothing_is_lost(
    admin_client: PyramidionTestApp, make_post: Any, dbsession: Any
) -> None:
    post = make_post(admin_client.user)
    attachment_id = add_attachment(admin_client, post, "notes.txt", b"first version\n")

    form = admin_client.get(f"/admin/blog/attachment/{attachment_id}/edit").forms["deform"]
    form["upload"] = Upload("big.txt", b"x" * (MAX_UPLOAD_SIZE + 1), "text/plain")
    page = form.submit("save", status=422)

    assert "larger than the limit" in page.html.select_one(".invalid-feedback, .error").text
    stored = current_file(dbsession, attachment_id)
    assert stored.filename == "notes.txt"
    assert admin_client.get(download(stored)).body == b"first version\n"
    assert kept_files(dbsession) == ["notes.txt"]


def test_a_refused_form_keeps_the_chosen_file_for_the_next_try(
    admin_client: PyramidionTestApp, make_post: Any, dbsession: Any
) -> None:
    post = make_post(admin_client.user)
    attachment_id = add_attachment(admin_client, post, "notes.txt", b"first version\n")

    form = admin_client.get(f"/admin/blog/attachment/{attachment_id}/edit").forms["deform"]
    form["post_id"] = "not a number"
    form["upload"] = Upload("chosen.png", PNG, "image/png")
    refused = form.submit("save", status=422)

    assert "Kept: chosen.png" in refused.html.select_one("[data-upload=kept]").text
    assert current_file(dbsession, attachment_id).filename == "notes.txt"
    again = refused.forms["deform"]
    again["post_id"] = str(post.id)
    again.submit("save", status=303)
    stored = current_file(dbsession, attachment_id)
    assert stored.filename == "chosen.png"
    assert admin_client.get(download(stored)).body == PNG


def test_a_refused_request_keeps_no_new_file(
    admin_client: PyramidionTestApp, make_post: Any, dbsession: Any
) -> None:
    post = make_post(admin_client.user)
    attachment_id = add_attachment(admin_client, post, "notes.txt", b"first version\n")

    form = admin_client.get(f"/admin/blog/attachment/{attachment_id}/edit").forms["deform"]
    form["post_id"] = "999999"
    form["upload"] = Upload("notes-2.txt", b"second version\n", "text/plain")
    page = form.submit("save", status=422)

    assert "Choose one of the listed options." in page.html.select_one("form#deform").text
    stored = current_file(dbsession, attachment_id)
    assert stored.filename == "notes.txt"
    assert admin_client.get(download(stored)).body == b"first version\n"
    # The request rolled back: the upload is only the form's temporary one,
    # which nobody can download and gc removes once it expires.
    assert kept_files(dbsession) == ["notes.txt"]
    (upload,) = dbsession.scalars(
        sa.select(StoredFile).where(StoredFile.upload_token.is_not(None))
    )
    assert upload.filename == "notes-2.txt"
    admin_client.get(download(upload), status=404)


def test_a_new_attachment_needs_a_file(
    admin_client: PyramidionTestApp, make_post: Any, dbsession: Any
) -> None:
    post = make_post(admin_client.user)

    page = admin_client.get("/admin/blog/attachment/add")
    assert page.html.select_one("input[type=file]").get("required") is not None
    form = page.forms["deform"]
    form["post_id"] = str(post.id)
    refused = form.submit("add", status=422)

    assert "Required" in refused.html.select_one("form#deform").text
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0


def other_client(app: PyramidionTestApp) -> PyramidionTestApp:
    """A new client of the same app, logged in as nobody."""
    return PyramidionTestApp(app.app)


def test_a_file_added_in_the_admin_is_placed_as_the_blogs_own_uploads(
    admin_client: PyramidionTestApp,
    make_post: Any,
    dbsession: Any,
    auth_make_user: Any,
    auth_logged_in: Any,
) -> None:
    author = auth_make_user("Author")
    post = make_post(author)

    attachment_id = add_attachment(admin_client, post, "notes.txt", b"for the readers\n")

    # Where the blog's own upload (services.attach) puts a post's file:
    # the author's, private, in the blog's realm; not the administrator's.
    stored = current_file(dbsession, attachment_id)
    assert (stored.owner_id, stored.public, stored.realm) == (str(author.id), False, "blog.post")
    anonymous = other_client(admin_client)
    assert anonymous.get(download(stored)).body == b"for the readers\n"
    reader = auth_logged_in(other_client(admin_client), auth_make_user("Reader"))
    assert reader.get(download(stored)).body == b"for the readers\n"


def test_a_file_added_in_the_admin_to_a_hidden_post_follows_the_posts_rules(
    admin_client: PyramidionTestApp,
    make_post: Any,
    dbsession: Any,
    auth_make_user: Any,
    auth_logged_in: Any,
) -> None:
    author = auth_make_user("Author")
    post = make_post(author, hidden=True, hidden_reason="Spam.")

    attachment_id = add_attachment(admin_client, post, "notes.txt", b"hidden\n")

    stored = current_file(dbsession, attachment_id)
    # Like the post itself: nobody but its author and the admins sees it.
    other_client(admin_client).get(download(stored), status=404)
    reader = auth_logged_in(other_client(admin_client), auth_make_user("Reader"))
    reader.get(download(stored), status=404)
    writer = auth_logged_in(other_client(admin_client), author)
    assert writer.get(download(stored)).body == b"hidden\n"
    assert admin_client.get(download(stored)).body == b"hidden\n"


def test_a_replacing_file_keeps_the_replaced_ones_place(
    admin_client: PyramidionTestApp, make_post: Any, dbsession: Any, auth_make_user: Any
) -> None:
    author = auth_make_user("Author")
    post = make_post(author)
    other = make_post(admin_client.user, title="The administrator's")
    attachment_id = add_attachment(admin_client, post, "notes.txt", b"first version\n")

    form = admin_client.get(f"/admin/blog/attachment/{attachment_id}/edit").forms["deform"]
    form["post_id"] = str(other.id)
    form["upload"] = Upload("notes-2.txt", b"second version\n", "text/plain")
    form.submit("save", status=303)

    stored = current_file(dbsession, attachment_id)
    assert stored.filename == "notes-2.txt"
    assert (stored.owner_id, stored.realm) == (str(author.id), "blog.post")


def test_a_not_null_file_column_offers_no_removal(
    admin_client: PyramidionTestApp, make_post: Any, dbsession: Any
) -> None:
    post = make_post(admin_client.user)
    attachment_id = add_attachment(admin_client, post, "notes.txt", b"first version\n")

    form = admin_client.get(f"/admin/blog/attachment/{attachment_id}/edit").forms["deform"]

    assert "file_id__remove" not in form.fields
    form.submit("save", status=303)
    assert current_file(dbsession, attachment_id).filename == "notes.txt"
