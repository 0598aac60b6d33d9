"""Searching and paging the list of posts, in few queries."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from pyramidion.testing import PyramidionTestApp
from pyramidion_blog.models import Attachment, Post
from pyramidion_storage.models import StoredFile


def titles(page: Any) -> list[str]:
    return [a.text for a in page.html.select('[data-blog="post-title"]')]


@pytest.fixture
def dated_posts(auth_make_user: Any, dbsession: Session, tm: Any) -> list[str]:
    """Twelve posts by three authors, each with one attachment; titles
    newest first."""
    authors = [auth_make_user(f"Author {n}") for n in range(3)]
    start = datetime.datetime(2026, 1, 1)
    titles = []
    for n in range(12):
        post = Post(
            author_id=authors[n % 3].id,
            title=f"Post {n:02d}",
            body=f"Body of post {n}",
            created_at=start + datetime.timedelta(days=n),
        )
        stored = StoredFile(
            key=f"{n:032x}",
            filename=f"file-{n}.txt",
            content_type="text/plain",
            size=1,
            sha256="0" * 64,
            realm="blog.post",
            owner_id=str(post.author_id),
        )
        post.attachments.append(Attachment(file=stored))
        dbsession.add(post)
        titles.append(post.title)
    dbsession.flush()
    tm.commit()
    return titles[::-1]


def test_posts_are_paged_newest_first(testapp: PyramidionTestApp, dated_posts: list[str]) -> None:
    first = testapp.get("/")
    assert titles(first) == dated_posts[:5]
    assert first.html.select_one('[data-blog="page-number"]').text == "Page 1 of 3"
    assert first.html.select('[data-blog="previous"]') == []

    second = first.click(href="page=2")
    assert titles(second) == dated_posts[5:10]
    third = second.click(href="page=3")
    assert titles(third) == dated_posts[10:]
    assert third.html.select('[data-blog="next"]') == []
    assert titles(third.click(href="page=2")) == dated_posts[5:10]

    # Out-of-range and nonsense page numbers land on a real page.
    assert titles(testapp.get("/?page=99")) == dated_posts[10:]
    assert titles(testapp.get("/?page=abc")) == dated_posts[:5]


def test_the_list_costs_the_same_few_queries_however_many_posts_it_shows(
    testapp: PyramidionTestApp, dated_posts: list[str], queries: list[str]
) -> None:
    queries.clear()
    page = testapp.get("/")

    assert len(page.html.select('[data-blog="post"]')) == 5
    assert len(page.html.select('[data-blog="attachment"]')) == 5
    assert len({a.text for a in page.html.select('[data-blog="author"]')}) == 3
    # A count, the page with its authors, the page's attachments with their files.
    assert len(queries) == 3, "\n\n".join(queries)


def test_search_matches_titles_and_bodies_ignoring_case(
    testapp: PyramidionTestApp, auth_make_user: Any, make_post: Any
) -> None:
    author = auth_make_user()
    make_post(author, title="Pyramid tips", body="Traversal is fun.")
    make_post(author, title="Gardening", body="Tomatoes love the sun; so does PYRAMID.")
    make_post(author, title="Cooking", body="Nothing to see here.")

    found = testapp.get("/", params={"q": "pyramid"})
    assert sorted(titles(found)) == ["Gardening", "Pyramid tips"]
    assert found.html.select_one("main h1").text == "Posts matching “pyramid”"
    assert found.forms[0]["q"].value == "pyramid"
    assert titles(testapp.get("/", params={"q": "TRAVERSAL"})) == ["Pyramid tips"]

    nothing = testapp.get("/", params={"q": "kubernetes"})
    assert titles(nothing) == []
    assert nothing.html.select_one('[data-blog="empty"]').text.strip() == (
        "No post matches “kubernetes”."
    )


def test_search_treats_wildcards_as_plain_text(
    testapp: PyramidionTestApp, auth_make_user: Any, make_post: Any
) -> None:
    author = auth_make_user()
    make_post(author, title="100% done", body="Finished.")
    make_post(author, title="1000 done", body="Many.")
    make_post(author, title="snake_case", body="Names.")
    make_post(author, title="snakeXcase", body="Other names.")

    assert titles(testapp.get("/", params={"q": "100%"})) == ["100% done"]
    assert titles(testapp.get("/", params={"q": "snake_"})) == ["snake_case"]


def test_search_results_are_paged_and_pages_keep_the_search(
    testapp: PyramidionTestApp, auth_make_user: Any, make_post: Any
) -> None:
    author = auth_make_user()
    for n in range(7):
        make_post(author, title=f"Match {n}", body="needle")
    make_post(author, title="Other", body="haystack")

    first = testapp.get("/", params={"q": "NEEDLE"})
    assert first.html.select_one('[data-blog="page-number"]').text == "Page 1 of 2"
    second = first.click(href="page=2")
    assert "q=NEEDLE" in second.request.url
    assert len(titles(first)) + len(titles(second)) == 7
    assert "Other" not in titles(first) + titles(second)
