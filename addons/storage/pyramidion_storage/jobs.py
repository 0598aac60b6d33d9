"""The storage add-on's periodic garbage collection, when ``jobs`` is enabled.

Declares the job ``storage.gc`` (what ``pyramidion storage gc`` does, with
``storage.gc_grace``) and runs it every ``storage.gc_interval``. Without the
jobs add-on the command stays an operator's cron job. Uses only the
directives the jobs add-on adds to the configurator; it never imports
``pyramidion_jobs``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pyramidion import app_state, get_settings

from .settings import StorageSettings

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.registry import Registry
    from pyramid.request import Request

__all__ = ["GC_JOB", "gc_job", "includeme", "jobs_enabled"]

#: The job (and schedule) that removes orphaned files.
GC_JOB = "storage.gc"

log = logging.getLogger(__name__)


def jobs_enabled(registry: Registry) -> bool:
    """Whether the ``jobs`` add-on is enabled in this app."""
    return "jobs" in app_state(registry).resolution


def gc_job(request: Request) -> None:
    """Job: remove orphaned files, expired temporary uploads and staging
    leftovers older than ``storage.gc_grace``, in the job's transaction."""
    from .services import collect_garbage, get_backend

    settings = get_settings(request.registry, StorageSettings)
    report = collect_garbage(
        request.dbsession, get_backend(request), request.tm, grace=settings.gc_grace
    )
    log.info(
        "storage gc: removed %d orphaned file(s), %d expired temporary upload(s), "
        "%d staging leftover(s)",
        len(report.orphans),
        report.expired_uploads,
        report.staging,
    )


def includeme(config: Configurator) -> None:
    """Declare the job ``storage.gc`` and its schedule."""
    settings = get_settings(config.registry, StorageSettings)
    config.add_job(gc_job, GC_JOB)
    config.add_periodic_job(GC_JOB, settings.gc_interval)
