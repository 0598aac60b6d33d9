"""Assembling an application: from settings to a configured Configurator.

The order is fixed and documented because add-ons rely on it:

1. environment variables override the ini (``PYRAMIDION_*``);
2. the core's settings are parsed, add-ons discovered and resolved;
3. every enabled add-on's settings are validated (all problems at once);
4. models are imported and table ownership checked;
5. the core wires the database, pyramid_tm, pyramid_retry, security,
   CSRF, traversal and web plumbing, and **commits** that configuration;
6. each add-on is included in resolution order with its route prefix,
   then the plain Pyramid includes listed in ``pyramidion.addons``;
7. asset overrides are applied (dependents over dependencies, the
   integrator's overrides over everything) and the configuration is
   committed again, so conflicts between add-ons surface here.
"""

from __future__ import annotations

import ast
import gc
import importlib
import importlib.util
import io
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy.exc
from pyramid.config import Configurator
from pyramid.csrf import CookieCSRFStoragePolicy
from pyramid.exceptions import ConfigurationConflictError
from pyramid.exceptions import ConfigurationError as PyramidConfigurationError
from pyramid.interfaces import ISecurityPolicy
from pyramid_retry import RetryableExecutionPolicy

from . import db
from .addon import ADDON_NAME_PATTERN, Addon
from .discovery import Candidate, discover_addons
from .errors import AddonConflict, AddonImportError, AddonNotFound, SettingsError
from .overrides import apply_overrides
from .resolve import Resolution, resolve_addons
from .security import csrf_check_required
from .settings import (
    ADDON_RESERVED_KEYS,
    CoreSettings,
    apply_environment,
    parse_settings,
)
from .state import CORE_VERSION, AppState, app_state, get_database
from .tweens import SERVER_INPUT_ENVIRON_KEY, last_resort_policy

if TYPE_CHECKING:
    from pyramid.request import Request
    from pyramid.router import Router

__all__ = [
    "CORE_VERSION",
    "AppState",
    "app_state",
    "describe_conflicts",
    "freeze_startup_objects",
    "get_database",
    "includeme",
    "make_app",
    "make_configurator",
]

log = logging.getLogger("pyramidion")


@dataclass(frozen=True)
class _NoSettings:
    """The settings of an add-on that declares none."""


def make_app(
    settings: Mapping[str, Any],
    global_config: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Router:
    """Build the WSGI application; raises :class:`~pyramidion.errors.PyramidionError`."""
    app = _build_app(settings, global_config, environ)
    if app_state(app.registry).core.gc_freeze:
        freeze_startup_objects()
    return app


def _build_app(
    settings: Mapping[str, Any],
    global_config: Mapping[str, Any] | None,
    environ: Mapping[str, str] | None,
) -> Router:
    config_file = (global_config or {}).get("__file__")
    config = make_configurator(settings, environ=environ, config_file=config_file)
    app: Router = config.make_wsgi_app()
    return app


_startup_frozen = False


def freeze_startup_objects() -> None:
    """Collect what start-up left behind, then freeze the rest (once per process).

    What a process holds once its app is built (modules, the registry, the
    routes, compiled templates, SQLAlchemy's metadata) lives as long as the
    process, yet every full collection walks it all: on the bench's
    logged-in page, a few in every thousand requests stopped for tens of
    milliseconds, and its p99 went from 51-55 ms to 32-38 ms once frozen
    (docs/performance.md). Frozen objects are never collected, so only the
    first app a process builds freezes; a test run that builds hundreds
    freezes once, at the first. Runs after the Configurator is gone, so its
    working state is collected, not frozen.
    """
    global _startup_frozen
    if _startup_frozen:
        return
    _startup_frozen = True
    gc.collect()
    gc.freeze()


def make_configurator(
    settings: Mapping[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
    config_file: str | None = None,
) -> Configurator:
    """A committed Configurator with the core and every enabled add-on."""
    merged = dict(settings)
    overrides = apply_environment(merged, os.environ if environ is None else environ)
    merged["pyramidion.env_overrides"] = overrides
    merged["pyramidion.config_file"] = config_file
    try:
        # Pyramid includes the packages in pyramid.includes right here.
        config = Configurator(settings=merged)
    except ImportError as exc:
        raise AddonImportError(
            f"pyramid.includes names a package that cannot be imported: "
            f"{type(exc).__name__}: {exc}\nInstall it, or remove it from "
            "pyramid.includes."
        ) from None
    config.include(includeme)
    return config


def includeme(config: Configurator) -> None:
    """Turn a Configurator into a Pyramidion application.

    Reads ``pyramidion.*`` and ``sqlalchemy.*`` settings (after applying
    ``PYRAMIDION_*`` environment variables), every enabled add-on's
    ``NAME.*`` settings, and pyramid_tm's ``tm.*`` and pyramid_retry's
    ``retry.*``. Registers ``request.dbsession``, ``request.request_id``,
    the directives ``add_traversal_child`` and ``set_identity_source``, the
    core's error views and the ``/healthz`` and ``/readyz`` routes.
    """
    settings = config.registry.settings
    env_overrides = settings.pop("pyramidion.env_overrides", None)
    config_file = settings.pop("pyramidion.config_file", None)
    if env_overrides is None:
        env_overrides = apply_environment(settings, os.environ)
    core = parse_settings(CoreSettings, "pyramidion", settings)
    installed = discover_addons()
    addon_names, plain = _split_addons(core.addons, installed)
    resolution = resolve_addons(addon_names, installed, core_version=CORE_VERSION)
    parsed = _parse_addon_settings(resolution, settings)
    if not core.development:
        _refuse_placeholder_secrets(resolution, parsed, env_overrides)
    model_packages = _import_models(resolution)
    db.check_table_ownership(resolution, model_packages)

    state = AppState(
        core=core,
        resolution=resolution,
        installed=installed,
        settings=parsed,
        settings_by_type={
            CoreSettings: core,
            **{type(v): v for v in parsed.values() if not isinstance(v, _NoSettings)},
        },
        plain_includes=plain,
        env_overrides=dict(env_overrides),
        config_file=_relative_path(config_file),
    )
    config.registry.pyramidion = state
    _configure_core(config, core)
    config.commit()

    for enabled in resolution.addons:
        addon = enabled.addon
        prefix = addon.prefix(settings.get(f"{addon.name}.route_prefix"))
        state.route_prefixes[addon.name] = prefix or "/"
        includeme_fn = _resolve_dotted(config, addon, addon.includeme, "includeme")
        config.include(includeme_fn, route_prefix=prefix or None)
    for name in plain:
        try:
            config.include(name)
        except PyramidConfigurationError as exc:
            raise AddonImportError(
                f"pyramidion.addons names '{name}', which is not an installed "
                f"add-on, so it was included as a Pyramid package, and that "
                f"failed: {exc}"
            ) from None

    apply_overrides(config, state)
    try:
        config.commit()
    except ConfigurationConflictError as exc:
        raise AddonConflict(describe_conflicts(exc, state)) from None
    from .reachability import check_reachable_routes

    check_reachable_routes(config.registry, state)
    _log_startup(state, settings)


def _configure_core(config: Configurator, core: CoreSettings) -> None:
    settings = config.registry.settings
    # pyramid_tm: explicit transaction managers (no thread-local surprises)
    # that abort on any 4xx/5xx response, and do not compute the user for
    # every request just to annotate the transaction.
    settings.setdefault("tm.manager_hook", "pyramid_tm.explicit_manager")
    settings.setdefault("tm.commit_veto", "pyramid_tm.default_commit_veto")
    settings.setdefault("tm.annotate_user", "false")
    settings.setdefault("retry.attempts", "3")

    engine = db.make_engine(
        settings,
        connect_timeout=core.db_connect_timeout,
        pool_timeout=core.db_pool_timeout,
        statement_timeout=core.db_statement_timeout,
        lock_timeout=core.db_lock_timeout,
        idle_in_transaction_timeout=core.db_idle_in_transaction_timeout,
    )
    config.registry.pyramidion_database = db.Database(
        engine=engine,
        session_factory=db.make_session_factory(engine),
        readiness_engine=db.make_readiness_engine(engine, core.readiness_timeout),
    )
    config.add_request_method(db.request_dbsession, "dbsession", reify=True)

    config.include("pyramid_tm")
    config.include("pyramidion.idempotency")
    # Add-ons register and find shared services (storage backend, mailer,
    # throttle, identity source...) through pyramid_services' directives.
    config.include("pyramid_services")
    try:
        attempts = int(settings["retry.attempts"])
    except ValueError:
        raise SettingsError(
            f"retry.attempts = {settings['retry.attempts']!r}: not a whole number"
        ) from None
    settings["retry.attempts"] = max(attempts, 1)
    settings.setdefault("retry.activate_hook", _retry_attempts_for(core.retry_max_body_size))
    # pyramid_retry's execution policy runs the whole tween chain again
    # after a conflict.
    config.include("pyramid_retry")
    # The same policy pyramid_retry registers, wrapped so that an error no
    # tween can render still gets the app's own 500 (tweens.last_resort_policy).
    # This action, made here, takes precedence over the one pyramid_retry's
    # includeme makes.
    config.set_execution_policy(
        last_resort_policy(
            RetryableExecutionPolicy(
                int(settings["retry.attempts"]),
                activate_hook=config.maybe_dotted(settings["retry.activate_hook"]),
            )
        )
    )
    config.include("pyramidion.tweens")

    config.include("pyramidion.security")
    config.include("pyramidion.resources")
    config.include("pyramidion.web")
    config.include("pyramidion.inputs")
    config.include("pyramidion.metrics")
    config.include("pyramidion.errortracking")
    # Exemptions registered with config.add_csrf_exemption are consulted
    # through this callback, so the core keeps owning the CSRF options.
    config.set_default_csrf_options(require_csrf=True, callback=csrf_check_required)
    config.set_csrf_storage_policy(
        CookieCSRFStoragePolicy(
            cookie_name=core.csrf_cookie_name,
            secure=not core.development,
            httponly=False,
            samesite="Lax",
        )
    )


def _relative_path(path: str | None) -> str | None:
    """``path`` relative to the working directory when it is below it."""
    if not path:
        return None
    try:
        return os.path.relpath(path) if not os.path.relpath(path).startswith("..") else path
    except ValueError:
        return path


def _retry_attempts_for(max_body_size: int) -> Callable[[Request], int | None]:
    """pyramid_retry's activate hook: 1 attempt for large or unsized bodies.

    To retry a request, pyramid_retry first copies its whole body aside
    (to a temporary file past 10 KB). For a large upload that means reading
    it all before any view can refuse it, so such requests get one attempt.

    A request without a body (most GETs) has nothing to copy: it is given
    an empty seekable body here, which WebOb would otherwise make through
    several of its descriptors on every request. A request has no body if
    its Content-Length is 0, or if it has none and is not chunked, unless
    the server says its input ends where the body does
    (``wsgi.input_terminated``, which waitress says of every request): the
    body is then known to be empty only if that input is an in-memory
    stream with nothing in it (waitress's for a request without a body).
    Any other input is left to WebOb to copy. The server's input is noted
    (``SERVER_INPUT_ENVIRON_KEY``) so that, once the response is final, the
    copy is closed and the server's stream is left to the server.
    """

    def attempts(request: Request) -> int | None:
        environ = request.environ
        environ[SERVER_INPUT_ENVIRON_KEY] = environ.get("wsgi.input")
        length = environ.get("CONTENT_LENGTH")
        if length == "0":
            empty = True
        elif not length:
            if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
                return 1
            empty = not environ.get("wsgi.input_terminated") or _holds_nothing(
                environ.get("wsgi.input")
            )
        else:
            size = request.content_length
            return 1 if size is not None and size > max_body_size else None
        if empty:
            environ["wsgi.input"] = io.BytesIO()
            environ["CONTENT_LENGTH"] = "0"
            environ["webob.is_body_seekable"] = True
        return None

    return attempts


def _holds_nothing(stream: Any) -> bool:
    """Whether ``stream`` is an in-memory stream with nothing in it, left unread."""
    if type(stream) is not io.BytesIO or stream.tell() != 0:
        return False
    if stream.read(1):
        stream.seek(0)
        return False
    return True


def _split_addons(
    names: tuple[str, ...], installed: Mapping[str, Candidate]
) -> tuple[list[str], tuple[str, ...]]:
    """Separate add-on names from dotted names of plain Pyramid packages."""
    addons: list[str] = []
    plain: list[str] = []
    for name in names:
        if name in installed:
            addons.append(name)
        elif not ADDON_NAME_PATTERN.match(name) or _importable(name):
            plain.append(name)
        else:
            addons.append(name)  # resolve_addons reports it as not found
    for name in plain:
        if not _importable(name):
            raise AddonNotFound(
                f"pyramidion.addons names '{name}', which is neither an installed "
                "add-on nor an importable Python package.\n"
                f"Installed add-ons: {', '.join(installed) or '(none)'}"
            )
    return addons, tuple(dict.fromkeys(plain))


def _importable(dotted: str) -> bool:
    module = dotted.split(":", 1)[0]
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _parse_addon_settings(resolution: Resolution, settings: Mapping[str, Any]) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    problems: list[str] = []
    for enabled in resolution.addons:
        addon = enabled.addon
        cls = addon.settings or _NoSettings
        try:
            parsed[addon.name] = parse_settings(
                cls, addon.name, settings, reserved=ADDON_RESERVED_KEYS
            )
        except SettingsError as exc:
            problems.append(exc.message)
        except TypeError as exc:
            problems.append(f"add-on '{addon.name}' declares its settings wrongly: {exc}")
    if problems:
        raise SettingsError("\n".join(problems))
    return parsed


def _refuse_placeholder_secrets(
    resolution: Resolution, parsed: Mapping[str, Any], env_overrides: Mapping[str, str]
) -> None:
    """In production, a secret still at 'changeme' (or alike) stops start-up."""
    from .settings import env_name, placeholder_secrets

    keys = [
        key
        for enabled in resolution.addons
        for key in placeholder_secrets(
            enabled.addon.settings, enabled.name, parsed.get(enabled.name)
        )
    ]
    if keys:
        where = ", ".join(
            f"{k} (from {env_overrides[k]})" if k in env_overrides else f"{k} (or {env_name(k)})"
            for k in keys
        )
        raise SettingsError(
            f"{where}: still a placeholder value in production, which anyone can "
            "guess; set a random value, for example the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
        )


def _import_models(resolution: Resolution) -> dict[str, str]:
    packages = {"pyramidion": "pyramidion"}
    importlib.import_module("pyramidion.models")
    for enabled in resolution.addons:
        addon = enabled.addon
        if addon.models is None:
            continue
        try:
            module = importlib.import_module(addon.models)
        except Exception as exc:
            table = _redefined_table(exc)
            if table is not None:
                raise AddonConflict(_describe_redefined_table(addon, table, resolution)) from None
            raise AddonImportError(
                f"the models of add-on '{addon.name}' ({addon.distribution} "
                f"{addon.version}) could not be imported from '{addon.models}': "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        packages[addon.name] = module.__name__.split(".", 1)[0]
    return packages


def _redefined_table(exc: Exception) -> str | None:
    """The table an import failed to define because it already exists."""
    if not isinstance(exc, sqlalchemy.exc.InvalidRequestError):
        return None
    match = re.match(r"Table '([^']+)' is already defined for this MetaData", str(exc))
    return match.group(1) if match else None


def _describe_redefined_table(addon: Addon, table: str, resolution: Resolution) -> str:
    owner = db.table_owner(table, [*resolution.names, "pyramidion"])
    if owner is not None and owner != addon.name:
        first = f"add-on '{owner}' (tables named '{owner}_...') already defines it"
    else:
        first = "the models of another enabled add-on already define it"
    return (
        f"add-on '{addon.name}' defines table '{table}' in {addon.models}, but "
        f"{first}. Two add-ons cannot claim the same table; rename it with the "
        f"prefix '{addon.name}_'."
    )


def _resolve_dotted(config: Configurator, addon: Addon, target: Any, what: str) -> Any:
    try:
        return config.maybe_dotted(target)
    except Exception as exc:
        raise AddonImportError(
            f"the {what} of add-on '{addon.name}' ({addon.distribution} "
            f"{addon.version}), '{target}', could not be imported: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


_DISCRIMINATOR_WORDS = {
    "route": "route name",
    "pyramidion.traversal_child": "traversal name",
    "pyramidion.csrf_exemption": "CSRF exemption",
    "view": "view",
    "static view": "static view",
}


def describe_conflicts(exc: ConfigurationConflictError, state: AppState) -> str:
    """Turn Pyramid's conflict report into sentences naming the add-ons.

    Read from the report's text, the one public form of it: a ``For:``
    line per discriminator, then ``Line N of file F:`` for each claimant.
    """
    packages = {a.package: a.name for a in state.addons}
    lines = []
    for discriminator, places in sorted(_conflicts_in(str(exc)).items()):
        what = _describe_discriminator(discriminator)
        claimants = []
        for file, line in places:
            where = f"{file}:{line}"
            owner = _owner_of_file(file, packages)
            claimants.append(f"{owner} ({where})" if owner else where)
        lines.append(f"{what} is claimed more than once: by " + " and by ".join(claimants) + ".")
    return (
        "\n".join(lines) + "\nEach name can belong to one add-on only. Rename it in one of them, "
        "or disable one of the add-ons."
    )


_CONFLICT_FOR = re.compile(r"^  For: (.*)$")
_CONFLICT_AT = re.compile(r"^    Line (\d+) of file (.*):$")


def _conflicts_in(report: str) -> dict[str, list[tuple[str, str]]]:
    """The discriminators of a conflict report, each with its claimants'
    ``(file, line)``."""
    conflicts: dict[str, list[tuple[str, str]]] = {}
    places: list[tuple[str, str]] | None = None
    for text in report.splitlines():
        found = _CONFLICT_FOR.match(text)
        if found:
            places = conflicts.setdefault(found.group(1), [])
            continue
        at = _CONFLICT_AT.match(text)
        if at and places is not None:
            places.append((at.group(2), at.group(1)))
    return conflicts


def _describe_discriminator(text: str) -> str:
    """``('route', 'blog.home')`` as "route name 'blog.home'"."""
    try:
        discriminator = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        discriminator = text
    if isinstance(discriminator, tuple) and discriminator:
        kind = _DISCRIMINATOR_WORDS.get(str(discriminator[0]), str(discriminator[0]))
        if len(discriminator) == 2:
            return f"{kind} {discriminator[1]!r}"
        return f"{kind} {discriminator[1:]!r}"
    if text == str(ISecurityPolicy):
        return "the security policy (set_security_policy, or set_identity_source)"
    return _DISCRIMINATOR_WORDS.get(text, text)


def _owner_of_file(path: str, packages: Mapping[str, str]) -> str | None:
    norm = path.replace("\\", "/")
    for package, name in packages.items():
        if f"/{package}/" in norm:
            return f"add-on '{name}'"
    return None


def _log_startup(state: AppState, settings: Mapping[str, Any]) -> None:
    for enabled in state.resolution.addons:
        log.info(
            "add-on %s %s (%s) enabled: %s",
            enabled.name,
            enabled.addon.version,
            enabled.addon.distribution,
            enabled.reason,
        )
    for key, var in sorted(state.env_overrides.items()):
        log.info("setting %s taken from environment variable %s", key, var)
    from .settings import settings_of_disabled_addons

    unused = settings_of_disabled_addons(
        settings, state.installed, frozenset(state.resolution.names)
    )
    for message in unused:
        log.warning("%s", message)
