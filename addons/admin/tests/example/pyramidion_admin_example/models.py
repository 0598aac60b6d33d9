from __future__ import annotations

import datetime
import enum
from typing import Any

from pyramid.authorization import Deny, Everyone
from sqlalchemy import Boolean, DateTime, Enum, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pyramidion import Base
from pyramidion_auth.models import User


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


class Kind(enum.StrEnum):
    TOOL = "tool"
    TOY = "toy"
    FOOD = "food"


class Thing(Base):
    """Something with every kind of column the admin lists and filters."""

    __tablename__ = "admintest_things"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    code: Mapped[str] = mapped_column(String(20), default="")
    kind: Mapped[Kind] = mapped_column(Enum(Kind, native_enum=False, length=10), default=Kind.TOOL)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    secret_token: Mapped[str] = mapped_column(String(64), default="")
    rank: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, index=True, default=utcnow)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("auth_users.id", ondelete="SET NULL"), index=True, default=None
    )

    owner: Mapped[User | None] = relationship()
    parts: Mapped[list[Part]] = relationship(back_populates="thing", cascade="all, delete-orphan")

    def __str__(self) -> str:
        return self.name

    @property
    def __acl__(self) -> list[tuple[str, str, Any]]:
        # A thing coded KEEP may not be deleted, not even by an admin.
        return [(Deny, Everyone, "admin.delete")] if self.code == "KEEP" else []


class Part(Base):
    """A child row of a thing, shown inline on the thing's page."""

    __tablename__ = "admintest_parts"

    id: Mapped[int] = mapped_column(primary_key=True)
    thing_id: Mapped[int] = mapped_column(ForeignKey("admintest_things.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(100))
    count: Mapped[int] = mapped_column(Integer, default=1)
    #: The id of the part's drawing in a file store that the admin cannot
    #: tell by a foreign key: registered as a file field.
    drawing_id: Mapped[int | None] = mapped_column(Integer, default=None)

    thing: Mapped[Thing] = relationship(back_populates="parts")
