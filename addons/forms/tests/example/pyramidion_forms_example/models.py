"""Models that cover what forms are generated from."""

import datetime
import enum

from sqlalchemy import Date, Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pyramidion import Base


class Message(Base):
    __tablename__ = "formstest_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    email: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)


class Author(Base):
    __tablename__ = "formstest_authors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    email: Mapped[str | None] = mapped_column(String(200))

    books: Mapped[list["Book"]] = relationship(back_populates="author")

    def __str__(self) -> str:
        return self.name


class Genre(enum.Enum):
    novel = "novel"
    poetry = "poetry"
    essay = "essay"


class Book(Base):
    __tablename__ = "formstest_books"
    __table_args__ = (UniqueConstraint("author_id", "title"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    isbn: Mapped[str | None] = mapped_column(String(13), unique=True)
    genre: Mapped[Genre] = mapped_column(Enum(Genre, native_enum=False, length=20))
    pages: Mapped[int | None]
    published: Mapped[datetime.date | None] = mapped_column(Date)
    in_print: Mapped[bool] = mapped_column(default=True)
    summary: Mapped[str | None] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("formstest_authors.id"))

    author: Mapped[Author] = relationship(back_populates="books")

    def __str__(self) -> str:
        return self.title
