"""The outbox: one row per job, written in the transaction that sends it.

A row is the job's whole truth: what to run (``name``, ``arguments``),
where it stands (``state``) and what happened (``attempts``,
``last_error``). A broker only carries row ids to wake workers; losing a
message loses nothing, since the relay hands the row over again.

States::

    pending  -> queued  -> running -> done
       ^          |          |
       |          +----------+--> pending (retry, after a wait)
       +---------------------------- dead (after the last attempt)
"""

from __future__ import annotations

import datetime
import enum
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pyramidion import Base

__all__ = ["JobRecord", "JobState", "as_utc", "utcnow"]


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def as_utc(value: datetime.datetime) -> datetime.datetime:
    """``value`` with UTC attached (SQLite returns naive datetimes)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=datetime.UTC)


class JobState(enum.StrEnum):
    #: Written; waits for its time and for a relay to hand it to a runner.
    PENDING = "pending"
    #: Handed to the broker; a worker has not started it yet.
    QUEUED = "queued"
    #: A runner claimed it until ``lease_until``.
    RUNNING = "running"
    #: Finished; its effects committed together with this state.
    DONE = "done"
    #: Failed on its last attempt; kept with its error until retried or purged.
    DEAD = "dead"


class JobRecord(Base):
    """One job in the outbox."""

    __tablename__ = "jobs_outbox"
    __table_args__ = (Index("ix_jobs_outbox_state_available_at", "state", "available_at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    #: The job's registered name, such as ``auth.send_mail``.
    name: Mapped[str] = mapped_column(String(200))
    queue: Mapped[str] = mapped_column(String(100))
    #: ``{"args": [...], "kwargs": {...}}``, as JSON.
    arguments: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The idempotency key: unique, given to the handler as
    #: ``request.job.key`` so that its outside effects can happen once.
    key: Mapped[str] = mapped_column(String(255), unique=True)
    state: Mapped[str] = mapped_column(String(16), default=JobState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    #: Seconds a run may take; the lease a runner holds is a little longer.
    time_limit: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))
    #: Not run before this time (a delay, or the wait before a retry).
    available_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))
    relayed_at: Mapped[datetime.datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime.datetime | None] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime.datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"<JobRecord {self.id} {self.name} {self.state}>"
