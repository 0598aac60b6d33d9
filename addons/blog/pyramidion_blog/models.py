"""The blog's tables: posts and their file attachments.

A post belongs to the auth add-on's user who wrote it; an attachment points
at a :class:`~pyramidion_storage.models.StoredFile` saved in the realm
``blog.post``, so whoever may see the post may download its files.
"""

from __future__ import annotations

import datetime
from typing import Any

from pyramid.authorization import Allow, Everyone
from sqlalchemy import Boolean, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pyramidion import Base
from pyramidion_auth.models import User
from pyramidion_storage.models import StoredFile, file_id_column, file_relationship

__all__ = ["Attachment", "Post", "utcnow"]

#: What a post's owner may do to it; admins may do everything (the root's rule).
OWNER_PERMISSIONS = ("view", "blog.post.edit", "blog.post.delete")


def utcnow() -> datetime.datetime:
    """The current time as naive UTC, as the auth add-on stores times."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


class Post(Base):
    """A post. Everyone may read it unless a moderator has hidden it; then
    only its author and admins see it."""

    __tablename__ = "blog_posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(
        ForeignKey("auth_users.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime.datetime] = mapped_column(
        DateTime, default=utcnow, onupdate=utcnow
    )
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Why a moderator hid the post; shown to its author.
    hidden_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    hidden_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, default=None)

    author: Mapped[User] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="post", cascade="all, delete-orphan", order_by="Attachment.id"
    )

    @property
    def __acl__(self) -> list[tuple[str, str, Any]]:
        rules: list[tuple[str, str, Any]] = [(Allow, f"user:{self.author_id}", OWNER_PERMISSIONS)]
        if not self.hidden:
            rules.append((Allow, Everyone, "view"))
        return rules

    def __repr__(self) -> str:
        return f"<Post {self.id}>"


class Attachment(Base):
    """A file attached to a post; deleting the post deletes the attachment."""

    __tablename__ = "blog_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(
        ForeignKey("blog_posts.id", ondelete="CASCADE"), index=True
    )
    file_id: Mapped[int] = file_id_column(nullable=False)

    post: Mapped[Post] = relationship(back_populates="attachments")
    file: Mapped[StoredFile] = file_relationship()
