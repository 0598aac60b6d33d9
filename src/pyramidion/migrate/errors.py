"""Alembic's and the database driver's errors, in words for the operator."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from alembic.util import CommandError as AlembicCommandError

from .. import db
from ..errors import DatabaseError
from ..state import get_database

if TYPE_CHECKING:
    from pyramid.registry import Registry
    from sqlalchemy.exc import SQLAlchemyError

__all__ = ["alembic_errors", "database_error", "describe_database_error"]


@contextmanager
def alembic_errors() -> Iterator[None]:
    """Turn Alembic's command errors into :class:`DatabaseError`."""
    try:
        yield
    except AlembicCommandError as exc:
        text = str(exc)
        if "Can't locate revision" in text:
            text += (
                ". The database has a revision that no enabled add-on provides: "
                "an add-on was probably removed from pyramidion.addons (or "
                "uninstalled with pip) without 'pyramidion addons uninstall'. "
                "Enable it again, or reinstall its distribution."
            )
        raise DatabaseError(f"migration failed: {text}") from exc


def describe_database_error(registry: Registry, exc: SQLAlchemyError) -> str:
    """The driver's first line of error, with any password masked."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    detail = f"{type(original).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    password = get_database(registry).engine.url.password
    if password:
        detail = detail.replace(str(password), "***")
    return detail


def database_error(registry: Registry, exc: SQLAlchemyError) -> DatabaseError:
    """A :class:`DatabaseError` for a failed connection, without secrets."""
    engine = get_database(registry).engine
    return DatabaseError(
        f"cannot use the database {db.redacted_url(engine)}: "
        f"{describe_database_error(registry, exc)}\n"
        "Check sqlalchemy.url in the ini file (or PYRAMIDION_SQLALCHEMY__URL) "
        "and that the database server is running and reachable."
    )
