"""``pyramidion addons ...``: inspect the add-ons of an application.

``list`` shows what each enabled add-on contributes (routes, tables,
migration state) and which installed add-ons are not enabled
(:mod:`.listing`); ``graph`` draws the dependency graph (:mod:`.graph`);
``why`` explains why an add-on is (or is not) enabled (:mod:`.why`);
``overrides`` shows which layer's template or static file wins
(:mod:`.overrides`). ``install`` and ``uninstall`` live in
:mod:`pyramidion.cli.addons_lifecycle`. This module holds the commands:
each bootstraps the ini and calls one of those plain functions.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
from typing import Any

from ...overrides import override_report
from ...state import app_state
from .. import add_config_argument, bootstrap_app
from .graph import graph_dot, graph_text
from .listing import format_listing, list_addons
from .overrides import format_overrides
from .why import why_enabled

__all__ = ["register", "run_graph", "run_list", "run_overrides", "run_why"]


def run_list(args: argparse.Namespace) -> int:
    with bootstrap_app(args.config) as env:
        listing = list_addons(env.registry)
    if args.format == "json":
        print(json.dumps(listing.as_json(), indent=2))
    else:
        print(format_listing(listing))
    return 0


def run_graph(args: argparse.Namespace) -> int:
    with bootstrap_app(args.config) as env:
        resolution = app_state(env.registry).resolution
    print(graph_dot(resolution) if args.format == "dot" else graph_text(resolution))
    return 0


def run_why(args: argparse.Namespace) -> int:
    with bootstrap_app(args.config) as env:
        enabled, text = why_enabled(app_state(env.registry), args.name, args.config)
    print(text)
    return 0 if enabled else 1


def run_overrides(args: argparse.Namespace) -> int:
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
        importlib.import_module("pyramidion.cli.addons_lifecycle").register(commands)
