"""``pyramidion admin grant|revoke|permissions`` commands.

Each handler runs inside the bootstrapped request's transaction and calls
a plain function of :mod:`pyramidion_admin.services`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyramid.request import Request


def grant_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("group", help="the group's name")
    parser.add_argument(
        "permission",
        nargs="+",
        help="admin permissions, such as admin.blog.post.change "
        "(`pyramidion admin permissions CONFIG` lists them)",
    )


def grant_command(request: Request, args: argparse.Namespace) -> int:
    """``pyramidion admin grant CONFIG GROUP PERMISSION...``."""
    from pyramidion import CommandError

    from .options import admin_site
    from .services import GrantError, grant

    known = admin_site(request.registry).permissions()
    try:
        added = grant(request.dbsession, args.group, args.permission, known=known)
    except GrantError as exc:
        raise CommandError(f"{exc} Nothing was changed.") from None
    for permission in args.permission:
        state = "granted" if permission in added else "already held"
        print(f"{args.group}: {permission} {state}")
    return 0


def revoke_command(request: Request, args: argparse.Namespace) -> int:
    """``pyramidion admin revoke CONFIG GROUP PERMISSION...``."""
    from pyramidion import CommandError

    from .services import GrantError, revoke

    try:
        removed = revoke(request.dbsession, args.group, args.permission)
    except GrantError as exc:
        raise CommandError(f"{exc} Nothing was changed.") from None
    for permission in args.permission:
        state = "revoked" if permission in removed else "was not held"
        print(f"{args.group}: {permission} {state}")
    return 0


def permissions_command(request: Request, args: argparse.Namespace) -> int:
    """``pyramidion admin permissions CONFIG``: every admin permission, what
    it allows and the groups that hold it."""
    from .options import admin_site
    from .resources import load_grants

    grants = load_grants(request)
    for permission, description in admin_site(request.registry).permissions().items():
        holders = ", ".join(sorted(p.removeprefix("group:") for p in grants.get(permission, ())))
        print(f"{permission}\t{description}\t{holders or '-'}")
    return 0
