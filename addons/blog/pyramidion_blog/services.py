"""Queries and changes the views share: listing, searching and paging
posts, attaching files and deleting posts with their files."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.orm import joinedload, selectinload

from .models import Attachment, Post, utcnow

if TYPE_CHECKING:
    from pyramid.request import Request
    from sqlalchemy.orm import Session

__all__ = [
    "PostPage",
    "adopt",
    "attach",
    "delete_post",
    "file_placement",
    "hide_post",
    "list_posts",
    "search_condition",
    "show_post",
    "visible_to",
]

#: The realm the blog saves files in; storage asks the blog who may download them.
FILE_REALM = "blog.post"

#: Longest search text used; longer input is cut.
MAX_QUERY_LENGTH = 200


@dataclass(frozen=True)
class PostPage:
    """One page of posts, and where it lies among all the matching ones."""

    posts: list[Post]
    total: int
    number: int
    pages: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def _like_pattern(text: str) -> str:
    # LIKE's wildcards in what people type are matched literally.
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_condition(query: str) -> ColumnElement[bool]:
    """Posts whose title or body contains ``query``, ignoring case.

    ``ilike`` is ILIKE on PostgreSQL and ``lower() LIKE lower()`` on
    SQLite, whose ``lower`` folds only ASCII letters.
    """
    pattern = _like_pattern(query)
    return or_(Post.title.ilike(pattern, escape="\\"), Post.body.ilike(pattern, escape="\\"))


def visible_to(user_id: int | None, *, moderator: bool) -> ColumnElement[bool]:
    """Posts someone may see: moderators all, authors also their hidden ones."""
    if moderator:
        return true()
    if user_id is None:
        return Post.hidden.is_(False)
    return or_(Post.hidden.is_(False), Post.author_id == user_id)


def list_posts(
    dbsession: Session,
    *,
    user_id: int | None,
    moderator: bool,
    query: str = "",
    page: int = 1,
    per_page: int = 10,
) -> PostPage:
    """Page ``page`` of the posts someone may see, newest first, matching
    ``query`` when given.

    A page number past the end gives the last page. Authors and
    attachments (with their files) are loaded with the page: three
    queries, however many posts the page shows.
    """
    conditions = [visible_to(user_id, moderator=moderator)]
    query = query.strip()[:MAX_QUERY_LENGTH]
    if query:
        conditions.append(search_condition(query))
    total = dbsession.scalar(select(func.count()).select_from(Post).where(*conditions)) or 0
    pages = max(1, math.ceil(total / per_page))
    number = min(max(1, page), pages)
    posts = dbsession.scalars(
        select(Post)
        .where(*conditions)
        .options(joinedload(Post.author), selectinload(Post.attachments))
        .order_by(Post.created_at.desc(), Post.id.desc())
        .limit(per_page)
        .offset((number - 1) * per_page)
    ).all()
    return PostPage(list(posts), total, number, pages)


def file_placement(post: Post) -> dict[str, Any]:
    """Where a file attached to ``post`` belongs (``request.storage.keep``'s
    keywords): owned by the post's author, private, in the blog's realm, so
    whoever may view the post may download it."""
    return {"owner_id": str(post.author_id), "public": False, "realm": FILE_REALM}


def attach(request: Request, post: Post, upload: Any) -> Attachment:
    """Keep this client's temporary ``upload`` (the upload widget's value)
    as a file of ``post``, owned by the post's author."""
    stored = request.storage.keep(upload, **file_placement(post))
    attachment = Attachment(file=stored)
    post.attachments.append(attachment)
    return attachment


def adopt(request: Request, post: Post, key: str) -> Attachment | None:
    """Attach the file ``key`` that the post's author uploaded through the API
    (``POST /api/v1/files``): from now on whoever may view the post may
    download it. None, and nothing changed, unless the file is the
    author's, kept, and not already adopted by another record."""
    from pyramidion_storage.models import StoredFile

    stored = request.dbsession.scalars(
        select(StoredFile).where(StoredFile.key == key)
    ).one_or_none()
    if (
        stored is None
        or stored.temporary
        or stored.realm is not None
        or stored.owner_id != str(post.author_id)
    ):
        return None
    stored.realm = FILE_REALM
    attachment = Attachment(file=stored)
    post.attachments.append(attachment)
    return attachment


def detach(request: Request, post: Post, attachment: Attachment) -> None:
    """Remove an attachment; its bytes are deleted once the transaction commits."""
    post.attachments.remove(attachment)
    request.storage.delete(attachment.file)


def delete_post(request: Request, post: Post) -> None:
    """Delete a post, its attachments and their files (bytes after the commit)."""
    for attachment in list(post.attachments):
        detach(request, post, attachment)
    request.dbsession.delete(post)


def hide_post(post: Post, reason: str) -> None:
    """Hide a post from everyone but its author and admins, saying why."""
    post.hidden = True
    post.hidden_reason = reason
    post.hidden_at = utcnow()


def show_post(post: Post) -> None:
    """Undo :func:`hide_post`."""
    post.hidden = False
    post.hidden_reason = None
    post.hidden_at = None
