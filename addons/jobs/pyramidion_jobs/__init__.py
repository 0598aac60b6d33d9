"""Background jobs for Pyramidion: sent when the transaction commits, never lost.

Enable it with ``pyramidion.addons = jobs`` and run ``pyramidion db
upgrade``. Declare a job, send it from a view or a command::

    from pyramidion_jobs import job

    @job("blog.notify_followers", max_attempts=3)
    def notify_followers(request, post_id: int) -> None:
        ...                                   # request.dbsession, request.job.key

    request.jobs.send(notify_followers, post.id)

``request.jobs.send`` writes the job to the ``jobs_outbox`` table in the
request's own transaction: a request that rolls back sends nothing, one
that commits has its jobs in the database whatever happens next. The
engine (``jobs.engine``: ``embedded``, ``celery`` or ``outbox``) runs them;
see :mod:`pyramidion_jobs.engines`. Commands: ``pyramidion jobs
worker|beat|relay|list|show|retry|purge CONFIG``.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from pyramidion import Addon, Command

from .catalog import IJobCatalog, Job, JobCatalog, PeriodicJob, add_job, add_periodic_job, job
from .engines import IJobEngine
from .outbox import JobArgumentsError, JobSender, UnknownJob
from .runner import JobContext
from .settings import JobsSettings

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.events import NewRequest
    from pyramid.request import Request

__all__ = [
    "Job",
    "JobArgumentsError",
    "JobContext",
    "JobSender",
    "PeriodicJob",
    "UnknownJob",
    "addon",
    "includeme",
    "job",
]


def includeme(config: Configurator) -> None:
    """Wire the jobs add-on.

    Reads the ``jobs.*`` settings. Registers the directives ``add_job`` and
    ``add_periodic_job``, ``request.jobs`` (a :class:`JobSender`), and the
    engine ``jobs.engine`` names, and the periodic job ``jobs.purge`` (daily,
    what ``pyramidion jobs purge`` does); the embedded engine's thread starts with
    the first request a serving process handles, never in a command.
    """
    from pyramid.events import NewRequest

    from .engines import make_engine

    config.registry.registerUtility(JobCatalog(), IJobCatalog)
    config.add_directive("add_job", add_job, action_wrap=False)
    config.add_directive("add_periodic_job", add_periodic_job, action_wrap=False)
    engine = make_engine(config.registry)
    config.registry.registerUtility(engine, IJobEngine)

    def jobs(request: Request) -> JobSender:
        return JobSender(request, engine=engine)

    config.add_request_method(jobs, "jobs", reify=True)
    # The add-on's own housekeeping: finished jobs leave the outbox daily.
    add_job(config, "pyramidion_jobs.commands:purge_job", "jobs.purge")
    add_periodic_job(config, "jobs.purge", datetime.timedelta(days=1))

    def start_engine(event: NewRequest) -> None:
        engine.start()

    config.add_subscriber(start_engine, NewRequest)


addon = Addon(
    name="jobs",
    title="Background jobs: a transactional outbox, run in process or by Celery on Redis",
    includeme="pyramidion_jobs.includeme",
    settings=JobsSettings,
    models="pyramidion_jobs.models",
    migrations="pyramidion_jobs:migrations",
    commands=(
        Command(
            name="worker",
            help="run jobs: Celery workers (jobs.engine = celery) or the outbox loop",
            handler="pyramidion_jobs.commands:worker",
            arguments="pyramidion_jobs.commands:worker_arguments",
            transactional=False,
        ),
        Command(
            name="beat",
            help="send periodic jobs and relay the outbox on schedule (jobs.engine = celery)",
            handler="pyramidion_jobs.commands:beat",
            arguments="pyramidion_jobs.commands:beat_arguments",
            transactional=False,
        ),
        Command(
            name="relay",
            help="hand the jobs a broker outage kept back to the broker now",
            handler="pyramidion_jobs.commands:relay",
            transactional=False,
        ),
        Command(
            name="list",
            help="list jobs in the outbox, newest first",
            handler="pyramidion_jobs.commands:list_jobs",
            arguments="pyramidion_jobs.commands:list_arguments",
        ),
        Command(
            name="show",
            help="show one job with its arguments and last error",
            handler="pyramidion_jobs.commands:show",
            arguments="pyramidion_jobs.commands:show_arguments",
        ),
        Command(
            name="retry",
            help="run dead (or given) jobs again",
            handler="pyramidion_jobs.commands:retry",
            arguments="pyramidion_jobs.commands:retry_arguments",
        ),
        Command(
            name="purge",
            help="remove finished jobs older than jobs.keep_done (and dead ones with --dead)",
            handler="pyramidion_jobs.commands:purge",
            arguments="pyramidion_jobs.commands:purge_arguments",
        ),
    ),
)
