"""Notes (with a version counter) and tags (without one) for the API's tests."""

from __future__ import annotations

import datetime
import enum
from typing import Any

from pyramid.authorization import Allow, Authenticated
from sqlalchemy import Column, Date, DateTime, Enum, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pyramidion import Base


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


class Status(enum.Enum):
    draft = "draft"
    published = "published"


note_tags = Table(
    "apitest_note_tags",
    Base.metadata,
    Column("note_id", ForeignKey("apitest_notes.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("apitest_tags.id", ondelete="CASCADE"), primary_key=True),
)


class Tag(Base):
    __tablename__ = "apitest_tags"
    __acl__ = [(Allow, Authenticated, ("view", "edit", "delete"))]  # noqa: RUF012

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)


class Note(Base):
    """A note: logged-in users read every note; only its author changes it."""

    __tablename__ = "apitest_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("auth_users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[Status] = mapped_column(
        Enum(Status, name="apitest_status"), default=Status.draft
    )
    rating: Mapped[int | None] = mapped_column(Integer, default=None)
    due: Mapped[datetime.date | None] = mapped_column(Date, default=None)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer)

    tags: Mapped[list[Tag]] = relationship(secondary=note_tags, order_by=Tag.id)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    @property
    def __acl__(self) -> list[tuple[str, str, Any]]:
        return [
            (Allow, f"user:{self.author_id}", ("view", "edit", "delete")),
            (Allow, Authenticated, "view"),
        ]
