"""``pyramidion check CONFIG``: validate an application without serving it.

Loading the app runs every start-up check (add-on resolution, settings,
table ownership, route conflicts); a failure there is printed as one
message with exit status 2. What loads but should not go to production is
reported as warnings: debugging settings, weak secrets, SQLite in
production, no host allowlist, an unreachable database, pending migrations
and enabled add-ons that are not installed in the database.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyramid.settings import asbool, aslist

from .. import db
from ..lifecycle import readiness_problems
from ..settings import env_name
from ..state import app_state, get_database
from . import add_config_argument, bootstrap_app

if TYPE_CHECKING:
    from pyramid.registry import Registry

__all__ = [
    "DEBUG_INCLUDES",
    "DEBUG_SETTINGS",
    "CheckReport",
    "EnabledLine",
    "check_app",
    "database_problem",
    "debug_warnings",
    "deployment_warnings",
    "describe_db_error",
    "environment_warnings",
    "format_report",
    "readiness_warnings",
    "register",
    "run",
    "secret_warnings",
]

#: Pyramid settings that help while developing and hurt in production.
DEBUG_SETTINGS = (
    "pyramid.debug_authorization",
    "pyramid.debug_notfound",
    "pyramid.debug_routematch",
    "pyramid.debug_templates",
    "pyramid.reload_templates",
    "pyramid.reload_assets",
    "pyramid.prevent_http_cache",
)

DEBUG_INCLUDES = ("pyramid_debugtoolbar",)


@dataclass(frozen=True)
class EnabledLine:
    """One enabled add-on as ``check`` reports it."""

    name: str
    version: str
    distribution: str
    reason: str


@dataclass(frozen=True)
class CheckReport:
    """What ``pyramidion check`` found in a configuration that loads."""

    addons: tuple[EnabledLine, ...]
    plain_includes: tuple[str, ...]
    #: Setting key -> environment variable it was taken from.
    env_overrides: dict[str, str]
    warnings: tuple[str, ...]


def check_app(registry: Registry) -> CheckReport:
    """Inspect a loaded application and collect deployment warnings."""

    state = app_state(registry)
    return CheckReport(
        addons=tuple(
            EnabledLine(e.name, e.addon.version, e.addon.distribution, e.reason)
            for e in state.resolution.addons
        ),
        plain_includes=state.plain_includes,
        env_overrides=dict(sorted(state.env_overrides.items())),
        warnings=tuple(deployment_warnings(registry)),
    )


def deployment_warnings(registry: Registry) -> list[str]:
    """Everything about a loaded app that should be fixed before it serves
    the internet, each as a sentence that says what to do."""
    from ..settings import settings_of_disabled_addons

    state = app_state(registry)
    warnings = [
        *debug_warnings(registry),
        *secret_warnings(registry),
        *environment_warnings(registry),
        *settings_of_disabled_addons(
            registry.settings, state.installed, frozenset(state.resolution.names)
        ),
    ]
    problem = database_problem(registry)
    if problem is not None:
        warnings.append(problem)
    else:
        warnings.extend(readiness_warnings(registry))
    return list(dict.fromkeys(warnings))


def debug_warnings(registry: Registry) -> list[str]:
    """Debugging settings and the debug toolbar, when they are on."""

    settings = registry.settings
    warnings = []
    on = [key for key in DEBUG_SETTINGS if asbool(settings.get(key, False))]
    if on:
        warnings.append(
            f"debugging settings are on: {', '.join(on)}. They slow requests "
            "down and show internals to visitors; set them to false (or "
            "remove them) before deploying."
        )
    includes = [
        *aslist(settings.get("pyramid.includes", "")),
        *app_state(registry).plain_includes,
    ]
    for name in DEBUG_INCLUDES:
        if any(inc == name or inc.startswith(name + ".") for inc in includes):
            warnings.append(
                f"{name} is included: it lets anyone who reaches it run code "
                "in the server. Remove it from pyramid.includes (or "
                "pyramidion.addons) before deploying."
            )
    return warnings


def secret_warnings(registry: Registry) -> list[str]:
    """Secret settings left at a built-in default, or shorter than they declare.

    An empty secret is not a warning: it belongs to a feature that is not
    in use (an SMTP password while mail goes to files), and an add-on that
    needs it refuses to start without it. Length is judged only for secrets
    that declare ``min_length`` (the ones people generate themselves); a
    credential issued by someone else is as long as its issuer made it. A
    secret's value is never part of a message; only its length is.
    """
    from ..settings import is_placeholder

    state = app_state(registry)
    warnings = []
    for enabled in state.resolution.addons:
        cls = enabled.addon.settings
        parsed = state.settings.get(enabled.name)
        if cls is None or parsed is None or not dataclasses.is_dataclass(cls):
            continue
        for field in dataclasses.fields(cls):
            spec = field.metadata.get("pyramidion")
            if spec is None or not spec.secret:
                continue
            key = f"{enabled.name}.{field.name}"
            value = getattr(parsed, field.name, None)
            text = "" if value is None else str(value)
            where = _where_set(key, state.env_overrides)
            if not text:
                continue
            if is_placeholder(text):
                warnings.append(
                    f"{key} is a placeholder value that anyone can guess; production "
                    f"refuses to start with it. Set your own random value{where}."
                )
            elif field.default is not dataclasses.MISSING and value == field.default:
                warnings.append(
                    f"{key} still has its built-in default, which everyone can "
                    f"read in the add-on's source. Set your own random value{where}, "
                    "for example the output of "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
                )
            elif spec.min_length and len(text) < spec.min_length:
                warnings.append(
                    f"{key} is only {len(text)} characters long; use at least "
                    f"{spec.min_length} random characters{where}."
                )
    return warnings


def _where_set(key: str, env_overrides: dict[str, str]) -> str:
    var = env_overrides.get(key)
    if var is not None:
        return f" (it comes from the environment variable {var})"
    return f" (in the ini, or with the environment variable {env_name(key)})"


def environment_warnings(registry: Registry) -> list[str]:
    """SQLite in production and a missing host allowlist."""

    state = app_state(registry)
    warnings = []
    if state.core.environment == "production" and db.is_sqlite(get_database(registry).engine):
        warnings.append(
            "pyramidion.environment is production but the database is SQLite "
            f"({db.redacted_url(get_database(registry).engine)}). SQLite serves "
            "one machine only; point sqlalchemy.url (or "
            "PYRAMIDION_SQLALCHEMY__URL) at PostgreSQL."
        )
    if not state.core.allowed_hosts:
        warnings.append(
            "pyramidion.allowed_hosts is empty, so the app answers to any Host "
            "header (which lets others forge links to it). List the host names "
            "it serves, for example 'pyramidion.allowed_hosts = example.com'."
        )
    return warnings


def database_problem(registry: Registry) -> str | None:
    """A sentence saying why the database cannot be reached, or None."""

    engine = get_database(registry).engine
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except Exception as exc:
        return (
            f"the database {db.redacted_url(engine)} cannot be reached: "
            f"{describe_db_error(exc)}. Migrations and readiness were not "
            "checked. Start the database or correct sqlalchemy.url."
        )
    return None


def describe_db_error(exc: BaseException) -> str:
    """The first line of a driver's error, without SQLAlchemy's boilerplate."""
    original: Any = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return f"{type(original).__name__}: {lines[0] if lines else 'no details'}"


def readiness_warnings(registry: Registry) -> list[str]:
    """Pending migrations and add-ons not installed in the database, each
    with the command (naming the app's ini) that fixes it."""

    return readiness_problems(registry)


def format_report(report: CheckReport, config: str) -> str:
    """The text ``pyramidion check`` prints."""
    lines = [f"{config}: the application loads; every setting is valid."]
    if report.addons:
        lines.append("Enabled add-ons, in include order:")
        width = max(len(a.name) for a in report.addons)
        for a in report.addons:
            lines.append(f"  {a.name:<{width}}  {a.version} ({a.distribution}): {a.reason}")
    else:
        lines.append("No add-ons are enabled (pyramidion.addons is empty).")
    if report.plain_includes:
        lines.append("Included as plain Pyramid packages: " + ", ".join(report.plain_includes))
    if report.env_overrides:
        lines.append("Settings taken from environment variables:")
        for key, var in report.env_overrides.items():
            lines.append(f"  {key} <- {var}")
    if report.warnings:
        lines.append(f"Warnings ({len(report.warnings)}):")
        lines.extend(f"  - {w}" for w in report.warnings)
    else:
        lines.append("No warnings.")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from ..configfile import check_config_file

    with bootstrap_app(args.config) as env:
        # pserve needs [server:main]; other commands do not. Asked after the
        # app loads, so that the app's own problems are reported first.
        check_config_file(args.config, require_server=True)
        report = check_app(env.registry)
    print(format_report(report, args.config))
    if report.warnings and args.strict:
        return 1
    return 0


def register(groups: Any) -> None:
    parser = groups.add_parser(
        "check",
        help="validate the configuration and report deployment warnings",
        description="Load the application without serving it: the ini file "
        "itself (as PasteDeploy parses it), its [server:main] and logging "
        "sections, every add-on, setting, directory and route are validated, "
        "and a configuration error is printed with exit status 2. Then report "
        "what should not go to production: debugging settings, placeholder, "
        "default or short secrets, SQLite in production, an empty host "
        "allowlist, settings of add-ons that are not enabled, an unreachable "
        "database, pending migrations and add-ons not installed in the database. "
        "Secret values are never printed.",
        epilog="Exit status: 0 when the app loads (warnings or not), 1 with "
        "--strict when there are warnings, 2 when the configuration is invalid.",
    )
    add_config_argument(parser)
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit with status 1 when there are warnings (for deployment pipelines)",
    )
    parser.set_defaults(handler=run)
