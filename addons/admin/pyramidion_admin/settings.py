"""Settings of the admin add-on, read from ``admin.*`` keys."""

from __future__ import annotations

from dataclasses import dataclass

from pyramidion import setting

__all__ = ["AdminSettings"]


@dataclass(frozen=True)
class AdminSettings:
    """Settings of the admin add-on, read from ``admin.*`` keys."""

    page_size: int = setting(
        50,
        doc="Rows on one page of an admin list, unless a registration says (page_size=).",
        min=1,
        max=1000,
    )
    fulltext: bool = setting(
        False,
        doc="Search lists with PostgreSQL's full-text search (to_tsvector/plainto_tsquery, "
        "language 'simple') instead of a case-insensitive substring match; ignored on SQLite.",
    )
