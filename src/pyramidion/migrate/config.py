"""Where an application's revisions are, and Alembic configured for them."""

from __future__ import annotations

import argparse
import importlib.util
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic.config import Config
from sqlalchemy import inspect, select

from .. import db
from ..errors import CommandError, PyramidionError
from ..models import InstalledAddon
from ..state import app_state

if TYPE_CHECKING:
    from pyramid.registry import Registry
    from sqlalchemy.engine import Connection

    from ..addon import Addon

__all__ = [
    "CORE_BRANCH",
    "MIGRATIONS_DIR",
    "VERSION_TABLE",
    "IncludeObject",
    "alembic_config",
    "branches",
    "context_options",
    "enabled_addon",
    "make_include_object",
    "migration_dir",
]

#: The branch label of the core's own revisions.
CORE_BRANCH = "pyramidion"
#: The core's Alembic script location (``env.py``, ``script.py.mako``).
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
#: The table in which Alembic records the applied head of each branch.
VERSION_TABLE = "pyramidion_alembic_version"


def migration_dir(addon: Addon) -> Path | None:
    """The directory an add-on's ``migrations`` asset spec names, or None.

    ``"pyramidion_blog:migrations"`` is the ``migrations`` directory inside
    the ``pyramidion_blog`` package. Raises :class:`CommandError` when the
    package cannot be found or is not a directory on disk.
    """
    if addon.migrations is None:
        return None
    package, _, relative = addon.migrations.partition(":")
    if not relative:
        # A bare package name means the package directory itself.
        relative = "."
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or ()) if spec else []
    if not locations:
        raise CommandError(
            f"add-on '{addon.name}' ({addon.distribution} {addon.version}) "
            f"declares migrations={addon.migrations!r}, but '{package}' is not "
            "an importable package. Fix the asset spec in the add-on's "
            "descriptor (for example 'pyramidion_blog:migrations')."
        )
    path = (Path(locations[0]) / relative).resolve()
    if path.exists() and not path.is_dir():
        raise CommandError(
            f"add-on '{addon.name}' declares migrations={addon.migrations!r}, "
            f"but {path} is not a directory."
        )
    return path


def enabled_addon(registry: Registry, name: str) -> Addon:
    """The enabled add-on ``name``; a :class:`CommandError` saying how to enable it if not."""
    resolution = app_state(registry).resolution
    if name not in resolution:
        raise CommandError(
            f"add-on '{name}' is not enabled in this application. Add it to "
            "pyramidion.addons in the ini file, then run the command again."
        )
    return resolution[name].addon


def branches(registry: Registry) -> list[str]:
    """The branches of this application: the core's, then each enabled
    add-on's that declares migrations, in resolution order."""
    names = [CORE_BRANCH]
    names.extend(a.name for a in app_state(registry).addons if a.migrations is not None)
    return names


def _version_locations(registry: Registry, connection: Connection | None) -> list[Path]:
    locations = [MIGRATIONS_DIR / "versions"]
    enabled = app_state(registry).addons
    for addon in enabled:
        path = migration_dir(addon)
        if path is not None and path.is_dir():
            locations.append(path)
    if connection is not None:
        locations.extend(_disabled_installed_locations(registry, connection, enabled))
    return locations


def _disabled_installed_locations(
    registry: Registry, connection: Connection, enabled: Sequence[Addon]
) -> list[Path]:
    """Migration directories of add-ons installed in the database but not
    enabled; their revisions stay in the version table and Alembic must be
    able to locate them to compute anything."""
    enabled_names = {a.name for a in enabled}
    if not inspect(connection).has_table(InstalledAddon.__tablename__):
        return []
    recorded = connection.execute(select(InstalledAddon.__table__.c.name)).scalars().all()
    candidates = app_state(registry).installed
    found = []
    for name in recorded:
        if name in enabled_names or name not in candidates:
            continue
        try:
            path = migration_dir(candidates[name].load())
        except PyramidionError:
            # A broken add-on that is not enabled must not stop the others;
            # if its revisions are needed, Alembic's error says which.
            continue
        if path is not None and path.is_dir():
            found.append(path)
    return found


def alembic_config(registry: Registry, connection: Connection | None = None) -> Config:
    """An Alembic :class:`~alembic.config.Config` for this application.

    With ``connection``, ``env.py`` runs on it (``config.attributes
    ["connection"]``) and the version locations include add-ons recorded as
    installed in that database but not enabled.
    """
    # Quiet: commands report what they did in their own words.
    config = Config(stdout=io.StringIO(), cmd_opts=argparse.Namespace(quiet=True))
    config.set_main_option("script_location", _escape(str(MIGRATIONS_DIR)))
    config.set_main_option("path_separator", "newline")
    locations = _version_locations(registry, connection)
    config.set_main_option(
        "version_locations", _escape("\n".join(str(p) for p in dict.fromkeys(locations)))
    )
    config.attributes["registry"] = registry
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _escape(value: str) -> str:
    # Config options go through configparser interpolation.
    return value.replace("%", "%%")


def context_options(config: Config) -> dict[str, Any]:
    """The options ``env.py`` passes to ``context.configure``.

    ``target_metadata`` is :data:`pyramidion.db.metadata`; ``include_object``
    limits comparison to the tables of the core and of enabled add-ons (or
    of the one add-on in ``config.attributes["pyramidion.only"]``), so
    autogenerate and ``db check`` never propose dropping the tables of an
    add-on that is installed but not enabled, or tables Pyramidion does not
    own.
    """
    registry = config.attributes["registry"]
    connection = config.attributes["connection"]
    return {
        "target_metadata": db.metadata,
        "include_object": make_include_object(registry, config.attributes.get("pyramidion.only")),
        "compare_type": True,
        "render_as_batch": connection.dialect.name == "sqlite",
        "version_table": VERSION_TABLE,
    }


IncludeObject = Callable[[Any, str | None, str, bool, Any], bool]


def make_include_object(registry: Registry, only: str | None = None) -> IncludeObject:
    """An Alembic ``include_object`` hook for this application's tables."""
    state = app_state(registry)
    managed = {CORE_BRANCH, *state.resolution.names} if only is None else {only}
    # Every installed add-on's name counts when deciding who owns a table,
    # so that 'blog_stats_x' of a disabled 'blog_stats' is not taken for
    # a table of an enabled 'blog'.
    known = {CORE_BRANCH, *state.resolution.names, *state.installed}

    def include_object(
        obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
    ) -> bool:
        if type_ != "table":
            return True
        if name == VERSION_TABLE:
            return False
        owner = db.table_owner(name or "", known)
        return owner in managed

    return include_object
