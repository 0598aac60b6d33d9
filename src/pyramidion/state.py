"""What the core knows about a running application, kept on its registry.

A leaf module: it imports no other part of Pyramidion at run time, so every
module can use :func:`app_state` and :func:`get_database` without importing
the composition root (:mod:`pyramidion.app`), which imports them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyramid.registry import Registry

    from .addon import Addon
    from .db import Database
    from .discovery import Candidate
    from .resolve import Resolution
    from .settings import CoreSettings

__all__ = ["CORE_VERSION", "AppState", "app_state", "get_database"]

if TYPE_CHECKING:
    CORE_VERSION: str


@cache
def _core_version() -> str:
    # Read from the distribution's metadata on first use, not at import:
    # importlib.metadata brings email, zipfile, csv and pathlib, which an
    # add-on that only declares its descriptor never needs.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pyramidion-core")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0"


def __getattr__(name: str) -> Any:
    if name == "CORE_VERSION":
        return _core_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class AppState:
    """What the core knows about the running app; ``registry.pyramidion``."""

    core: CoreSettings
    resolution: Resolution
    installed: Mapping[str, Candidate]
    #: Parsed settings per enabled add-on name.
    settings: dict[str, Any]
    settings_by_type: dict[type[Any], Any]
    #: Dotted names from ``pyramidion.addons`` included as plain Pyramid packages.
    plain_includes: tuple[str, ...]
    #: Settings keys that came from the environment, with the variable name.
    env_overrides: dict[str, str]
    #: The route prefix each add-on was included with.
    route_prefixes: dict[str, str] = field(default_factory=dict)
    #: The ini file the app was loaded from, when PasteDeploy says; used to
    #: print commands people can paste.
    config_file: str | None = None

    @property
    def config_hint(self) -> str:
        """The ini path to show in suggested commands, or ``CONFIG``."""
        return self.config_file or "CONFIG"

    @property
    def addons(self) -> tuple[Addon, ...]:
        return tuple(e.addon for e in self.resolution.addons)


def app_state(registry: Registry) -> AppState:
    """The :class:`AppState` of a configured registry."""
    state: AppState | None = getattr(registry, "pyramidion", None)
    if state is None:
        raise LookupError("this registry was not configured with config.include('pyramidion')")
    return state


def get_database(registry: Registry) -> Database:
    """The application's :class:`~pyramidion.db.Database` (engine and session factory)."""
    database: Database = registry.pyramidion_database
    return database
