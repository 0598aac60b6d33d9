"""The blog's posts in the admin, included only when ``admin`` is enabled.

``/admin/blog/post/`` lists posts newest first with their author; search
titles and bodies; the filter "Hidden" is the moderation queue. Bulk
actions hide the selected posts (with the reason the confirmation page
asks for, which the history records too, else a standard one) and show them again, through the same
functions as the post pages' moderation (:func:`~pyramidion_blog.services.hide_post`).
``/admin/blog/attachment/`` lists the posts' attachments; with storage's
file store (always, as the blog requires storage), an attachment's form
replaces its file by upload, and a file added there is placed as the
blog's own uploads place it (:func:`attachment_placement`): readable by
whoever may view the post.
This module uses only the admin's directive; it never imports the admin.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .models import Attachment, Post
from .services import file_placement, hide_post, show_post

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request

__all__ = ["DEFAULT_REASON", "attachment_placement", "hide_posts", "includeme", "show_posts"]

#: The reason a post hidden from the admin shows its author when none was given.
DEFAULT_REASON = "Hidden by a moderator."


def hide_posts(request: Request, posts: Sequence[Post]) -> str:
    """Admin action: hide the posts from everyone but their authors and admins.

    The reason is the confirmation form's ``reason`` field when it has one.
    """
    reason = str(request.POST.get("reason", "")).strip()[:500] or DEFAULT_REASON
    for post in posts:
        hide_post(post, reason)
    return f"{len(posts)} post{'' if len(posts) == 1 else 's'} hidden: {reason}"


def show_posts(request: Request, posts: Sequence[Post]) -> str:
    """Admin action: show hidden posts to everyone again."""
    for post in posts:
        show_post(post)
    return f"{len(posts)} post{'' if len(posts) == 1 else 's'} shown again."


def attachment_placement(
    request: Request, attachment: Attachment, field: str
) -> dict[str, Any] | None:
    """Where a file added to an attachment in the admin belongs: where the
    blog's own upload puts it (:func:`~pyramidion_blog.services.file_placement`),
    so the post's readers may download it. None (the admin's own, private)
    when the attachment names no post."""
    post = None if attachment.post_id is None else request.dbsession.get(Post, attachment.post_id)
    return None if post is None else file_placement(post)


def includeme(config: Configurator) -> None:
    """Register :class:`~pyramidion_blog.models.Post` and
    :class:`~pyramidion_blog.models.Attachment` with the admin."""
    config.add_admin_model(
        Post,
        list_display=("title", "author", "hidden", "created_at"),
        search_fields=("title", "body"),
        list_filter=("hidden", "created_at", "author"),
        ordering=("-created_at",),
        fields=("title", "body"),
        readonly_fields=("hidden", "hidden_reason", "hidden_at", "created_at", "updated_at"),
        inlines=("attachments",),
        actions=[
            {
                "name": "hide",
                "label": "Hide",
                "handler": hide_posts,
                "asks": [("reason", "Reason (the authors see it)")],
            },
            {"name": "show", "label": "Show again", "handler": show_posts},
        ],
    )
    config.add_admin_model(
        Attachment,
        list_display=("id", "post", "file"),
        list_filter=("post",),
        fields=("post_id", "file_id"),
        file_placement=attachment_placement,
    )
