"""The admin's tables: which group holds which admin permission, and the
history of changes.

A grant gives every member of a group one permission string, such as
``admin.blog.post.change`` (see :func:`pyramidion_admin.options.model_permission`).
Members of the core's admin group need no grants: they may do everything.
"""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pyramidion import Base

__all__ = ["AdminGrant", "HistoryRecord", "utcnow"]


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


class HistoryRecord(Base):
    """One change to one object: who, when, what, and which fields changed.

    Written by :func:`pyramidion_admin.history.record_change`. The object is
    named by add-on, model and primary key (a string), never by a foreign
    key, so the records of a deleted object stay readable; the actor is
    kept as a label (their email) besides the nullable user id, so the
    records of a deleted user stay readable too.
    """

    __tablename__ = "admin_history"
    __table_args__ = (
        Index("ix_admin_history_object", "addon", "model", "object_pk", "id"),
        Index("ix_admin_history_model", "addon", "model", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: When, as naive UTC (the form the auth tables store).
    at: Mapped[datetime.datetime] = mapped_column(DateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("auth_users.id", ondelete="SET NULL"), index=True
    )
    #: The actor's email when the change was made; "" for a change no user made.
    actor_label: Mapped[str] = mapped_column(String(254), index=True)
    addon: Mapped[str] = mapped_column(String(100))
    model: Mapped[str] = mapped_column(String(100))
    object_pk: Mapped[str] = mapped_column(String(200))
    object_repr: Mapped[str] = mapped_column(String(200))
    #: ``add``, ``change``, ``delete`` or the name of a custom action.
    action: Mapped[str] = mapped_column(String(100), index=True)
    #: ``{field: [old, new]}``; a secret field's value is the string "(changed)".
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message: Mapped[str] = mapped_column(Text, default="")
    request_id: Mapped[str] = mapped_column(String(200), default="")
