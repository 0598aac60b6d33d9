"""``pyramidion addons install|uninstall``: add-ons in the database.

:mod:`pyramidion.cli.addons` owns the ``addons`` group and calls
:func:`register` to add these two commands to it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import CommandError
from ..lifecycle import install_addon, uninstall_addon, uninstall_plan
from . import add_config_argument
from .db import database_transaction

__all__ = [
    "register",
    "run_install",
    "run_uninstall",
]


def run_install(args: argparse.Namespace) -> int:
    with database_transaction(args.config) as work:
        lines = install_addon(
            work.registry, work.connection, args.name, dbsession=work.dbsession, config=args.config
        )
    print("\n".join(lines))
    return 0


def run_uninstall(args: argparse.Namespace) -> int:
    with database_transaction(args.config, read_only=True) as work:
        plan = uninstall_plan(work.registry, work.connection, args.name, config=args.config)
    print("\n".join(plan.describe()))
    if plan.dependents:
        raise CommandError(
            f"cannot uninstall '{args.name}' while {', '.join(plan.dependents)} "
            f"require(s) it. Uninstall those first (pyramidion addons uninstall "
            f"{plan.dependents[0]} {args.config}) and remove them from "
            "pyramidion.addons."
        )
    if args.export is not None:
        print(f"Each table's rows will first be exported to {args.export}/<table>.jsonl.")
    if not args.yes and not _confirmed(args.name):
        print("Not uninstalled; nothing was changed.", file=sys.stderr)
        return 1
    with database_transaction(args.config) as work:
        lines = uninstall_addon(
            work.registry,
            work.connection,
            args.name,
            args.export,
            dbsession=work.dbsession,
            config=args.config,
        )
    print("\n".join(lines))
    return 0


def _confirmed(name: str) -> bool:
    """Ask on stdin; no stdin, end of input or any answer but the add-on's
    name means no."""
    if sys.stdin is None:
        return False
    print(f"Type '{name}' to uninstall it, anything else to stop: ", end="", flush=True)
    try:
        answer = sys.stdin.readline()
    except (EOFError, OSError):
        return False
    return answer.strip() == name


def register(addons_subparsers: Any) -> None:
    """Add ``install`` and ``uninstall`` to the ``addons`` subparsers."""
    sub = addons_subparsers.add_parser(
        "install",
        help="install an enabled add-on in the database",
        description="Migrate the add-on's branch (and those of the add-ons it "
        "requires that are not installed yet) to head, run their install "
        "hooks and record them, in one transaction. The add-on must be "
        "listed in pyramidion.addons. 'pyramidion db upgrade' does the same "
        "for every enabled add-on.",
    )
    sub.add_argument("name", metavar="NAME", help="the add-on's name")
    add_config_argument(sub)
    sub.set_defaults(handler=run_install)

    sub = addons_subparsers.add_parser(
        "uninstall",
        help="remove an add-on's tables and record from the database",
        description="Show what uninstalling would drop (tables and row "
        "counts) and which enabled add-ons require it, then ask for "
        "confirmation (type the add-on's name; no input means no). Refuses "
        "while an enabled add-on requires it. Then, in one transaction: "
        "export its tables when --export is given, run its uninstall hook, "
        "revert its migrations (dropping its tables) and delete its record. "
        "Remove it from pyramidion.addons afterwards.",
    )
    sub.add_argument("name", metavar="NAME", help="the add-on's name")
    add_config_argument(sub)
    sub.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    sub.add_argument(
        "--export",
        type=Path,
        metavar="DIR",
        help="first write each table's rows to DIR/<table>.jsonl",
    )
    sub.set_defaults(handler=run_uninstall)
