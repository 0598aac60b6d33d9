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
import importlib
import logging
import pkgutil
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from .. import import_quietly
from ..discovery import discover_addons
from ..errors import AddonImportError, CommandError, DatabaseError, PyramidionError
from ..state import CORE_VERSION as __version__
from ..state import app_state, get_database

if TYPE_CHECKING:
    from pyramid.registry import Registry
    from pyramid.request import Request

    from ..addon import Addon, Command

__all__ = [
    "CORE_GROUPS",
    "LOGGING_GROUPS",
    "AppEnv",
    "add_config_argument",
    "add_verbose_argument",
    "bootstrap_app",
    "build_parser",
    "database_not_ready",
    "main",
    "mask_secrets",
    "resolve_dotted",
]

# The first import of Pyramid by the command, made quietly (see import_quietly).
paster = import_quietly("pyramid.paster")

#: Core command groups, in the order ``--help`` lists them.
CORE_GROUPS = ("check", "serve", "db", "addons", "settings", "new")

#: Commands whose log lines are the point: a server logs what it serves.
LOGGING_GROUPS = frozenset({"serve"})

Handler = Callable[[argparse.Namespace], int | None]


@dataclass
class AppEnv:
    """A bootstrapped application: what commands work with."""

    registry: Registry
    request: Request
    closer: Callable[[], None]


@contextmanager
def bootstrap_app(config_uri: str, *, require_server: bool = False) -> Iterator[AppEnv]:
    """Load the ini's app (``egg:pyramidion-core`` or any app including
    pyramidion) and yield its registry and a request.

    The file is read first the way PasteDeploy and pserve will read it
    (:func:`pyramidion.configfile.check_config_file`), so a mistake in the
    file, its server section or its logging sections is one sentence.
    Logging is configured from the ini's logging sections when it has them.
    """
    from ..configfile import check_config_file, setup_logging

    check_config_file(config_uri, require_server=require_server)
    setup_logging(config_uri)
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


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="the application's ini file")
    add_verbose_argument(parser)


def add_verbose_argument(parser: argparse.ArgumentParser) -> None:
    """``-v``: show the INFO lines start-up logs (quiet by default)."""
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        # Given after the command, -v must not reset one given before it.
        default=argparse.SUPPRESS,
        help="also show informational log lines (which add-ons are enabled, "
        "settings taken from the environment); twice shows tracebacks",
    )


def build_parser(addons: Sequence[Addon] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pyramidion",
        description="Manage a Pyramidion application: check its configuration, "
        "migrate its database, install and inspect add-ons. Commands print "
        "only their result and warnings; -v adds the informational log lines.",
    )
    parser.add_argument("--version", action="version", version=f"pyramidion {__version__}")
    add_verbose_argument(parser)
    parser.set_defaults(verbose=0)
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
    # Each command's own arguments are tried on a scratch parser first: a
    # group half added to the real parser could not be taken out again.
    arguments = [_command_arguments(addon, command) for command in addon.commands]
    group = groups.add_parser(
        addon.name,
        help=f"commands of the {addon.name} add-on",
        description=addon.title or f"Commands of the {addon.name} add-on.",
    )
    commands = group.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for command, add_arguments in zip(addon.commands, arguments, strict=True):
        sub = commands.add_parser(command.name, help=command.help, description=command.help)
        add_config_argument(sub)
        if add_arguments is not None:
            add_arguments(sub)
        sub.set_defaults(handler=_addon_handler(addon, command))


def _command_arguments(
    addon: Addon, command: Command
) -> Callable[[argparse.ArgumentParser], None] | None:
    """The command's ``arguments`` function, resolved and tried once."""
    if command.arguments is None:
        return None
    where = (
        f"add-on '{addon.name}' ({addon.distribution} {addon.version}), command '{command.name}'"
    )
    try:
        add_arguments = resolve_dotted(command.arguments)
    except Exception as exc:
        raise AddonImportError(
            f"{where}: arguments = '{command.arguments}' cannot be imported "
            f"({type(exc).__name__}: {exc}); correct the dotted name "
            "('package.module:function') or pass the function itself."
        ) from None
    if not callable(add_arguments):
        raise AddonImportError(
            f"{where}: arguments names a {type(add_arguments).__name__}, not a "
            "function that adds arguments to an argparse parser; pass such a function "
            "or its dotted name."
        )
    scratch = argparse.ArgumentParser(prog=f"pyramidion {addon.name} {command.name}")
    add_config_argument(scratch)
    try:
        add_arguments(scratch)
    except Exception as exc:
        raise AddonImportError(
            f"{where}: its arguments function fails ({type(exc).__name__}: {exc}); fix it "
            "in that package (the core already adds CONFIG and -v/--verbose)."
        ) from None
    return cast("Callable[[argparse.ArgumentParser], None]", add_arguments)


def resolve_dotted(target: Any) -> Any:
    """A callable itself, or the object a ``pkg.module:name`` (or
    ``pkg.module.name``) dotted name refers to."""
    if not isinstance(target, str):
        return target
    return pkgutil.resolve_name(target)


def _addon_handler(addon: Addon, command: Command) -> Handler:
    def run(args: argparse.Namespace) -> int | None:
        with bootstrap_app(args.config) as env:
            from ..lifecycle import readiness_problems

            if addon.name not in app_state(env.registry).resolution:
                raise CommandError(
                    f"add-on '{addon.name}' is installed but not enabled in "
                    f"{args.config}; add it to pyramidion.addons to use its commands."
                )
            try:
                handler = resolve_dotted(command.handler)
            except Exception as exc:
                raise AddonImportError(
                    f"add-on '{addon.name}', command '{command.name}': handler = "
                    f"'{command.handler}' cannot be imported ({type(exc).__name__}: "
                    f"{exc}); correct the dotted name in the add-on's descriptor."
                ) from None
            problems = readiness_problems(env.registry)
            if problems:
                raise database_not_ready(f"{addon.name} {command.name}", problems, args.config)
            if not command.transactional:
                return cast("int | None", handler(env.request, args))
            with env.request.tm:
                return cast("int | None", handler(env.request, args))

    return run


def database_not_ready(what: str, problems: Sequence[str], config: str) -> DatabaseError:
    """One sentence for a command that needs a database that is not ready."""
    first = problems[0].split("; run:", 1)[0]
    more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
    if "unreachable" in first or "cannot be reached" in first:
        fix = (
            "start the database or correct sqlalchemy.url (or PYRAMIDION_SQLALCHEMY__URL), "
            f"then run: pyramidion db upgrade {config}"
        )
    elif "not installed in the database" in first:
        fix = f"run: pyramidion db upgrade {config}"
    else:
        fix = f"migrate it first: pyramidion db upgrade {config}"
    return DatabaseError(f"'pyramidion {what}' needs the database, but {first}{more}; {fix}")


def _installed_addons_with_commands(argv: Sequence[str]) -> list[Addon]:
    """Load descriptors only when the command line may name an add-on.

    An add-on that cannot be loaded, or whose commands cannot be added, is
    a warning unless the command line names it: one broken add-on never
    takes the commands of the others away.
    """

    wanted = next((a for a in argv if not a.startswith("-")), None)
    if wanted in CORE_GROUPS:
        return []
    found = []
    for name, candidate in discover_addons().items():
        if wanted is not None and name != wanted:
            continue
        try:
            addon = candidate.load()
            for command in addon.commands:
                _command_arguments(addon, command)
        except PyramidionError as exc:
            if wanted == name:
                raise
            print(
                f"pyramidion: warning: {exc.message.splitlines()[0]} (its commands are left out)",
                file=sys.stderr,
            )
            continue
        found.append(addon)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pyramidion`` console script.

    Whatever goes wrong is printed as one message with exit status 2:
    errors written for people as they are, a database that refuses a
    statement with the command that migrates it, anything else with its
    type and first line (``-vv`` shows the traceback). Secrets in URLs are
    masked. Informational log lines are hidden unless ``-v`` is given.
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    verbose = _verbosity(args_list)
    group = next((a for a in args_list if not a.startswith("-")), None)
    quiet = verbose == 0 and group not in LOGGING_GROUPS
    if quiet:
        logging.disable(logging.INFO)
    args: argparse.Namespace | None = None
    try:
        parser = build_parser(_installed_addons_with_commands(args_list))
        args = parser.parse_args(args_list)
        result = args.handler(args)
        return int(result or 0)
    except PyramidionError as exc:
        _error(exc.message)
        return 2
    except KeyboardInterrupt:
        print("pyramidion: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if verbose > 1:
            raise
        _error(_unexpected(exc, getattr(args, "config", None)))
        return 2
    finally:
        if quiet:
            logging.disable(logging.NOTSET)


def _verbosity(argv: Sequence[str]) -> int:
    count = 0
    for arg in argv:
        if arg == "--":
            break
        if arg == "--verbose":
            count += 1
        elif arg.startswith("-v") and set(arg[1:]) == {"v"}:
            count += len(arg) - 1
    return count


def _error(message: str) -> None:
    print(f"pyramidion: error: {mask_secrets(message)}", file=sys.stderr)


_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][\w+.-]*://[^:/@\s]*:)(?P<secret>[^@\s]+)@")


def mask_secrets(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``."""
    return _URL_PASSWORD.sub(lambda m: f"{m.group('head')}***@", text)


def _unexpected(exc: Exception, config: str | None) -> str:
    from sqlalchemy.exc import SQLAlchemyError

    lines = str(exc).strip().splitlines()
    detail = f"{type(exc).__name__}: {lines[0] if lines else 'no details'}"
    if isinstance(exc, SQLAlchemyError):
        original = getattr(exc, "orig", None)
        if original is not None:
            first = str(original).strip().splitlines()
            detail = f"{type(original).__name__}: {first[0] if first else 'no details'}"
        where = config or "CONFIG"
        return (
            f"the database refused the command ({detail}); if it has not been "
            f"migrated yet, run: pyramidion db upgrade {where}"
        )
    return (
        f"the command failed unexpectedly ({detail}); run it again with -vv to see "
        "where, and report it to the add-on or application it points to."
    )
