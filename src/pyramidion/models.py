"""The core's own tables."""

from __future__ import annotations

import datetime

from sqlalchemy import DateTime, Float, Integer, LargeBinary, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base

__all__ = [
    "AppliedRevision",
    "IdempotencyRecord",
    "InstalledAddon",
]


class InstalledAddon(Base):
    """An add-on installed in this database, and the version installed.

    ``pyramidion addons install`` (or the first ``pyramidion db upgrade``
    that sees the add-on enabled) writes the row; ``pyramidion addons
    uninstall`` removes it. Readiness fails while an enabled add-on has no
    row.
    """

    __tablename__ = "pyramidion_addons"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[str] = mapped_column(String(64))
    distribution: Mapped[str] = mapped_column(String(200))
    installed_at: Mapped[datetime.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[datetime.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class AppliedRevision(Base):
    """A migration revision applied to this database, of any branch.

    Alembic's version table holds only the heads, and a head that the code
    of an older release does not know (a newer revision, a merge, a
    revision that ``depends_on`` another branch) says nothing to that code
    about which of its own revisions are applied. This table keeps every
    applied revision, so that an older release still running during a
    rolling deploy sees its revisions applied. ``pyramidion db upgrade``
    and ``downgrade`` keep it in step with the version table.
    """

    __tablename__ = "pyramidion_applied_revisions"

    revision: Mapped[str] = mapped_column(String(64), primary_key=True)
    applied_at: Mapped[datetime.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class IdempotencyRecord(Base):
    """An ``Idempotency-Key`` seen on an unsafe request, and its response.

    The row is claimed (``claim`` set, ``status`` empty) in a short
    transaction of its own before the request runs, so that a concurrent
    duplicate sees it in progress; the response is written in the request's
    own transaction, so it is kept exactly when the request's work is. See
    :mod:`pyramidion.idempotency`. Times are seconds since the epoch.
    """

    __tablename__ = "pyramidion_idempotency_keys"

    #: SHA-256 of the method, the path and the key.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: SHA-256 of the method, the path and query, the content type and the body.
    fingerprint: Mapped[str] = mapped_column(String(64))
    claim: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float, index=True)
    status: Mapped[int | None] = mapped_column(Integer)
    headers: Mapped[str | None] = mapped_column(Text)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
