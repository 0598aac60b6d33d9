"""The add-on's tables, each named ``{{ cookiecutter.name }}_...``.

After changing a model, add a revision to the add-on's migrations with
``pyramidion db revision`` (see the README).
"""

from __future__ import annotations

from pyramidion import Base
from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column


class Item(Base):
    __tablename__ = "{{ cookiecutter.name }}_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
