from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from pyramidion import Base


class Effect(Base):
    """One run of a job that records something: what a handler commits."""

    __tablename__ = "jobstest_effects"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(255))
    attempt: Mapped[int] = mapped_column(Integer)
