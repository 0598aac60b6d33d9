"""The one declarative base every add-on's models derive from, and which
add-on owns which table.

:class:`Base`'s MetaData carries a naming convention, so that constraint
names are stable across SQLite and PostgreSQL and migrations can refer to
them. An add-on's tables are named with its name as prefix
(``blog_posts``); start-up checks this (:func:`check_table_ownership`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from sqlalchemy import MetaData, Table
from sqlalchemy.orm import DeclarativeBase

from ..errors import AddonConflict

if TYPE_CHECKING:
    from ..resolve import Resolution

__all__ = [
    "CORE_TABLE_PREFIX",
    "NAMING_CONVENTION",
    "Base",
    "check_table_ownership",
    "metadata",
    "table_owner",
    "tables_of",
]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Base(DeclarativeBase):
    """The declarative base every add-on's models derive from."""

    metadata = metadata


#: The prefix of the core's own tables.
CORE_TABLE_PREFIX = "pyramidion_"


def table_owner(table_name: str, addon_names: Iterable[str]) -> str | None:
    """The add-on that owns a table by prefix (longest match), or None."""
    best: str | None = None
    for name in addon_names:
        if table_name.startswith(name + "_") and (best is None or len(name) > len(best)):
            best = name
    return best


def tables_of(addon_name: str, addon_names: Iterable[str]) -> list[Table]:
    """The tables on :data:`metadata` that belong to ``addon_name``."""
    names = list(addon_names)
    return [t for t in metadata.sorted_tables if table_owner(t.name, names) == addon_name]


def check_table_ownership(resolution: Resolution, model_packages: Mapping[str, str]) -> None:
    """Check that every mapped table of an enabled add-on carries its prefix.

    ``model_packages`` maps an add-on name to the top-level package its
    models live in. A model class in add-on A whose table is named for
    add-on B, or for no add-on, is an :class:`AddonConflict`.
    """
    names = [*resolution.names, "pyramidion"]
    by_package = {pkg: name for name, pkg in model_packages.items()}
    problems = []
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        package = cls.__module__.split(".", 1)[0]
        claimant = by_package.get(package)
        if claimant is None:
            continue
        for table in mapper.tables:
            owner = table_owner(table.name, names)
            if owner == claimant:
                continue
            if owner is None:
                problems.append(
                    f"add-on '{claimant}' maps {cls.__module__}.{cls.__name__} to "
                    f"table '{table.name}', which does not start with "
                    f"'{claimant}_'. Rename the table to '{claimant}_{table.name}'."
                )
            else:
                problems.append(
                    f"add-on '{claimant}' maps {cls.__module__}.{cls.__name__} to "
                    f"table '{table.name}', which belongs to add-on '{owner}' "
                    f"(tables named '{owner}_...'). Two add-ons cannot claim "
                    "the same table; rename it with the prefix "
                    f"'{claimant}_'."
                )
    if problems:
        raise AddonConflict("\n".join(problems))
