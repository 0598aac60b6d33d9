"""Admins hide posts with a reason and show them again; hidden posts and
their files are invisible to everyone but their author and admins."""

from __future__ import annotations

from typing import Any

import webtest
from sqlalchemy.orm import Session

from pyramidion.testing import PyramidionTestApp
from pyramidion_blog.models import Post


def titles(page: Any) -> list[str]:
    return [a.text for a in page.html.select('[data-blog="post-title"]')]


def test_an_admin_hides_a_post_with_a_reason_and_shows_it_again(
    testapp: PyramidionTestApp,
    client: Any,
    auth_make_user: Any,
    make_post: Any,
    auth_logged_in: Any,
    dbsession: Session,
) -> None:
    author = auth_make_user("Author")
    post = make_post(author, title="Spam, spam, spam")
    admin = auth_logged_in(testapp, auth_make_user("Moderator", admin=True))

    form = admin.get(f"/posts/{post.id}").click(href="/hide$").forms["hide"]
    form["reason"] = "Advertising"
    page = form.submit("submit", status=303).follow()

    assert "The post is hidden" in page.html.select_one(".alert-success").text
    assert page.html.select_one('[data-blog="hidden-reason"]').text == "Advertising"
    assert titles(admin.get("/")) == ["Spam, spam, spam"]
    assert admin.get("/").html.select_one('[data-blog="hidden"]').text == "Hidden"

    # Others see nothing, as if the post did not exist.
    anonymous = client()
    assert titles(anonymous.get("/")) == []
    anonymous.get(f"/posts/{post.id}", status=404)
    stranger = auth_logged_in(client(), auth_make_user("Stranger"))
    assert titles(stranger.get("/")) == []
    stranger.get(f"/posts/{post.id}", status=404)
    stranger.get(f"/posts/{post.id}/edit", status=404)

    # The author still sees it, and why it is hidden.
    owner = auth_logged_in(client(), author)
    assert titles(owner.get("/")) == ["Spam, spam, spam"]
    reason = owner.get(f"/posts/{post.id}").html.select_one('[data-blog="hidden-reason"]')
    assert reason.text == "Advertising"

    shown = admin.get(f"/posts/{post.id}").forms[1].submit(status=303).follow()
    assert "visible to everyone again" in shown.text
    assert titles(anonymous.get("/")) == ["Spam, spam, spam"]
    dbsession.expire_all()
    assert dbsession.get(Post, post.id).hidden_reason is None  # type: ignore[union-attr]


def test_hiding_needs_a_reason(
    testapp: PyramidionTestApp,
    auth_make_user: Any,
    make_post: Any,
    auth_logged_in: Any,
    dbsession: Session,
) -> None:
    post = make_post(auth_make_user())
    auth_logged_in(testapp, auth_make_user(admin=True))

    form = testapp.get(f"/posts/{post.id}/hide").forms["hide"]
    form["reason"] = ""
    form.submit("submit", status=422)

    dbsession.expire_all()
    assert dbsession.get(Post, post.id).hidden is False  # type: ignore[union-attr]


def test_only_admins_may_moderate(
    testapp: PyramidionTestApp,
    auth_make_user: Any,
    make_post: Any,
    auth_logged_in: Any,
    dbsession: Session,
) -> None:
    author = auth_make_user()
    post = make_post(author)
    hidden = make_post(author, hidden=True, hidden_reason="Off topic")
    auth_logged_in(testapp, author)

    assert testapp.get(f"/posts/{post.id}").html.select('[data-blog="hide"]') == []
    testapp.get(f"/posts/{post.id}/hide", status=403)
    token = testapp.csrf_token()
    testapp.post(f"/posts/{post.id}/hide", {"csrf_token": token, "reason": "mine"}, status=403)
    testapp.post(f"/posts/{hidden.id}/unhide", {"csrf_token": token}, status=403)

    dbsession.expire_all()
    assert dbsession.get(Post, post.id).hidden is False  # type: ignore[union-attr]
    assert dbsession.get(Post, hidden.id).hidden is True  # type: ignore[union-attr]


def test_files_of_a_hidden_post_cannot_be_downloaded_by_others(
    testapp: PyramidionTestApp,
    client: Any,
    auth_make_user: Any,
    auth_logged_in: Any,
    dbsession: Session,
    tm: Any,
) -> None:
    auth_logged_in(testapp, auth_make_user())
    form = testapp.get("/posts/new").forms["deform"]
    form["title"] = "With a file"
    form["body"] = "See attached."
    form["upload"] = webtest.Upload("report.txt", b"numbers", "text/plain")
    page = form.submit("submit", status=303).follow()
    file_url = page.html.select_one('[data-blog="attachment"]')["href"]
    post_id = int(page.request.path.rsplit("/", 1)[1])

    anonymous = client()
    assert anonymous.get(file_url).body == b"numbers"
    post = dbsession.get(Post, post_id)
    assert post is not None
    post.hidden = True
    tm.commit()

    anonymous.get(file_url, status=404)
    assert testapp.get(file_url).body == b"numbers"
    admin = auth_logged_in(client(), auth_make_user(admin=True))
    assert admin.get(file_url).body == b"numbers"
