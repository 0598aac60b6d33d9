"""Contexts whose ``__acl__`` decide who may do what to posts.

The collection (:class:`Blog`) lets everyone list posts and logged-in
users write them; each :class:`~pyramidion_blog.models.Post` lets its
author edit and delete it. Both sit under the root, whose rule lets
admins do everything, moderation included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyramid.authorization import Allow, Authenticated, Everyone
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.interfaces import IRootFactory
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from pyramidion import model_factory

from .models import Attachment, Post

if TYPE_CHECKING:
    from pyramid.request import Request

    from pyramidion_storage.models import StoredFile

__all__ = ["Blog", "blog_factory", "new_post_factory", "post_factory", "post_of_file"]

# Every page and API answer of a post shows its attachments: they come with
# the post, in its SELECT, rather than in a query of their own.
_load_post = model_factory(Post, options=(joinedload(Post.attachments),))


def _root(request: Request) -> Any:
    return request.registry.getUtility(IRootFactory)(request)


class Blog:
    """All posts: everyone may list them, logged-in users may add one."""

    __name__ = ""
    __acl__ = [  # noqa: RUF012
        (Allow, Everyone, "blog.post.list"),
        (Allow, Authenticated, "blog.post.add"),
    ]

    def __init__(self, parent: Any) -> None:
        self.__parent__ = parent


def blog_factory(request: Request) -> Blog:
    """Route factory of the list: the collection under the root."""
    return Blog(_root(request))


def new_post_factory(request: Request) -> Blog:
    """Route factory of the new-post page: anonymous visitors are sent to
    log in first, and come back here afterwards."""
    if request.authenticated_userid is None:
        login = request.route_url("auth.login", _query={"came_from": request.path_qs})
        raise HTTPSeeOther(location=login)
    return blog_factory(request)


def post_factory(request: Request) -> Post:
    """Route factory of a post's pages: the post named by ``{id}``.

    A hidden post is answered 404 to everyone who may not see it, exactly
    like a post that does not exist.
    """
    post = _load_post(request)
    if post.hidden and not request.has_permission("view", post):
        raise HTTPNotFound()
    return post


def post_of_file(request: Request, stored: StoredFile) -> Post | None:
    """The post a file in realm ``blog.post`` is attached to (storage's
    ``add_file_context``): whoever may view the post may download it.
    None, so 404, for a hidden post the requester may not see."""
    post: Post | None = request.dbsession.scalars(
        select(Post).join(Attachment).where(Attachment.file_id == stored.id)
    ).one_or_none()
    if post is None:
        return None
    # The post's rules, and then the root's admin rule, decide.
    setattr(post, "__parent__", _root(request))  # noqa: B010
    if post.hidden and not request.has_permission("view", post):
        return None
    return post
