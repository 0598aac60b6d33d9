"""``pyramidion serve CONFIG``: read the ini the way pserve will, then run pserve.

``pserve`` parses the ini, sets up logging and loads the server before the
app factory (``pyramidion:main``) runs, so a mistake at that level reaches
the person as a traceback from configparser, PasteDeploy, logging or
waitress. This command reads the file first
(:func:`pyramidion.configfile.check_config_file` with the server section
required) and applies its logging sections, so each such mistake is one
sentence; then it hands the same arguments to pserve. What the app factory
finds (settings, add-ons, routes) it reports itself, also as one sentence.
On a valid file this is exactly ``pserve CONFIG [OPTIONS]``.
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
    result = pserve(["pserve", args.config, *args.pserve_args])
    return int(result or 0)


def register(groups: Any) -> None:
    parser = groups.add_parser(
        "serve",
        help="check the ini file, then serve it with pserve",
        description="Read CONFIG as pserve will (the file, its [server:main] and "
        "logging sections), reporting a mistake as one sentence with exit status "
        "2, then serve it with pserve. Options after CONFIG are pserve's own "
        "(for example --reload). 'pserve CONFIG' serves a valid file the same way.",
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
