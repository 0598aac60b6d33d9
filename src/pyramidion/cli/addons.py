"""``pyramidion addons ...``: inspect the add-ons of an application.

``list`` shows what each enabled add-on contributes (routes, tables,
migration state) and which installed add-ons are not enabled; ``graph``
draws the dependency graph; ``why`` explains why an add-on is (or is not)
enabled; ``overrides`` shows which layer's template or static file wins.
``install`` and ``uninstall`` live in :mod:`pyramidion.cli.addons_lifecycle`.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import close_matches
from . import add_config_argument, bootstrap_app

if TYPE_CHECKING:
    from pyramid.registry import Registry

    from ..app import AppState
    from ..overrides import OverriddenAsset
    from ..resolve import Resolution


# -- list ---------------------------------------------------------------------

#: The Alembic branch of the core's own tables.
CORE_BRANCH = "pyramidion"


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
    from .. import db
    from ..app import app_state

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
        core_pending=tuple(database.pending.get(CORE_BRANCH, ())),
    )


def _read_database(registry: Registry) -> _DatabaseView:
    """Installed versions and pending migrations, or a note saying why not."""
    from .. import db, lifecycle, migrate
    from ..app import get_database
    from .check import describe_db_error

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
        a.name: directory for a in state.addons if (directory := _package_dir(a.package))
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


def _package_dir(package: str) -> Path | None:
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


# -- graph --------------------------------------------------------------------


def graph_text(resolution: Resolution) -> str:
    """A tree per top-level add-on: what each requires, and its ``after``."""
    if not resolution.addons:
        return "No add-ons are enabled."
    requires: dict[str, list[str]] = {n: [] for n in resolution.names}
    after: dict[str, list[str]] = {n: [] for n in resolution.names}
    for before, later, kind in resolution.edges:
        (requires if kind == "requires" else after)[later].append(before)
    required = {before for before, _later, kind in resolution.edges if kind == "requires"}
    roots = [n for n in resolution.names if n not in required]
    lines: list[str] = []
    shown: set[str] = set()

    def label(name: str) -> str:
        e = resolution[name]
        how = "listed" if e.explicit else "pulled in"
        return f"{name} {e.addon.version} [{how}]"

    def walk(name: str, prefix: str) -> None:
        children = [("requires", n) for n in sorted(requires[name])] + [
            ("after", n) for n in sorted(after[name])
        ]
        for i, (kind, child) in enumerate(children):
            last = i == len(children) - 1
            branch = "└── " if last else "├── "
            if kind == "after":
                lines.append(f"{prefix}{branch}after {child} (order only)")
                continue
            repeat = child in shown and bool(requires[child])
            lines.append(
                f"{prefix}{branch}requires {label(child)}{' (see above)' if repeat else ''}"
            )
            if not repeat:
                shown.add(child)
                walk(child, prefix + ("    " if last else "│   "))

    for root in sorted(roots):
        lines.append(label(root))
        shown.add(root)
        walk(root, "")
    lines.append("")
    lines.append("Include order: " + ", ".join(resolution.names))
    lines.append(
        "[listed] = named in pyramidion.addons; [pulled in] = required by another add-on."
    )
    return "\n".join(lines)


def graph_dot(resolution: Resolution) -> str:
    """The graph in Graphviz DOT: an arrow points from an add-on to one it
    needs; solid arrows are ``requires``, dashed ones ``after``."""
    lines = [
        "digraph pyramidion_addons {",
        "  // Boxes with a bold border are listed in pyramidion.addons; dashed",
        "  // boxes were pulled in by a requirement. Solid arrows: requires;",
        "  // dashed arrows: after (include order only).",
        "  rankdir=LR;",
        '  node [shape=box, fontname="sans-serif"];',
    ]
    for e in resolution.addons:
        style = "style=bold" if e.explicit else "style=dashed"
        lines.append(
            f"  {_dot_id(e.name)} [label={_dot_id(e.name + chr(10) + e.addon.version)}, {style}];"
        )
    for before, later, kind in resolution.edges:
        attrs = 'label="requires"' if kind == "requires" else 'label="after", style=dashed'
        lines.append(f"  {_dot_id(later)} -> {_dot_id(before)} [{attrs}];")
    lines.append("}")
    return "\n".join(lines)


def _dot_id(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


# -- why ----------------------------------------------------------------------


def why_enabled(state: AppState, name: str, config: str) -> tuple[bool, str]:
    """Explain whether ``name`` is enabled and why; (enabled, text)."""
    resolution = state.resolution
    if name in resolution:
        e = resolution[name]
        lines = [f"{name} {e.addon.version} ({e.addon.distribution}) is enabled in {config}:"]
        if e.explicit:
            lines.append("  - pyramidion.addons lists it")
        for chain in requirement_chains(resolution, name):
            first = chain[0]
            spec = _requirement_spec(resolution, chain[-2], name)
            lines.append(
                f"  - {first} requires it: {' -> '.join(chain)}"
                + (f" ({chain[-2]} asks for {spec})" if spec != name else "")
            )
        return True, "\n".join(lines)
    if name in state.plain_includes:
        return True, (
            f"{name} is not an add-on, but pyramidion.addons in {config} names "
            "it, so it is included as a plain Pyramid package."
        )
    lines = [f"{name} is not enabled in {config}."]
    candidate = state.installed.get(name)
    if candidate is not None:
        lines.append(
            f"It is installed ({candidate.distribution} {candidate.version}); "
            "add it to pyramidion.addons to enable it."
        )
    else:
        lines.append("No installed distribution provides an add-on by that name.")
        similar = close_matches(name, [*state.installed, *resolution.names])
        if similar:
            lines.append("Did you mean " + " or ".join(f"'{s}'" for s in similar) + "?")
        installed = ", ".join(state.installed) or "(none)"
        lines.append(f"Installed add-ons: {installed}")
    return False, "\n".join(lines)


def requirement_chains(resolution: Resolution, name: str) -> list[list[str]]:
    """Every chain of ``requires`` from a listed add-on down to ``name``.

    A chain stops at the first add-on named in the ini, since that one is
    enabled for its own reason.
    """
    chains: list[list[str]] = []

    def up(path: list[str]) -> None:
        for parent in resolution[path[0]].required_by:
            if parent in path:  # pragma: no cover - resolution rejects cycles
                continue
            chain = [parent, *path]
            if resolution[parent].explicit:
                chains.append(chain)
            else:
                up(chain)

    up([name])
    return sorted(chains, key=lambda c: (len(c), c))


def _requirement_spec(resolution: Resolution, parent: str, name: str) -> str:
    for req in resolution[parent].addon.requirements:
        if req.name == name:
            return f"{req.name}{req.specifier}"
    return name


# -- overrides ----------------------------------------------------------------


def format_overrides(report: list[OverriddenAsset], state: AppState) -> str:
    """The text ``pyramidion addons overrides`` prints."""
    from ..overrides import INTEGRATOR

    if not report:
        return (
            "Nothing is overridden: no enabled add-on ships overrides/<add-on>/ "
            "files, and pyramidion.overrides is not set."
            if not state.core.overrides
            else "Nothing is overridden: the directories in place mirror no "
            "file of an enabled add-on."
        )
    owners = {a.package: a.name for a in state.addons}
    lines = ["Overridden assets (the first layer wins):"]
    for item in report:
        package, _, rel = item.asset.partition(":")
        lines.append("")
        lines.append(item.asset)
        winner, *shadowed = item.providers
        lines.append(f"  used:     {_layer(winner, INTEGRATOR)}")
        original_dir = _package_dir(package)
        if original_dir is not None and (original_dir / rel).is_file():
            shadowed.append(f"original in add-on {owners.get(package, package)}")
        for layer in shadowed:
            lines.append(f"  shadowed: {_layer(layer, INTEGRATOR)}")
    return "\n".join(lines)


def _layer(provider: str, integrator: str) -> str:
    if provider == integrator:
        return "the integrator's overrides (pyramidion.overrides)"
    if provider.startswith("original in "):
        return provider
    return f"add-on {provider}"


# -- commands -----------------------------------------------------------------


def run_list(args: argparse.Namespace) -> int:
    with bootstrap_app(args.config) as env:
        listing = list_addons(env.registry)
    if args.format == "json":
        print(json.dumps(listing.as_json(), indent=2))
    else:
        print(format_listing(listing))
    return 0


def run_graph(args: argparse.Namespace) -> int:
    from ..app import app_state

    with bootstrap_app(args.config) as env:
        resolution = app_state(env.registry).resolution
    print(graph_dot(resolution) if args.format == "dot" else graph_text(resolution))
    return 0


def run_why(args: argparse.Namespace) -> int:
    from ..app import app_state

    with bootstrap_app(args.config) as env:
        enabled, text = why_enabled(app_state(env.registry), args.name, args.config)
    print(text)
    return 0 if enabled else 1


def run_overrides(args: argparse.Namespace) -> int:
    from ..app import app_state
    from ..overrides import override_report

    with bootstrap_app(args.config) as env:
        state = app_state(env.registry)
        text = format_overrides(override_report(state), state)
    print(text)
    return 0


def register(groups: Any) -> None:
    has_lifecycle = importlib.util.find_spec("pyramidion.cli.addons_lifecycle") is not None
    group = groups.add_parser(
        "addons",
        help="list, explain and graph add-ons"
        + ("; install and uninstall them" if has_lifecycle else ""),
        description="Inspect the add-ons of the application an ini file configures.",
    )
    commands = group.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    sub = commands.add_parser(
        "list",
        help="enabled add-ons with their routes, tables and migration state",
        description="List every enabled add-on in include order: version, "
        "distribution, why it is enabled, route prefix, routes, tables and "
        "migration state (read from the database; when it cannot be reached "
        "the listing says so and shows the rest). Then list the installed "
        "add-ons that are not enabled.",
    )
    add_config_argument(sub)
    sub.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )
    sub.set_defaults(handler=run_list)

    sub = commands.add_parser(
        "graph",
        help="the add-on dependency graph, as a text tree or Graphviz DOT",
        description="Draw the graph of enabled add-ons: 'requires' edges "
        "(pull the other add-on in and include it first) and 'after' edges "
        "(include order only), with add-ons listed in pyramidion.addons told "
        "apart from those pulled in. Render DOT with "
        "`pyramidion addons graph CONFIG --format dot | dot -Tsvg > addons.svg`.",
    )
    add_config_argument(sub)
    sub.add_argument(
        "--format", choices=("text", "dot"), default="text", help="output format (default: text)"
    )
    sub.set_defaults(handler=run_graph)

    sub = commands.add_parser(
        "why",
        help="explain why an add-on is enabled, or why not",
        description="Say whether add-on NAME is enabled and why: listed in "
        "pyramidion.addons, and/or every chain of add-ons that requires it. "
        "When it is not enabled, say whether it is installed, and suggest "
        "close spellings. Exit status 0 when enabled, 1 when not.",
    )
    sub.add_argument("name", metavar="NAME", help="the add-on's name")
    add_config_argument(sub)
    sub.set_defaults(handler=run_why)

    sub = commands.add_parser(
        "overrides",
        help="which templates and static files are overridden, and by whom",
        description="List every overridden asset with the layer that wins "
        "(a dependent add-on's overrides/<add-on>/ directory, or the "
        "integrator's pyramidion.overrides directory) and the layers it shadows.",
    )
    add_config_argument(sub)
    sub.set_defaults(handler=run_overrides)

    if has_lifecycle:
        lifecycle = importlib.import_module("pyramidion.cli.addons_lifecycle")
        lifecycle.register(commands)
