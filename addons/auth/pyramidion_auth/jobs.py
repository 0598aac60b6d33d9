"""The auth add-on's jobs, declared only when the ``jobs`` add-on is enabled.

With ``jobs`` enabled, :func:`~pyramidion_auth.mail.send_mail` sends each
email through the job ``auth.send_mail`` (written to the jobs outbox in the
request's transaction: never sent for a request that rolls back, never lost
for one that commits), and ``pyramidion auth purge`` also runs as the
periodic job ``auth.purge`` every ``auth.purge_interval``. Without it mail
is sent by the request after its commit and purging is an operator's cron.

This module uses only the directives the jobs add-on adds to the
configurator; it never imports ``pyramidion_jobs``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyramidion import app_state

from .services import auth_settings

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.registry import Registry
    from pyramid.request import Request

__all__ = ["MAIL_JOB", "PURGE_JOB", "includeme", "jobs_enabled", "purge_job", "send_mail_job"]

#: The job that sends one email.
MAIL_JOB = "auth.send_mail"
#: The job (and schedule) that deletes expired sessions and tokens.
PURGE_JOB = "auth.purge"


def jobs_enabled(registry: Registry) -> bool:
    """Whether the ``jobs`` add-on is enabled in this app."""
    return "jobs" in app_state(registry).resolution


def send_mail_job(request: Request, to: str, subject: str, body: str) -> None:
    """Job: send one email through the :class:`~pyramidion_auth.interfaces.Mailer`.

    A mailer error fails the job, which the jobs add-on retries with backoff.
    """
    from pyramid_mailer.message import Message

    from .interfaces import Mailer

    message = Message(
        subject=subject,
        sender=auth_settings(request.registry).mail_sender,
        recipients=[to],
        body=body,
    )
    mailer: Mailer = request.find_service(Mailer)
    mailer.send_immediately(message)


def purge_job(request: Request) -> None:
    """Job: what ``pyramidion auth purge`` does, in the job's transaction."""
    import logging

    from zope.sqlalchemy import mark_changed

    from .purge import purge_expired

    removed = purge_expired(request.registry, request.dbsession)
    mark_changed(request.dbsession)
    logging.getLogger("pyramidion_auth").info(
        "purge: %s removed", ", ".join(f"{count} {name}" for name, count in removed.items())
    )


def includeme(config: Configurator) -> None:
    """Declare the jobs ``auth.send_mail`` and ``auth.purge`` and purge's schedule."""
    settings = auth_settings(config.registry)
    config.add_job(send_mail_job, MAIL_JOB)
    config.add_job(purge_job, PURGE_JOB)
    config.add_periodic_job(PURGE_JOB, settings.purge_interval)
