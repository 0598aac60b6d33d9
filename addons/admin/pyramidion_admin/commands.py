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


def search_index_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model",
        nargs="*",
        help="registered models as ADDON.MODEL, such as auth.user (default: every one)",
    )
    parser.add_argument(
        "--fulltext",
        action="store_true",
        help="the index of admin.fulltext = true's search instead of the substring search's",
    )


def search_index_command(request: Request, args: argparse.Namespace) -> int:
    """``pyramidion admin search-index CONFIG [ADDON.MODEL...] [--fulltext]``:
    print the PostgreSQL statements that index the admin's search of each
    model, compiled from the expression its list queries."""
    from pyramidion import CommandError

    from .listing import search_index_ddl
    from .options import admin_site

    site = admin_site(request.registry)
    if args.model:
        chosen = []
        for spec in args.model:
            addon, _, name = spec.partition(".")
            model_admin = site.get(addon, name)
            if model_admin is None:
                raise CommandError(
                    f"No model {spec!r} is registered in the admin; "
                    "`pyramidion admin permissions CONFIG` names them."
                )
            chosen.append(model_admin)
    else:
        chosen = list(site)
    for model_admin in chosen:
        statements = search_index_ddl(model_admin, fulltext=args.fulltext)
        if statements:
            print(f"-- {model_admin.addon}.{model_admin.name}")
            for statement in statements:
                print(f"{statement};")
    return 0
