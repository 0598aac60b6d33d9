"""A post form sent twice (a double click, a reload, a retry after a lost
response) publishes one post: every form carries a one-time token, and a
second submission with it gets the first response again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import webtest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pyramidion.testing import PyramidionTestApp
from pyramidion_blog.models import Attachment, Post


def count(dbsession: Session, model: type[Any]) -> int:
    dbsession.expire_all()
    return dbsession.scalar(select(func.count()).select_from(model)) or 0


def new_post_form(testapp: PyramidionTestApp, title: str = "Once only") -> webtest.Form:
    form = testapp.get("/posts/new").forms["deform"]
    form["title"] = title
    form["body"] = "Sent twice, published once."
    form["upload"] = webtest.Upload("once.txt", b"one file\n", "text/plain")
    return form


def test_a_post_sent_twice_is_published_once_and_the_second_gets_the_same_redirect(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_logged_in: Any, dbsession: Session
) -> None:
    auth_logged_in(testapp, auth_make_user("Grace Hopper"))
    form = new_post_form(testapp)
    assert form["idempotency_key"].value

    first = form.submit("submit", status=303)
    again = form.submit("submit", status=303)

    assert again.location == first.location
    assert again.headers["Idempotency-Replayed"] == "true"
    assert "Idempotency-Replayed" not in first.headers
    assert count(dbsession, Post) == 1
    # The duplicate's upload stays a temporary file that expires (storage
    # keeps uploads apart from the form's transaction); only one is used.
    assert count(dbsession, Attachment) == 1
    assert again.follow().html.select_one('[data-blog="post-title"]').text == "Once only"


def test_each_rendered_form_has_its_own_token(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_logged_in: Any, dbsession: Session
) -> None:
    auth_logged_in(testapp, auth_make_user())

    first = new_post_form(testapp, "First")
    second = new_post_form(testapp, "Second")
    first.submit("submit", status=303)
    second.submit("submit", status=303)

    assert first["idempotency_key"].value != second["idempotency_key"].value
    assert count(dbsession, Post) == 2


def test_a_refused_submission_leaves_the_token_usable_and_the_form_shown_again_works(
    testapp: PyramidionTestApp, auth_make_user: Any, auth_logged_in: Any, dbsession: Session
) -> None:
    auth_logged_in(testapp, auth_make_user())
    form = new_post_form(testapp)
    form["title"] = ""

    refused = form.submit("submit", status=422)
    # The same token, now with valid data: the refusal did not use it up.
    form["title"] = "Fixed"
    fixed = form.submit("submit", status=303)

    assert "Idempotency-Replayed" not in fixed.headers
    assert count(dbsession, Post) == 1
    # The form shown again after the error carries a token that works too.
    again = refused.forms["deform"]
    assert again["idempotency_key"].value not in ("", form["idempotency_key"].value)
    again["title"] = "From the form shown again"
    again["upload"] = webtest.Upload("again.txt", b"again\n", "text/plain")
    again.submit("submit", status=303)
    assert count(dbsession, Post) == 2


def test_another_session_cannot_replay_the_token(
    testapp: PyramidionTestApp,
    client: Callable[[], PyramidionTestApp],
    auth_make_user: Any,
    auth_logged_in: Any,
    dbsession: Session,
) -> None:
    author = auth_make_user("Grace Hopper")
    auth_logged_in(testapp, author)
    form = new_post_form(testapp)
    first = form.submit("submit", status=303)
    other = auth_logged_in(client(), author)  # the same user, another browser
    copied = new_post_form(other, "From elsewhere")
    copied["idempotency_key"].force_value(form["idempotency_key"].value)

    response = copied.submit("submit", status=303)

    assert "Idempotency-Replayed" not in response.headers
    assert response.location != first.location
    assert count(dbsession, Post) == 2
