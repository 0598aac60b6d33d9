"""Writing, editing and deleting posts, who may do it, and attachments."""

from __future__ import annotations

from typing import Any

import webtest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pyramidion.testing import PyramidionTestApp
from pyramidion_blog.models import Attachment, Post
from pyramidion_storage.models import StoredFile


def post_count(dbsession: Session) -> int:
    dbsession.expire_all()
    return dbsession.scalar(select(func.count()).select_from(Post)) or 0


def test_the_post_list_is_the_site_root_and_shows_who_is_logged_in(
    testapp: PyramidionTestApp, auth_make_user: Any, make_post: Any, auth_logged_in: Any
) -> None:
    author = auth_make_user("Grace Hopper")
    make_post(author, title="Hello, world", body="My first post.")

    anonymous = testapp.get("/")
    assert anonymous.html.select_one("main h1").text == "Posts"
    assert [a.text for a in anonymous.html.select('[data-blog="post-title"]')] == ["Hello, world"]
    assert anonymous.html.select_one('[data-blog="author"]').text == "Grace Hopper"
    login = anonymous.html.select_one('[data-user-menu="login"]')
    assert login["href"] == "http://localhost/auth/login?came_from=%2F"
    assert anonymous.html.select('[data-blog="new-post"]') == []

    auth_logged_in(testapp, author)
    page = testapp.get("/")
    assert page.html.select_one('[data-user-menu="name"]').text == "Grace Hopper"
    assert page.html.select_one('[data-user-menu="logout"]') is not None
    assert page.html.select_one('[data-blog="new-post"]')["href"] == "http://localhost/posts/new"


def test_writing_a_post_with_an_attachment(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_logged_in: Any, dbsession: Session
) -> None:
    author = auth_make_user("Grace Hopper")
    auth_logged_in(testapp, author)

    form = testapp.get("/posts/new").forms["deform"]
    form["title"] = "Notes on COBOL"
    form["body"] = "First paragraph.\n\nSecond paragraph."
    form["upload"] = webtest.Upload("notes.txt", b"compile early, compile often\n", "text/plain")
    page = form.submit("submit", status=303).follow()

    assert page.html.select_one('[data-blog="post-title"]').text == "Notes on COBOL"
    assert [p.text for p in page.html.select('[data-blog="body"] p')] == [
        "First paragraph.",
        "Second paragraph.",
    ]
    assert "Your post is published." in page.html.select_one(".alert-success").text
    link = page.html.select_one('[data-blog="attachment"]')
    assert link.text == "notes.txt"
    download = testapp.get(link["href"])
    assert download.body == b"compile early, compile often\n"
    # Anyone may download the file of a visible post.
    assert PyramidionTestApp(testapp.app).get(link["href"]).status_int == 200

    post = dbsession.scalars(select(Post).where(Post.title == "Notes on COBOL")).one()
    assert post.author_id == author.id
    (attachment,) = post.attachments
    assert attachment.file.realm == "blog.post"
    assert attachment.file.owner_id == str(author.id)


def test_anonymous_visitors_are_sent_to_log_in_before_writing(
    testapp: PyramidionTestApp,
) -> None:
    response = testapp.get("/posts/new", status=303)

    assert response.location == "http://localhost/auth/login?came_from=%2Fposts%2Fnew"
    testapp.post("/posts/new", {"csrf_token": testapp.csrf_token()}, status=303)


def test_a_refused_post_keeps_what_was_typed_and_writes_nothing(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_logged_in: Any, dbsession: Session
) -> None:
    auth_logged_in(testapp, auth_make_user())

    form = testapp.get("/posts/new").forms["deform"]
    form["title"] = ""
    form["body"] = "A body without a title"
    page = form.submit("submit", status=422)

    assert page.forms["deform"]["body"].value == "A body without a title"
    assert "Required" in page.html.select_one(".invalid-feedback, .help-block, .error").text
    assert post_count(dbsession) == 0


def test_the_author_edits_their_post_and_removes_an_attachment(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_logged_in: Any, dbsession: Session
) -> None:
    auth_logged_in(testapp, auth_make_user())
    form = testapp.get("/posts/new").forms["deform"]
    form["title"] = "Draft"
    form["body"] = "Text"
    form["upload"] = webtest.Upload("old.txt", b"old", "text/plain")
    post_url = form.submit("submit", status=303).location

    edit = testapp.get(post_url).click(href="/edit$").forms["deform"]
    assert edit["title"].value == "Draft"
    edit["title"] = "Final"
    edit["body"] = "Better text"
    edit.set("checkbox", True, index=0)
    edit["upload"] = webtest.Upload("new.txt", b"new", "text/plain")
    page = edit.submit("submit", status=303).follow()

    assert page.html.select_one('[data-blog="post-title"]').text == "Final"
    assert [a.text for a in page.html.select('[data-blog="attachment"]')] == ["new.txt"]
    dbsession.expire_all()
    names = dbsession.scalars(select(StoredFile.filename).where(StoredFile.realm == "blog.post"))
    assert sorted(names) == ["new.txt"]


def test_another_user_cannot_edit_or_delete_a_post(
    testapp: PyramidionTestApp,
    auth_make_user: Any,
    make_post: Any,
    auth_logged_in: Any,
    dbsession: Session,
) -> None:
    post = make_post(auth_make_user("Owner"), title="Mine")
    auth_logged_in(testapp, auth_make_user("Mallory"))

    page = testapp.get(f"/posts/{post.id}")
    assert page.html.select('[data-blog="edit"], [data-blog="delete"]') == []
    testapp.get(f"/posts/{post.id}/edit", status=403)
    testapp.get(f"/posts/{post.id}/delete", status=403)
    token = testapp.csrf_token()
    testapp.post(
        f"/posts/{post.id}/edit", {"csrf_token": token, "title": "Pwned", "body": "x"}, status=403
    )
    testapp.post(f"/posts/{post.id}/delete", {"csrf_token": token}, status=403)

    dbsession.expire_all()
    assert dbsession.get(Post, post.id).title == "Mine"  # type: ignore[union-attr]


def test_anonymous_visitors_cannot_edit_or_delete(
    testapp: PyramidionTestApp, auth_make_user: Any, make_post: Any, dbsession: Session
) -> None:
    post = make_post(auth_make_user())

    # Sent to log in first (and back to the edit page afterwards).
    edit = testapp.get(f"/posts/{post.id}/edit", status=303)
    assert edit.location.startswith("http://localhost/auth/login?came_from=")
    deleted = testapp.post(
        f"/posts/{post.id}/delete", {"csrf_token": testapp.csrf_token()}, status=303
    )
    assert deleted.location == "http://localhost/auth/login"
    api = testapp.post(
        f"/posts/{post.id}/delete",
        {"csrf_token": testapp.csrf_token()},
        headers={"Accept": "application/json"},
        status=401,
    )
    assert api.content_type == "application/problem+json"
    assert post_count(dbsession) == 1


def test_the_author_deletes_their_post_and_its_files(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_logged_in: Any, dbsession: Session
) -> None:
    auth_logged_in(testapp, auth_make_user())
    form = testapp.get("/posts/new").forms["deform"]
    form["title"] = "Short-lived"
    form["body"] = "Soon gone"
    form["upload"] = webtest.Upload("gone.txt", b"bytes", "text/plain")
    post_page = form.submit("submit", status=303).follow()
    file_url = post_page.html.select_one('[data-blog="attachment"]')["href"]

    confirm = post_page.click(href="/delete$")
    assert "Delete “Short-lived” and its 1 attached file?" in " ".join(
        confirm.html.select_one("main p").text.split()
    )
    listing = confirm.forms[1].submit(status=303).follow()

    assert "The post “Short-lived” is deleted." in listing.text
    assert listing.html.select('[data-blog="post"]') == []
    testapp.get(post_page.request.path, status=404)
    testapp.get(file_url, status=404)
    assert post_count(dbsession) == 0
    assert dbsession.scalar(select(func.count()).select_from(Attachment)) == 0


def test_an_admin_may_edit_and_delete_any_post(
    testapp: PyramidionTestApp,
    auth_make_user: Any,
    make_post: Any,
    auth_logged_in: Any,
    dbsession: Session,
) -> None:
    post = make_post(auth_make_user("Author"), title="Needs a fix")
    auth_logged_in(testapp, auth_make_user("Admin", admin=True))

    edit = testapp.get(f"/posts/{post.id}/edit").forms["deform"]
    edit["title"] = "Fixed by an admin"
    edit.submit("submit", status=303)
    dbsession.expire_all()
    assert dbsession.get(Post, post.id).title == "Fixed by an admin"  # type: ignore[union-attr]

    testapp.post(f"/posts/{post.id}/delete", {"csrf_token": testapp.csrf_token()}, status=303)
    assert post_count(dbsession) == 0


def test_a_post_that_does_not_exist_is_404(testapp: PyramidionTestApp) -> None:
    page = testapp.get("/posts/999999", status=404)

    assert "There is nothing at this address." in page.text


def test_forms_without_the_csrf_token_are_refused_and_change_nothing(
    testapp: PyramidionTestApp,
    auth_make_user: Any,
    make_post: Any,
    auth_logged_in: Any,
    dbsession: Session,
) -> None:
    author = auth_make_user()
    post = make_post(author, title="Untouched")
    auth_logged_in(testapp, author)

    for url, data in [
        ("/posts/new", {"title": "Forged", "body": "x"}),
        (f"/posts/{post.id}/edit", {"title": "Forged", "body": "x"}),
        (f"/posts/{post.id}/delete", {}),
    ]:
        refused = testapp.post(url, data, status=400)
        assert "This form has expired or was not sent from this site." in refused.text
        wrong = testapp.post(url, {**data, "csrf_token": "not-the-token"}, status=400)
        assert "This form has expired" in wrong.text

    dbsession.expire_all()
    assert [p.title for p in dbsession.scalars(select(Post))] == ["Untouched"]
