"""``pyramidion db ...``: migrate the database and check it against the models.

Every command bootstraps the ini, opens one transaction on the request's
session and calls a plain function of :mod:`pyramidion.migrate` or
:mod:`pyramidion.lifecycle`; the transaction commits only when the whole
command succeeded, so a failing migration leaves the database as it was.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError

from .. import db
from ..errors import CommandError, DatabaseError
from ..lifecycle import upgrade
from ..migrate import (
    CORE_BRANCH,
    check,
    current_revisions,
    database_error,
    describe_database_error,
    downgrade,
    history,
    make_revision,
    pending_migrations,
)
from ..state import get_database
from . import add_config_argument, bootstrap_app

if TYPE_CHECKING:
    from pyramid.registry import Registry
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session


__all__ = [
    "DatabaseWork",
    "database_transaction",
    "register",
    "run_check",
    "run_current",
    "run_downgrade",
    "run_history",
    "run_revision",
    "run_upgrade",
]


@dataclass
class DatabaseWork:
    """What a command's work function receives inside the transaction."""

    registry: Registry
    connection: Connection
    dbsession: Session
    #: The ini file, as given on the command line, for suggested commands.
    config: str


@contextmanager
def database_transaction(config_uri: str, *, read_only: bool = False) -> Iterator[DatabaseWork]:
    """Bootstrap ``config_uri`` and run the block in one transaction.

    The transaction commits when the block returns (unless ``read_only``:
    then it is always aborted) and is aborted when it raises. Database errors become
    :class:`~pyramidion.errors.DatabaseError` with the URL shown without
    its password.
    """

    with bootstrap_app(config_uri) as env:
        engine = get_database(env.registry).engine
        try:
            tm = env.request.tm
            tm.begin()
            try:
                session = env.request.dbsession
                connection = session.connection()
                db.unbound_statements(connection)
                yield DatabaseWork(
                    registry=env.registry,
                    connection=connection,
                    dbsession=session,
                    config=config_uri,
                )
            except BaseException:
                tm.abort()
                raise
            if read_only:
                tm.abort()
            else:
                # Migrations and records go through the connection, not the
                # ORM; request sessions are joined as changed, so the
                # commit is not skipped for want of a flush.
                tm.commit()
        except DBAPIError as exc:
            if exc.connection_invalidated or _is_connection_error(exc):
                raise database_error(env.registry, exc) from exc
            raise DatabaseError(
                "the database refused a statement, so nothing was changed (the "
                f"transaction was rolled back): {describe_database_error(env.registry, exc)}"
            ) from exc
        except SQLAlchemyError as exc:
            raise DatabaseError(
                "the command failed, so nothing was changed (the transaction was "
                f"rolled back): {type(exc).__name__}: {exc}"
            ) from exc
        finally:
            # The command is done with the database; close its connections
            # now rather than whenever the process exits.
            engine.dispose()


def _is_connection_error(exc: Exception) -> bool:
    # SQLAlchemy wraps a failure to connect without a statement; a statement
    # that fails with OperationalError (a lock timeout) is not about the URL.
    return isinstance(exc, OperationalError | InterfaceError) and not getattr(
        exc, "statement", None
    )


# -- handlers ------------------------------------------------------------------


def run_upgrade(args: argparse.Namespace) -> int:
    with database_transaction(args.config) as work:
        lines = upgrade(work.registry, work.connection, dbsession=work.dbsession)
    print("\n".join(lines))
    return 0


def run_downgrade(args: argparse.Namespace) -> int:
    if args.addon == CORE_BRANCH:
        raise CommandError(
            "the core's own branch cannot be downgraded with this command: "
            "without its tables no add-on can be installed or uninstalled."
        )
    if args.target == "base":
        raise CommandError(
            f"downgrading '{args.addon}' to base would drop all its tables and "
            "leave it recorded as installed. To remove an add-on, run: "
            f"pyramidion addons uninstall {args.addon} {args.config}"
        )
    with database_transaction(args.config) as work:
        reverted = downgrade(work.registry, work.connection, args.addon, args.target)
    print(f"{args.addon}: reverted {len(reverted)} migration(s) ({', '.join(reverted)})")
    print(
        f"Readiness now reports the branch as pending; 'pyramidion db upgrade "
        f"{args.config}' applies it again."
    )
    return 0


def run_current(args: argparse.Namespace) -> int:
    with database_transaction(args.config, read_only=True) as work:
        current = current_revisions(work.registry, work.connection)
        pending = pending_migrations(work.registry, work.connection)
    for branch, revision in current.items():
        waiting = pending.get(branch, [])
        state = revision or "nothing applied"
        if waiting:
            state += f"; {len(waiting)} pending ({', '.join(waiting)})"
        elif revision:
            state += " (head)"
        else:
            state = "no revisions"
        print(f"{branch}: {state}")
    return 0


def run_history(args: argparse.Namespace) -> int:
    with database_transaction(args.config, read_only=True) as work:
        branches = history(work.registry)
        try:
            current = current_revisions(work.registry, work.connection)
        except DatabaseError:
            current = {}
    for branch, revisions in branches.items():
        print(f"{branch}:")
        if not revisions:
            print("  (no revisions)")
        for rev in revisions:
            marks = []
            if current.get(branch) == rev.revision:
                marks.append("current")
            if rev is revisions[-1]:
                marks.append("head")
            depends = f" [depends on {', '.join(rev.depends_on)}]" if rev.depends_on else ""
            mark = f" ({', '.join(marks)})" if marks else ""
            print(f"  {rev.revision}  {rev.message}{depends}{mark}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    with database_transaction(args.config, read_only=True) as work:
        problems = check(work.registry, work.connection, args.config)
    if problems:
        print(f"{len(problems)} problem(s):")
        for problem in problems:
            print(f"- {problem}")
        return 1
    print("the database is up to date and matches the models")
    return 0


def run_revision(args: argparse.Namespace) -> int:
    with database_transaction(args.config, read_only=True) as work:
        path = make_revision(
            work.registry,
            work.connection,
            args.addon,
            args.message,
            autogenerate=not args.empty,
        )
    print(f"wrote {path}")
    print(
        "Read it before applying it (autogenerate cannot see renames), then "
        f"run: pyramidion db upgrade {args.config}"
    )
    return 0


def register(groups: Any) -> None:
    group = groups.add_parser(
        "db",
        help="migrate the database and check it against the models",
        description="Apply, revert, inspect and write migrations. There is "
        "one Alembic branch for the core ('pyramidion') and one for each "
        "enabled add-on, labelled with its name. Each command runs in one "
        "transaction: when it fails, nothing is changed.",
    )
    commands = group.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    sub = commands.add_parser(
        "upgrade",
        help="apply pending migrations and install newly enabled add-ons",
        description="Migrate the core's branch, then each enabled add-on's "
        "branch in resolution order, to its head; run the install hook of "
        "each enabled add-on not yet installed in the database and record it; "
        "record the new version of upgraded add-ons.",
    )
    add_config_argument(sub)
    sub.set_defaults(handler=run_upgrade)

    sub = commands.add_parser(
        "downgrade",
        help="revert migrations of one add-on's branch",
        description="Revert migrations of one add-on's branch, by default "
        "the newest one. TARGET is a step back (-1, -2, ...) or a revision "
        "id of the branch to go back to (it stays applied). Refuses when "
        "another add-on's applied migrations depend on what would be "
        "reverted. To remove an add-on entirely, use 'pyramidion addons "
        "uninstall'.",
        epilog="example: pyramidion db downgrade --addon blog production.ini -2",
    )
    add_config_argument(sub)
    sub.add_argument("--addon", required=True, metavar="NAME", help="the add-on's branch")
    sub.add_argument(
        "target", nargs="?", default="-1", metavar="TARGET", help="default: -1 (one step back)"
    )
    sub.set_defaults(handler=run_downgrade)

    sub = commands.add_parser(
        "current",
        help="the applied revision of each branch",
        description="Show the newest applied revision of each branch and "
        "the revisions still pending.",
    )
    add_config_argument(sub)
    sub.set_defaults(handler=run_current)

    sub = commands.add_parser(
        "history",
        help="the revisions of each branch",
        description="List each branch's revisions, oldest first, marking the "
        "applied one and the head.",
    )
    add_config_argument(sub)
    sub.set_defaults(handler=run_history)

    sub = commands.add_parser(
        "check",
        help="fail when migrations are pending or models and migrations differ",
        description="Exit with status 1 and list the problems when the "
        "database has pending migrations or when the models of the core and "
        "enabled add-ons differ from the schema their migrations create "
        "(pending migrations are applied in a transaction that is rolled "
        "back for the comparison). Exit 0 when all is in order. Changes "
        "nothing.",
    )
    add_config_argument(sub)
    sub.set_defaults(handler=run_check)

    sub = commands.add_parser(
        "revision",
        help="write a new migration for an add-on",
        description="Write a revision into the add-on's migrations "
        "directory, holding the differences between its models and the "
        "database (which must be up to date), or an empty one with --empty. "
        "The add-on's first revision starts its branch and depends on the "
        "heads of the add-ons it requires. When ruff is installed, it fixes "
        "and formats the new file with the add-on's ruff settings.",
        epilog="example: pyramidion db revision --addon blog -m 'add post "
        "subtitle' development.ini",
    )
    add_config_argument(sub)
    sub.add_argument("--addon", required=True, metavar="NAME", help="the add-on")
    sub.add_argument("-m", "--message", required=True, help="what the revision does")
    sub.add_argument(
        "--empty", action="store_true", help="write an empty revision instead of autogenerating"
    )
    sub.set_defaults(handler=run_revision)
