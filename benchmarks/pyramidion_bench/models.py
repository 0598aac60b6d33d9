"""Items and their owners; the references map the same two tables."""

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pyramidion.db import Base


class Owner(Base):
    __tablename__ = "bench_owners"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class Item(Base):
    __tablename__ = "bench_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    price: Mapped[int]
    owner_id: Mapped[int] = mapped_column(ForeignKey("bench_owners.id"))
    # "raise": a page that forgot to load owners fails instead of issuing
    # one query per row.
    owner: Mapped[Owner] = relationship(lazy="raise")
