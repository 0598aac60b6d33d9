"""Pyramidion: a pluggable application framework on Pyramid 2.

``main`` is the PasteDeploy app factory (``use = egg:pyramidion-core``);
``config.include("pyramidion")`` embeds Pyramidion into an existing Pyramid
application. Both read the same settings.

This module is the public API for add-ons: every name in ``__all__`` is
kept stable (docs/developers/contract.md lists them). Importing it to
declare an add-on descriptor loads only the descriptor types, the settings
declarations and the errors; the names that need the web and database
machinery (``make_app``, ``Base``, ``wants_json``...) are imported the first
time they are used, and importing never creates an engine or configures
anything.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from types import ModuleType
from typing import TYPE_CHECKING, Any

from .addon import Addon, Command, LifecycleContext
from .errors import (
    AddonConflict,
    AddonError,
    AddonImportError,
    AddonNotFound,
    CommandError,
    ConfigurationError,
    DatabaseError,
    DependencyCycle,
    MissingRequirement,
    PyramidionError,
    SettingsError,
    VersionConflict,
)
from .settings import CoreSettings, ensure_writable_directory, get_settings, setting
from .state import AppState, app_state, get_database

if TYPE_CHECKING:
    from pyramid.router import Router

    from .app import includeme, make_app
    from .cli.addons.listing import list_addons
    from .cli.settings import app_settings
    from .db import Base, Database, independent_session, metadata
    from .idempotency import (
        FORM_TOKEN_FIELD,
        claim_form_token,
        new_form_token,
    )
    from .inputs import column_value, integer_bounds, json_body
    from .lifecycle import DatabaseState, database_state
    from .metrics import count_login_failure
    from .resources import model_factory
    from .security import ADMIN_PRINCIPAL, PUBLIC, csrf_check_required
    from .state import CORE_VERSION as __version__
    from .web import problem_response, wants_json

__all__ = [
    "ADMIN_PRINCIPAL",
    "FORM_TOKEN_FIELD",
    "PUBLIC",
    "Addon",
    "AddonConflict",
    "AddonError",
    "AddonImportError",
    "AddonNotFound",
    "AppState",
    "Base",
    "Command",
    "CommandError",
    "ConfigurationError",
    "CoreSettings",
    "Database",
    "DatabaseError",
    "DatabaseState",
    "DependencyCycle",
    "LifecycleContext",
    "MissingRequirement",
    "PyramidionError",
    "SettingsError",
    "VersionConflict",
    "__version__",
    "app_settings",
    "app_state",
    "claim_form_token",
    "column_value",
    "count_login_failure",
    "csrf_check_required",
    "database_state",
    "ensure_writable_directory",
    "get_database",
    "get_settings",
    "includeme",
    "independent_session",
    "integer_bounds",
    "json_body",
    "list_addons",
    "main",
    "make_app",
    "metadata",
    "model_factory",
    "new_form_token",
    "problem_response",
    "setting",
    "wants_json",
]

# The public names whose modules import Pyramid's configurator, SQLAlchemy's
# ORM or WebOb: imported on first use (PEP 562), so that declaring a
# descriptor stays cheap.
_LOADED_ON_USE = {
    "ADMIN_PRINCIPAL": "security",
    "PUBLIC": "security",
    "csrf_check_required": "security",
    "Base": "db",
    "Database": "db",
    "DatabaseState": "lifecycle",
    "database_state": "lifecycle",
    "count_login_failure": "metrics",
    "includeme": "app",
    "independent_session": "db",
    "column_value": "inputs",
    "integer_bounds": "inputs",
    "json_body": "inputs",
    "make_app": "app",
    "metadata": "db",
    "model_factory": "resources",
    "FORM_TOKEN_FIELD": "idempotency",
    "claim_form_token": "idempotency",
    "new_form_token": "idempotency",
    # What `pyramidion addons list` and `pyramidion settings` show, for
    # add-ons that show it on a page (the admin's installed add-ons).
    "list_addons": "cli.addons.listing",
    "app_settings": "cli.settings",
    "problem_response": "web",
    "wants_json": "web",
}


def import_quietly(name: str) -> ModuleType:
    """Import module ``name`` without the warning Pyramid's import gives.

    Pyramid 2.1 imports pkg_resources, and setuptools 81 warns about that on
    every start; the warning is Pyramid's to act on, so it is silenced while
    Pyramidion imports Pyramid, and only then (global filters are untouched).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="pkg_resources is deprecated as an API", category=UserWarning
        )
        warnings.filterwarnings(
            "ignore", message="pkg_resources is deprecated as an API", category=DeprecationWarning
        )
        return importlib.import_module(name)


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from . import state

        globals()[name] = state.CORE_VERSION
        return state.CORE_VERSION
    module = _LOADED_ON_USE.get(name)
    if module is None:
        raise AttributeError(f"module 'pyramidion' has no attribute {name!r}")
    value = getattr(import_quietly(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def main(global_config: dict[str, Any], **settings: Any) -> Router:
    """PasteDeploy app factory: ``[app:main] use = egg:pyramidion-core``.

    A configuration error ends the process with its message and exit
    status 2 instead of a traceback, because the person reading it is
    deploying, not debugging Pyramidion.
    """
    app = import_quietly("pyramidion.app")
    try:
        return app.make_app(settings, global_config)
    except PyramidionError as exc:
        print(f"pyramidion: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
