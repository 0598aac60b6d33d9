"""``pyramidion serve CONFIG``: read the ini the way pserve will, then run pserve.

``pserve`` parses the ini, sets up logging and loads the server before the
app factory (``pyramidion:main``) runs, so a mistake at that level reaches
the person as a traceback from configparser, PasteDeploy, logging or
waitress. This command reads the file first
(:func:`pyramidion.configfile.check_config_file` with the server section
required) and applies its logging sections, so each such mistake is one
sentence; then it hands the same arguments to pserve. What the app factory
finds (settings, add-ons, routes) it reports itself, also as one sentence.

A ``[server:main]`` that uses waitress is served by
:func:`pyramidion.serving.serve_until_stopped`, which drains on SIGTERM:
``/readyz`` turns 503, the requests in flight finish
(``pyramidion.shutdown_delay`` and ``pyramidion.shutdown_timeout``), then
the process exits 0. With pserve's own options (``--reload``...) or
another server, this is exactly ``pserve CONFIG [OPTIONS]``.
"""

from __future__ import annotations

import argparse
from typing import Any

from . import add_verbose_argument

__all__ = ["register", "run"]


def run(args: argparse.Namespace) -> int:
    from pyramid.scripts.pserve import main as pserve

    from ..configfile import check_config_file, setup_logging

    # pserve's NAME=VALUE arguments, which %(NAME)s in the file may use.
    variables = dict(
        arg.split("=", 1) for arg in args.pserve_args if "=" in arg and not arg.startswith("-")
    )
    check_config_file(args.config, require_server=True, variables=variables)
    setup_logging(args.config)
    server_settings = _waitress_settings(args.config, variables)
    options = [a for a in args.pserve_args if a.startswith("-") or "=" not in a]
    if server_settings is not None and not options:
        return _serve_draining(args.config, variables, server_settings)
    result = pserve(["pserve", args.config, *args.pserve_args])
    return int(result or 0)


#: How ``[server:main]`` names waitress.
_WAITRESS = ("egg:waitress#main", "egg:waitress", "call:waitress:serve_paste")


def _waitress_settings(config: str, variables: dict[str, str]) -> dict[str, str] | None:
    """waitress's options from ``[server:main]``, or None when it names
    another server."""
    import plaster

    loader = plaster.get_loader(config, protocols=["wsgi"])
    settings = dict(loader.get_settings("server:main", defaults=variables))
    if settings.pop("use", "").strip() not in _WAITRESS:
        return None
    return settings


def _serve_draining(
    config: str, variables: dict[str, str], server_settings: dict[str, str]
) -> int:
    from pyramid.paster import get_app

    from ..serving import serve_until_stopped
    from ..settings import CoreSettings, get_settings
    from ..web import mark_draining

    app = get_app(config, options=variables)
    registry = getattr(app, "registry", None)
    delay, timeout, health_listen = 2, 30, None
    if registry is not None:
        core = get_settings(registry, CoreSettings)
        delay, timeout = core.shutdown_delay, core.shutdown_timeout
        health_listen = core.health_listen

    def on_drain() -> None:
        if registry is not None:
            mark_draining(registry)

    return serve_until_stopped(
        app,
        server_settings,
        delay=delay,
        timeout=timeout,
        on_drain=on_drain,
        health_listen=health_listen,
    )


def register(groups: Any) -> None:
    parser = groups.add_parser(
        "serve",
        help="check the ini file, then serve it (draining on SIGTERM)",
        description="Read CONFIG as pserve will (the file, its [server:main] and "
        "logging sections), reporting a mistake as one sentence with exit status "
        "2, then serve it. With waitress, SIGTERM drains: /readyz answers 503, "
        "requests in flight finish (pyramidion.shutdown_delay, "
        "pyramidion.shutdown_timeout), and the process exits 0. Options after "
        "CONFIG are pserve's own (for example --reload), and with them pserve "
        "serves the file.",
        epilog="example: pyramidion serve development.ini --reload",
    )
    parser.add_argument("config", metavar="CONFIG", help="the application's ini file")
    parser.add_argument(
        "pserve_args",
        nargs=argparse.REMAINDER,
        metavar="PSERVE_OPTIONS",
        help="passed to pserve unchanged",
    )
    add_verbose_argument(parser)
    parser.set_defaults(handler=run)
