"""The database: one declarative base, one engine, one session per request.

The pieces live in modules with one reason to change each:

- :mod:`.tables`: :class:`Base`, its MetaData and which add-on owns which
  table;
- :mod:`.engine`: the engine made from ``sqlalchemy.*`` settings, and which
  errors pyramid_retry may retry;
- :mod:`.sqlite`: what SQLite needs to behave as the embedded database;
- :mod:`.session`: ``request.dbsession`` and its transaction.

Add-ons import what they need from here (``from pyramidion.db import Base``).
"""

from __future__ import annotations

from .engine import (
    PING_AFTER_IDLE_SECONDS,
    is_conflict,
    is_sqlite,
    make_engine,
    make_readiness_engine,
    redacted_url,
    unbound_statements,
)
from .session import Database, independent_session, make_session_factory, request_dbsession
from .sqlite import SQLITE_BUSY_SNAPSHOT
from .tables import (
    CORE_TABLE_PREFIX,
    NAMING_CONVENTION,
    Base,
    check_table_ownership,
    metadata,
    table_owner,
    tables_of,
)

__all__ = [
    "CORE_TABLE_PREFIX",
    "NAMING_CONVENTION",
    "PING_AFTER_IDLE_SECONDS",
    "SQLITE_BUSY_SNAPSHOT",
    "Base",
    "Database",
    "check_table_ownership",
    "independent_session",
    "is_conflict",
    "is_sqlite",
    "make_engine",
    "make_readiness_engine",
    "make_session_factory",
    "metadata",
    "redacted_url",
    "request_dbsession",
    "table_owner",
    "tables_of",
    "unbound_statements",
]
