"""``pyramidion storage ...`` commands."""

from __future__ import annotations

import argparse
import datetime
from typing import TYPE_CHECKING

from pyramidion import get_settings

from .services import collect_garbage, get_backend
from .settings import StorageSettings

if TYPE_CHECKING:
    from pyramid.request import Request


def gc_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--grace",
        type=float,
        metavar="SECONDS",
        help="leave files younger than this alone (default: storage.gc_grace)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="report what would be removed, remove nothing"
    )


def gc(request: Request, args: argparse.Namespace) -> int:
    """Remove orphaned files, expired temporary uploads and staging leftovers."""
    settings = get_settings(request.registry, StorageSettings)
    grace = settings.gc_grace if args.grace is None else datetime.timedelta(seconds=args.grace)
    backend = get_backend(request)
    report = collect_garbage(
        request.dbsession, backend, request.tm, grace=grace, dry_run=args.dry_run
    )
    verb = "would remove" if args.dry_run else "removed"
    print(
        f"storage gc ({backend!r}, grace {int(grace.total_seconds())}s): {verb} "
        f"{len(report.orphans)} orphaned file(s), {report.expired_uploads} expired "
        f"temporary upload(s), {report.staging} staging leftover(s)"
    )
    for key in report.orphans:
        print(f"  {verb} {key}")
    return 0
