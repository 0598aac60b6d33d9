"""Email: the mailers ``auth.mail_delivery`` chooses, and sending after commit."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .interfaces import Mailer
from .services import auth_settings
from .settings import AuthSettings

if TYPE_CHECKING:
    from pyramid.request import Request
    from pyramid_mailer.message import Message

__all__ = ["FileMailer", "SMTPMailer", "make_mailer", "send_mail"]

log = logging.getLogger("pyramidion_auth")


def make_mailer(settings: AuthSettings, *, development: bool) -> Mailer:
    """The mailer the ``mail_delivery`` setting chooses."""
    delivery = settings.mail_delivery
    if delivery == "auto":
        delivery = "files" if development else "smtp"
    if delivery == "files":
        return FileMailer(settings.mail_directory)
    return SMTPMailer(settings)


class SMTPMailer:
    """Sends each email through the SMTP server of the ``smtp_*`` settings
    (pyramid_mailer's Mailer, made at the first email).

    pyramid_mailer brings smtplib and a dozen modules of its own: made at
    the first email rather than at start-up, a process that sends none
    never holds them.
    """

    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings
        self.mailer: Any = None

    def send_immediately(self, message: Message, fail_silently: bool = False) -> None:
        if self.mailer is None:
            from pyramid_mailer.mailer import Mailer as PyramidMailer

            settings = self.settings
            self.mailer = PyramidMailer(
                host=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username,
                password=settings.smtp_password,
                tls=settings.smtp_tls,
                default_sender=settings.mail_sender,
            )
        self.mailer.send_immediately(message, fail_silently=fail_silently)


class FileMailer:
    """Writes each email to a file in ``directory`` (pyramid_mailer's
    DebugMailer), making the directory at the first email.

    The local mailer: development and tests read what was sent there.
    """

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.mailer: Any = None

    def send_immediately(self, message: Message, fail_silently: bool = False) -> None:
        if self.mailer is None:
            from pyramid_mailer.mailer import DebugMailer

            self.mailer = DebugMailer(self.directory)
        self.mailer.send_immediately(message, fail_silently=fail_silently)


def send_mail(request: Request, to: str, subject: str, body: str) -> None:
    """Send an email once the request's transaction has committed.

    Nothing is sent when the request fails, so a reset link never points
    at a token that was rolled back. With the ``jobs`` add-on enabled the
    email is the job ``auth.send_mail``, written to the jobs outbox in the
    request's transaction, so it is also never lost once the request has
    committed (a failing mailer is retried); without it the request sends
    the email after its commit, and a failure is only logged.
    """
    from pyramid_mailer.message import Message

    from .jobs import MAIL_JOB, jobs_enabled

    if jobs_enabled(request.registry):
        request.jobs.send(MAIL_JOB, to, subject, body)
        return

    message = Message(
        subject=subject,
        sender=auth_settings(request.registry).mail_sender,
        recipients=[to],
        body=body,
    )
    mailer: Mailer = request.find_service(Mailer)

    def after_commit(committed: bool) -> None:
        if committed:
            try:
                mailer.send_immediately(message)
            except Exception:
                log.exception("could not send the email %r", subject)

    request.tm.get().addAfterCommitHook(after_commit)
