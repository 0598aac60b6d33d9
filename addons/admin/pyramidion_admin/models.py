"""The admin's one table: which group holds which admin permission.

A grant gives every member of a group one permission string, such as
``admin.blog.post.change`` (see :func:`pyramidion_admin.options.model_permission`).
Members of the core's admin group need no grants: they may do everything.
"""

from __future__ import annotations

import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pyramidion import Base

__all__ = ["AdminGrant", "utcnow"]


def utcnow() -> datetime.datetime:
    """The current time as naive UTC, as the auth tables store it."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


class AdminGrant(Base):
    """Group ``group_id`` holds ``permission``; deleting the group drops its grants."""

    __tablename__ = "admin_grants"
    __table_args__ = (UniqueConstraint("group_id", "permission"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("auth_groups.id", ondelete="CASCADE"), index=True
    )
    permission: Mapped[str] = mapped_column(String(200), index=True)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<AdminGrant {self.group_id} {self.permission}>"
