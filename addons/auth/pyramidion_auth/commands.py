"""``pyramidion auth ...`` commands and the add-on's install hook.

Each handler runs inside the bootstrapped request's transaction (the core
commits it when the handler returns and aborts it when it raises) and
calls a plain function from :mod:`pyramidion_auth.accounts`. Importing
this module imports nothing heavy: the descriptor refers to it.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyramid.request import Request

    from pyramidion import LifecycleContext


def install(context: LifecycleContext) -> None:
    """Seed the ``admin`` group, whose members may do everything."""
    from .accounts import ensure_group
    from .models import ADMIN_GROUP

    ensure_group(context.dbsession, ADMIN_GROUP, "May do everything")


def create_user_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("email", help="the new account's email address")
    parser.add_argument("--name", default="", help="display name (default: the email's user part)")
    parser.add_argument("--admin", action="store_true", help="add the account to the admin group")
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input instead of prompting",
    )


def set_password_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("email", help="the account's email address")
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        required=True,
        help="read the password from the first line of standard input",
    )


def read_password(from_stdin: bool) -> str:
    """The new password: stdin's first line, or typed twice at a prompt."""
    from pyramidion import CommandError

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CommandError("no password on standard input; write it on the first line.")
        return password
    first = getpass.getpass("Password: ")
    second = getpass.getpass("Password (again): ")
    if first != second:
        raise CommandError("the two passwords differ; nothing was changed.")
    return first


def create_user_command(request: Request, args: argparse.Namespace) -> int:
    """``pyramidion auth create-user CONFIG EMAIL [--admin] [--password-stdin]``."""
    from pyramidion import CommandError

    from .accounts import AccountError, create_user

    password = read_password(args.password_stdin)
    try:
        user = create_user(
            request.registry,
            request.dbsession,
            email=args.email,
            password=password,
            display_name=args.name,
            admin=args.admin,
        )
    except AccountError as exc:
        raise CommandError(f"{exc} Nothing was changed.") from None
    role = " (admin)" if args.admin else ""
    print(f"created user {user.id} {user.email}{role}")
    return 0


def set_password_command(request: Request, args: argparse.Namespace) -> int:
    """``pyramidion auth set-password CONFIG EMAIL --password-stdin``."""
    from pyramidion import CommandError

    from .accounts import AccountError, find_user, set_password

    user = find_user(request.dbsession, args.email)
    if user is None:
        raise CommandError(
            f"there is no account for {args.email}; `pyramidion auth list-users "
            f"{args.config}` lists them."
        )
    password = read_password(args.password_stdin)
    try:
        set_password(request.registry, request.dbsession, user, password)
    except AccountError as exc:
        raise CommandError(f"Password refused: {exc} Nothing was changed.") from None
    print(
        f"password of user {user.id} {user.email} set; their sessions have ended "
        "and their API tokens are revoked"
    )
    return 0


def list_users_command(request: Request, args: argparse.Namespace) -> int:
    """``pyramidion auth list-users CONFIG``: id, email, name, state and groups."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from .models import User

    users = request.dbsession.scalars(
        select(User).options(selectinload(User.groups)).order_by(User.id)
    ).all()
    if not users:
        print(f"no users yet; create one with `pyramidion auth create-user {args.config} EMAIL`")
        return 0
    for user in users:
        state = "active" if user.is_active else "inactive"
        groups = ",".join(group.name for group in user.groups) or "-"
        print(f"{user.id}\t{user.email}\t{user.display_name}\t{state}\t{groups}")
    return 0


def create_token_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("email", help="the account the token acts for")
    parser.add_argument("name", help="what the token is for, such as 'ci' or 'backup'")
    parser.add_argument(
        "--scope",
        choices=("read", "write"),
        default="read",
        help="read: may only read (GET); write: may do whatever the account may (default: read)",
    )
    parser.add_argument(
        "--days",
        type=int,
        default=None,
        help="how long the token works (default and maximum: auth.api_token_lifetime)",
    )


def create_token_command(request: Request, args: argparse.Namespace) -> int:
    """``pyramidion auth create-token CONFIG EMAIL NAME [--scope read|write] [--days N]``:
    prints a new API token, once."""
    import datetime

    from pyramidion import CommandError

    from .tokens import create_api_token

    user = _user_or_error(request, args)
    if args.days is not None and not 1 <= args.days <= 3650:
        raise CommandError(f"--days {args.days}: give a number of days from 1 to 3650.")
    if not user.is_active:
        raise CommandError(f"{user.email} is inactive: its tokens would not work.")
    lifetime = datetime.timedelta(days=args.days) if args.days else None
    row, token = create_api_token(
        request.registry, request.dbsession, user, args.name, lifetime, scope=args.scope
    )
    print(token)
    print(
        f"API token {row.id} '{row.name}' for {user.email}, scope {row.scope}, expires "
        f"{row.expires_at:%Y-%m-%d %H:%M} UTC (shown only this once)",
        file=sys.stderr,
    )
    return 0


def ensure_admin_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-url",
        default="",
        help="where the site is served (such as http://localhost:6543), to print "
        "full links to the login and password pages",
    )


def ensure_admin_command(request: Request, args: argparse.Namespace) -> int:
    """``pyramidion auth ensure-admin CONFIG [--base-url URL]``."""
    from pyramidion import CommandError

    from .accounts import AccountError, ensure_admin

    base = args.base_url.rstrip("/")
    login = base + request.route_path("auth.login")
    try:
        outcome = ensure_admin(request.registry, request.dbsession)
    except AccountError as exc:
        raise CommandError(
            f"{exc} Nothing was changed. Set auth.initial_admin_email (or "
            "PYRAMIDION_AUTH__INITIAL_ADMIN_EMAIL) to another address, or make that "
            f"account an admin yourself."
        ) from None
    if not outcome.created:
        print(f"admin account: {outcome.email} (log in at {login})")
        return 0
    print(f"created the admin account {outcome.email}")
    if outcome.generated_password is not None:
        print(f"  password: {outcome.generated_password}")
        print("  (shown only this once; write it down)")
    else:
        print("  password: the one auth.initial_admin_password sets")
    print(f"  log in at {login}")
    print(
        f"  change the password at {base + request.route_path('auth.password')}, or with "
        f"`pyramidion auth set-password {args.config} {outcome.email} --password-stdin`"
    )
    return 0


def membership_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("email", help="the account's email address")
    parser.add_argument("group", help="the group's name (add-to-group creates it if missing)")


def list_groups_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "group", nargs="?", help="list this group's members instead of every group"
    )


def _user_or_error(request: Request, args: argparse.Namespace) -> Any:
    from pyramidion import CommandError

    from .accounts import find_user

    user = find_user(request.dbsession, args.email)
    if user is None:
        raise CommandError(
            f"there is no account for {args.email}; `pyramidion auth list-users "
            f"{args.config}` lists them."
        )
    return user


def add_to_group_command(request: Request, args: argparse.Namespace) -> int:
    """``pyramidion auth add-to-group CONFIG EMAIL GROUP``."""
    from pyramidion import CommandError

    from .accounts import AccountError, add_to_group

    user = _user_or_error(request, args)
    try:
        added = add_to_group(request.dbsession, user, args.group)
    except AccountError as exc:
        raise CommandError(f"{exc} Nothing was changed.") from None
    if added:
        print(f"{user.email} is now a member of {args.group}")
    else:
        print(f"{user.email} was already a member of {args.group}; nothing changed")
    return 0


def remove_from_group_command(request: Request, args: argparse.Namespace) -> int:
    """``pyramidion auth remove-from-group CONFIG EMAIL GROUP``."""
    from pyramidion import CommandError

    from .accounts import AccountError, remove_from_group

    user = _user_or_error(request, args)
    try:
        removed = remove_from_group(request.dbsession, user, args.group)
    except AccountError as exc:
        raise CommandError(f"{exc} Nothing was changed.") from None
    if not removed:
        raise CommandError(
            f"{user.email} is not a member of {args.group}; `pyramidion auth list-groups "
            f"{args.config}` lists the groups."
        )
    print(f"{user.email} is no longer a member of {args.group}")
    return 0


def list_groups_command(request: Request, args: argparse.Namespace) -> int:
    """``pyramidion auth list-groups CONFIG [GROUP]``: groups with their member
    counts, or one group's members."""
    from pyramidion import CommandError

    from .accounts import find_group, list_groups

    if args.group:
        group = find_group(request.dbsession, args.group)
        if group is None:
            raise CommandError(
                f"there is no group {args.group}; `pyramidion auth list-groups "
                f"{args.config}` lists them."
            )
        for user in sorted(group.members, key=lambda member: member.id):
            print(f"{user.id}\t{user.email}\t{user.display_name}")
        if not group.members:
            print(f"group {group.name} has no members")
        return 0
    groups = list_groups(request.dbsession)
    if not groups:
        print(
            f"no groups yet; `pyramidion auth add-to-group {args.config} EMAIL GROUP` creates one"
        )
    for group, members in groups:
        print(f"{group.name}\t{members} member{'' if members == 1 else 's'}\t{group.description}")
    return 0


def purge_command(request: Request, args: argparse.Namespace) -> int:
    """``pyramidion auth purge CONFIG``: delete expired sessions and tokens."""
    from .purge import purge_expired
    from .services import auth_settings

    removed = purge_expired(request.registry, request.dbsession)
    print(", ".join(f"{count} {name}" for name, count in removed.items()) + " removed")
    if auth_settings(request.registry).throttle_url:
        # Only the rows a database throttle left are counted above.
        print("Throttle counters in Redis (auth.throttle_url) expire there: nothing to purge.")
    return 0
