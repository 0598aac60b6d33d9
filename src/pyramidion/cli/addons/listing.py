"""``pyramidion addons list``: what each enabled add-on contributes."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ... import db, lifecycle, migrate
from ...state import AppState, app_state, get_database
from ..check import describe_db_error

if TYPE_CHECKING:
    from pyramid.registry import Registry

__all__ = [
    "AddonListing",
    "AvailableAddonInfo",
    "EnabledAddonInfo",
    "MigrationState",
    "RouteLine",
    "format_listing",
    "list_addons",
    "package_dir",
    "routes_by_addon",
]


@dataclass(frozen=True)
class RouteLine:
    name: str
    pattern: str


@dataclass(frozen=True)
class MigrationState:
    """An add-on's state in the database, when it could be read."""

    #: The version recorded by install/upgrade, or None when not installed.
    installed_version: str | None
    pending: tuple[str, ...]


@dataclass(frozen=True)
class EnabledAddonInfo:
    name: str
    version: str
    distribution: str
    title: str
    explicit: bool
    required_by: tuple[str, ...]
    reason: str
    route_prefix: str
    routes: tuple[RouteLine, ...]
    tables: tuple[str, ...]
    has_migrations: bool
    #: None when the migration state could not be read (see ``database_note``).
    migrations: MigrationState | None


@dataclass(frozen=True)
class AvailableAddonInfo:
    """An installed add-on that this app does not enable."""

    name: str
    version: str
    distribution: str
    #: The version the database records it at, when it was installed there
    #: earlier (its tables may still exist).
    installed_version: str | None = None


@dataclass(frozen=True)
class AddonListing:
    enabled: tuple[EnabledAddonInfo, ...]
    available: tuple[AvailableAddonInfo, ...]
    plain_includes: tuple[str, ...]
    #: Why the migration state is missing, or None when it was read.
    database_note: str | None = None
    #: The core's own revisions not yet applied (empty when unknown).
    core_pending: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _DatabaseView:
    installed: dict[str, str] = field(default_factory=dict)
    pending: dict[str, list[str]] = field(default_factory=dict)
    note: str | None = None


def list_addons(registry: Registry) -> AddonListing:
    """Describe the enabled and the installed-but-not-enabled add-ons."""
    state = app_state(registry)
    names = [*state.resolution.names, "pyramidion"]
    routes = routes_by_addon(registry, state)
    database = _read_database(registry)
    enabled = []
    for e in state.resolution.addons:
        addon = e.addon
        migrations = None
        if database.note is None:
            migrations = MigrationState(
                installed_version=database.installed.get(e.name),
                pending=tuple(database.pending.get(e.name, ())),
            )
        enabled.append(
            EnabledAddonInfo(
                name=e.name,
                version=addon.version,
                distribution=addon.distribution,
                title=addon.title,
                explicit=e.explicit,
                required_by=e.required_by,
                reason=e.reason,
                route_prefix=state.route_prefixes.get(e.name, addon.prefix() or "/"),
                routes=tuple(routes.get(e.name, ())),
                tables=tuple(t.name for t in db.tables_of(e.name, names)),
                has_migrations=addon.migrations is not None,
                migrations=migrations,
            )
        )
    available = tuple(
        AvailableAddonInfo(
            name=c.name,
            version=c.version,
            distribution=c.distribution,
            installed_version=database.installed.get(c.name),
        )
        for name, c in state.installed.items()
        if name not in state.resolution
    )
    return AddonListing(
        enabled=tuple(enabled),
        available=available,
        plain_includes=state.plain_includes,
        database_note=database.note,
        core_pending=tuple(database.pending.get(migrate.CORE_BRANCH, ())),
    )


def _read_database(registry: Registry) -> _DatabaseView:
    """Installed versions and pending migrations, or a note saying why not."""
    engine = get_database(registry).engine
    try:
        with engine.connect() as connection:
            pending = migrate.pending_migrations(registry, connection)
            installed = lifecycle.installed_addons(connection)
    except Exception as exc:
        return _DatabaseView(
            note=f"migration state not shown: the database {db.redacted_url(engine)} "
            f"could not be read ({describe_db_error(exc)})."
        )
    return _DatabaseView(
        installed=dict(installed), pending={k: list(v) for k, v in pending.items()}
    )


def routes_by_addon(registry: Registry, state: AppState) -> dict[str, list[RouteLine]]:
    """The routes each enabled add-on registered, from the introspector.

    A route belongs to the add-on whose package holds the code that called
    ``config.add_route``; a route added through a helper that lives
    elsewhere (a directive of another package) belongs to the add-on whose
    name prefixes the route name (``blog.post.edit`` -> ``blog``).
    """
    package_dirs = {
        a.name: directory for a in state.addons if (directory := package_dir(a.package))
    }
    names = list(state.resolution.names)
    found: dict[str, list[RouteLine]] = {}
    for item in registry.introspector.get_category("routes"):
        intr = item["introspectable"]
        route_name = str(intr["name"])
        owner = _owner_by_file(getattr(intr.action_info, "file", None), package_dirs)
        if owner is None:
            owner = _owner_by_route_name(route_name, names)
        if owner is None:
            continue
        pattern = str(intr["pattern"])
        if not intr["static"] and not pattern.startswith("/") and "://" not in pattern:
            pattern = "/" + pattern
        found.setdefault(owner, []).append(RouteLine(route_name, pattern))
    return found


def package_dir(package: str) -> Path | None:
    """The directory of an importable package (or the file of a module), or None."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))).resolve()
    if spec.origin:
        # A single-module add-on: its "directory" is the module file.
        return Path(spec.origin).resolve()
    return None


def _owner_by_file(filename: str | None, package_dirs: Mapping[str, Path]) -> str | None:
    if not filename:
        return None
    try:
        path = Path(filename).resolve()
    except OSError:
        return None
    best: tuple[int, str] | None = None
    for name, directory in package_dirs.items():
        if (path == directory or directory in path.parents) and (
            best is None or len(directory.parts) > best[0]
        ):
            best = (len(directory.parts), name)
    return best[1] if best else None


def _owner_by_route_name(route_name: str, names: Iterable[str]) -> str | None:
    best: str | None = None
    for name in names:
        if (route_name == name or route_name.startswith(name + ".")) and (
            best is None or len(name) > len(best)
        ):
            best = name
    return best


def format_listing(listing: AddonListing) -> str:
    """The text ``pyramidion addons list`` prints."""
    lines: list[str] = []
    if listing.enabled:
        lines.append("Enabled add-ons, in include order:")
    else:
        lines.append("No add-ons are enabled (pyramidion.addons is empty).")
    for a in listing.enabled:
        lines.append("")
        lines.append(f"{a.name} {a.version} (distribution {a.distribution})")
        if a.title:
            lines.append(f"  {a.title}")
        lines.append(f"  enabled:    {a.reason}")
        lines.append(f"  prefix:     {a.route_prefix}")
        if a.routes:
            width = max(len(r.name) for r in a.routes)
            for i, r in enumerate(a.routes):
                label = "routes:" if i == 0 else ""
                lines.append(f"  {label:<11} {r.name:<{width}}  {r.pattern}")
        else:
            lines.append("  routes:     (none)")
        lines.append(f"  tables:     {', '.join(a.tables) if a.tables else '(none)'}")
        lines.append(f"  database:   {_migration_text(a)}")
    if listing.database_note:
        lines.append("")
        lines.append(f"Note: {listing.database_note}")
    elif listing.core_pending:
        lines.append("")
        lines.append(
            f"The core has {len(listing.core_pending)} pending migration(s) "
            f"({', '.join(listing.core_pending)}); run `pyramidion db upgrade`."
        )
    if listing.plain_includes:
        lines.append("")
        lines.append("Included as plain Pyramid packages: " + ", ".join(listing.plain_includes))
    lines.append("")
    if listing.available:
        lines.append("Installed but not enabled (add to pyramidion.addons to enable):")
        for c in listing.available:
            extra = ""
            if c.installed_version is not None:
                extra = (
                    f"; still installed in the database at {c.installed_version} "
                    "(to drop its tables, enable it again and run `pyramidion addons "
                    "uninstall`)"
                )
            lines.append(f"  {c.name} {c.version} ({c.distribution}){extra}")
    else:
        lines.append("Every installed add-on is enabled.")
    return "\n".join(lines)


def _migration_text(a: EnabledAddonInfo) -> str:
    state = a.migrations
    if state is None:
        return "unknown (see the note below)"
    if state.installed_version is not None:
        installed = f"installed at {state.installed_version}"
    else:
        installed = "not installed"
    if state.pending:
        revisions = ", ".join(state.pending)
        migrations = (
            f"{len(state.pending)} pending migration(s) ({revisions}); run `pyramidion db upgrade`"
        )
    elif a.has_migrations:
        migrations = "migrations up to date"
    else:
        migrations = "no migrations"
    return f"{installed}; {migrations}"
