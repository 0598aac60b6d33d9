"""Pyramidion: a pluggable application framework on Pyramid 2.

``main`` is the PasteDeploy app factory (``use = egg:pyramidion-core``);
``config.include("pyramidion")`` embeds Pyramidion into an existing Pyramid
application. Both read the same settings.
"""

from __future__ import annotations

import sys
import warnings
from typing import TYPE_CHECKING, Any

# Pyramid 2.1 imports pkg_resources, and setuptools 81 warns about that on
# every start; the warning is Pyramid's to act on, so it is silenced while
# Pyramidion imports Pyramid, and only then (global filters are untouched).
with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message="pkg_resources is deprecated as an API", category=UserWarning
    )
    warnings.filterwarnings(
        "ignore", message="pkg_resources is deprecated as an API", category=DeprecationWarning
    )
    from .addon import Addon, Command, LifecycleContext
    from .app import CORE_VERSION as __version__
    from .app import includeme, make_app
    from .errors import PyramidionError
    from .resources import model_factory
    from .security import ADMIN_PRINCIPAL, PUBLIC
    from .settings import get_settings, setting

if TYPE_CHECKING:
    from pyramid.router import Router

__all__ = [
    "ADMIN_PRINCIPAL",
    "PUBLIC",
    "Addon",
    "Command",
    "LifecycleContext",
    "__version__",
    "get_settings",
    "includeme",
    "main",
    "make_app",
    "model_factory",
    "setting",
]


def main(global_config: dict[str, Any], **settings: Any) -> Router:
    """PasteDeploy app factory: ``[app:main] use = egg:pyramidion-core``.

    A configuration error ends the process with its message and exit
    status 2 instead of a traceback, because the person reading it is
    deploying, not debugging Pyramidion.
    """
    try:
        return make_app(settings, global_config)
    except PyramidionError as exc:
        print(f"pyramidion: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
