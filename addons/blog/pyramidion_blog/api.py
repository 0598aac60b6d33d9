"""The blog's posts over the API, registered only when ``api`` is enabled.

``/api/v1/posts`` is a resource of ``config.add_api_resource`` with the
same rules as the pages: everyone lists and reads visible posts (``?q=``
searches titles and bodies), logged-in users write them, authors edit
and delete their own, moderators (admins) see everything and hide and
show posts (``POST /posts/{id}/hide`` ``{"reason"}``, ``POST
/posts/{id}/unhide``). The contexts are the pages' own
(:mod:`pyramidion_blog.resources`), so their ``__acl__`` decides here too.

Attachments take two steps, as the form's upload widget does: upload the
file (``POST /api/v1/files``, storage's operation), then send its key in
the post's ``attachments``. On PATCH and PUT ``attachments`` is the
post's whole list: a key left out is removed, with its file.

This module uses only the directives the api add-on adds; it never
imports ``pyramidion_api``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import colander
from sqlalchemy.orm import joinedload

from pyramidion_forms import ValidationFailed

from .models import Post
from .resources import blog_factory, post_factory
from .schemas import HideSchema, PostJsonSchema
from .services import (
    MAX_QUERY_LENGTH,
    adopt,
    delete_post,
    detach,
    hide_post,
    search_condition,
    show_post,
    visible_to,
)

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request
    from sqlalchemy import Select

__all__ = ["includeme", "post_json"]


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat() + "Z"


def post_json(request: Request, post: Post) -> dict[str, Any]:
    """A post as the API answers it, with its attachments' download addresses."""
    return {
        "id": post.id,
        "title": post.title,
        "body": post.body,
        "author_id": post.author_id,
        "created_at": _iso(post.created_at),
        "updated_at": _iso(post.updated_at),
        "hidden": post.hidden,
        "hidden_reason": post.hidden_reason,
        "attachments": [
            {
                "key": a.file.key,
                "filename": a.file.filename,
                "content_type": a.file.content_type,
                "size": a.file.size,
                "url": request.route_url("storage.file", key=a.file.key),
            }
            for a in post.attachments
        ],
    }


class AttachmentOut(colander.Schema):  # type: ignore[misc]
    key = colander.SchemaNode(colander.String())
    filename = colander.SchemaNode(colander.String())
    content_type = colander.SchemaNode(colander.String())
    size = colander.SchemaNode(colander.Integer())
    url = colander.SchemaNode(colander.String())


class PostOut(colander.Schema):  # type: ignore[misc]
    id = colander.SchemaNode(colander.Integer())
    title = colander.SchemaNode(colander.String())
    body = colander.SchemaNode(colander.String())
    author_id = colander.SchemaNode(colander.Integer())
    created_at = colander.SchemaNode(colander.String())
    updated_at = colander.SchemaNode(colander.String())
    hidden = colander.SchemaNode(colander.Boolean())
    hidden_reason = colander.SchemaNode(colander.String(), missing=None)
    attachments = colander.SchemaNode(colander.Sequence(), AttachmentOut())


SEARCH_PARAMETER = {
    "name": "q",
    "in": "query",
    "required": False,
    "description": "Only posts whose title or body contains this text, ignoring case "
    f"(its first {MAX_QUERY_LENGTH} characters).",
    "schema": {"type": "string"},
}


def visible_posts(request: Request, statement: Select[Any]) -> Select[Any]:
    """The list: the posts the client may see, matching ``?q=`` when given."""
    userid = request.authenticated_userid
    moderator = bool(request.has_permission("blog.post.moderate", request.context))
    statement = statement.where(
        visible_to(None if userid is None else int(userid), moderator=moderator)
    )
    query = str(request.GET.get("q", "")).strip()[:MAX_QUERY_LENGTH]
    if query:
        statement = statement.where(search_condition(query))
    return statement


def _attach_keys(request: Request, post: Post, keys: list[str]) -> None:
    known = {a.file.key for a in post.attachments}
    errors = {}
    for index, key in enumerate(keys):
        if key not in known and adopt(request, post, key) is None:
            errors[f"attachments.{index}"] = (
                "No file of yours with this key is free to attach: upload it first "
                "with POST /files, as the post's author."
            )
    if errors:
        raise ValidationFailed(errors)


def create_post(request: Request, data: dict[str, Any]) -> Post:
    """A new post by the client's user, with the files it names."""
    post = Post(
        author_id=int(request.authenticated_userid), title=data["title"], body=data["body"]
    )
    request.dbsession.add(post)
    _attach_keys(request, post, list(data.get("attachments", ())))
    return post


def update_post(request: Request, post: Post, data: dict[str, Any]) -> None:
    """Change the fields sent; ``attachments``, when sent, is the whole list."""
    for name in ("title", "body"):
        if name in data:
            setattr(post, name, data[name])
    if "attachments" in data:
        keys = list(data["attachments"])
        for attachment in list(post.attachments):
            if attachment.file.key not in keys:
                detach(request, post, attachment)
        _attach_keys(request, post, keys)


def remove_post(request: Request, post: Post) -> None:
    """Delete the post with its attachments and their files."""
    delete_post(request, post)


def hide(context: Post, request: Request) -> dict[str, Any]:
    """Hide a post from everyone but its author and moderators, saying why."""
    hide_post(context, request.api_input["reason"])
    return post_json(request, context)


def unhide(context: Post, request: Request) -> dict[str, Any]:
    """Show a hidden post to everyone again."""
    show_post(context)
    return post_json(request, context)


def includeme(config: Configurator) -> None:
    """Add the resource ``posts`` and the moderation operations (see the module)."""
    config.add_api_resource(
        "posts",
        model=Post,
        schema=PostJsonSchema,
        factory=blog_factory,
        item_factory=post_factory,
        serializer=post_json,
        response_schema=PostOut,
        filters=("author_id",),
        sort=("created_at", "title"),
        ordering=("-created_at",),
        permissions={
            "list": "blog.post.list",
            "create": "blog.post.add",
            "get": "view",
            "update": "blog.post.edit",
            "replace": "blog.post.edit",
            "delete": "blog.post.delete",
        },
        query=visible_posts,
        parameters=(SEARCH_PARAMETER,),
        query_options=(joinedload(Post.attachments),),
        create=create_post,
        update=update_post,
        delete=remove_post,
        description="The blog's posts, under the same rules as its pages.",
    )
    for view, path in ((hide, "/posts/{id}/hide"), (unhide, "/posts/{id}/unhide")):
        config.add_api_view(
            view,
            path,
            "POST",
            factory=post_factory,
            request_schema=HideSchema if view is hide else None,
            response_schema=PostOut,
            permission="blog.post.moderate",
            tags=("posts",),
        )
