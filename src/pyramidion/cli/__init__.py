"""The ``pyramidion`` command.

Each core command group lives in its own module with a ``register``
function that adds its subparsers and sets ``handler`` on them. Add-ons
contribute groups named after themselves (``pyramidion auth create-user
CONFIG EMAIL``) through :class:`pyramidion.Command` entries in their
descriptor.

Every command that reads an ini bootstraps it with :func:`bootstrap_app`,
does its work inside ``request.tm`` and calls a plain function that tests
call directly. Errors meant for people are printed as one message with exit
status 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import pkgutil
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import import_quietly
from ..discovery import discover_addons
from ..errors import CommandError, PyramidionError
from ..state import CORE_VERSION as __version__
from ..state import app_state, get_database

if TYPE_CHECKING:
    from pyramid.registry import Registry
    from pyramid.request import Request

    from ..addon import Addon, Command

__all__ = [
    "CORE_GROUPS",
    "AppEnv",
    "add_config_argument",
    "bootstrap_app",
    "build_parser",
    "main",
]

# The first import of Pyramid by the command, made quietly (see import_quietly).
paster = import_quietly("pyramid.paster")

#: Core command groups, in the order ``--help`` lists them.
CORE_GROUPS = ("check", "db", "addons", "settings", "new")

Handler = Callable[[argparse.Namespace], int | None]


@dataclass
class AppEnv:
    """A bootstrapped application: what commands work with."""

    registry: Registry
    request: Request
    closer: Callable[[], None]


@contextmanager
def bootstrap_app(config_uri: str) -> Iterator[AppEnv]:
    """Load the ini's app (``egg:pyramidion-core`` or any app including
    pyramidion) and yield its registry and a request.

    Logging is configured from the ini's logging sections when it has them.
    """

    _require_file(config_uri)
    # An ini without logging sections is fine: logging stays as it is.
    with contextlib.suppress(Exception):
        paster.setup_logging(config_uri)
    env = paster.bootstrap(config_uri)
    if not hasattr(env["registry"], "pyramidion"):
        env["closer"]()
        raise CommandError(
            f"{config_uri} does not configure a Pyramidion application: its "
            "[app:main] should say 'use = egg:pyramidion-core', or the app should "
            "call config.include('pyramidion')."
        )
    try:
        yield AppEnv(registry=env["registry"], request=env["request"], closer=env["closer"])
    finally:
        env["closer"]()
        # The command is over: close the pooled connections now rather than
        # at garbage collection (psycopg warns about connections left open).
        get_database(env["registry"]).engine.dispose()


def _require_file(config_uri: str) -> None:
    path = config_uri.split("#", 1)[0]
    if "://" not in path and not Path(path).is_file():
        raise CommandError(f"config file {path!r} does not exist")


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="the application's ini file")


def build_parser(addons: Sequence[Addon] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pyramidion",
        description="Manage a Pyramidion application: check its configuration, "
        "migrate its database, install and inspect add-ons.",
    )
    parser.add_argument("--version", action="version", version=f"pyramidion {__version__}")
    groups = parser.add_subparsers(dest="group", metavar="COMMAND")
    groups.required = True
    for name in CORE_GROUPS:
        module = importlib.import_module(f"pyramidion.cli.{name}")
        module.register(groups)
    for addon in addons:
        if addon.commands:
            _register_addon_commands(groups, addon)
    return parser


def _register_addon_commands(groups: Any, addon: Addon) -> None:
    group = groups.add_parser(
        addon.name,
        help=f"commands of the {addon.name} add-on",
        description=addon.title or f"Commands of the {addon.name} add-on.",
    )
    commands = group.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for command in addon.commands:
        sub = commands.add_parser(command.name, help=command.help, description=command.help)
        add_config_argument(sub)
        if command.arguments is not None:
            command.arguments(sub)
        sub.set_defaults(handler=_addon_handler(addon, command))


def _addon_handler(addon: Addon, command: Command) -> Handler:
    def run(args: argparse.Namespace) -> int | None:
        with bootstrap_app(args.config) as env:
            if addon.name not in app_state(env.registry).resolution:
                raise CommandError(
                    f"add-on '{addon.name}' is installed but not enabled in "
                    f"{args.config}; add it to pyramidion.addons to use its commands."
                )
            handler = command.handler
            if isinstance(handler, str):
                handler = pkgutil.resolve_name(handler)
            if not command.transactional:
                return handler(env.request, args)
            with env.request.tm:
                return handler(env.request, args)

    return run


def _installed_addons_with_commands(argv: Sequence[str]) -> list[Addon]:
    """Load descriptors only when the command line may name an add-on."""

    wanted = next((a for a in argv if not a.startswith("-")), None)
    if wanted in CORE_GROUPS:
        return []
    found = []
    for name, candidate in discover_addons().items():
        if wanted is not None and name != wanted:
            continue
        try:
            found.append(candidate.load())
        except PyramidionError as exc:
            if wanted == name:
                raise
            print(f"pyramidion: warning: {exc.message.splitlines()[0]}", file=sys.stderr)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pyramidion`` console script."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser(_installed_addons_with_commands(args_list))
        args = parser.parse_args(args_list)
        result = args.handler(args)
        return int(result or 0)
    except PyramidionError as exc:
        print(f"pyramidion: error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pyramidion: interrupted", file=sys.stderr)
        return 130
