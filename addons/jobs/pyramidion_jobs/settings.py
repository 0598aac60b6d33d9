"""The jobs add-on's settings, read from ``jobs.*`` keys."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Literal

from pyramidion import setting

__all__ = ["JobsSettings"]


@dataclass(frozen=True)
class JobsSettings:
    """How jobs are run, retried and relayed."""

    # setting() returns a dataclasses.field, and timedelta is immutable.

    engine: Literal["embedded", "celery", "outbox"] = setting(
        "embedded",
        doc="Who runs the jobs in the outbox: 'embedded' (a thread of each serving "
        "process, after commit: needs nothing but the database), 'celery' (relayed "
        "to jobs.broker_url after commit and run by `pyramidion jobs worker`), or "
        "'outbox' (only written; run by `pyramidion jobs worker` polling the database).",
    )
    broker_url: str | None = setting(
        None,
        doc="Celery broker of the 'celery' engine, for example redis://127.0.0.1:6379/0 "
        "(required for it).",
        secret=True,
    )
    queue: str = setting("pyramidion", doc="Queue a job goes to unless it names its own.")
    max_attempts: int = setting(
        5, doc="Runs of a job, the first included, before it is dead-lettered.", min=1, max=100
    )
    retry_backoff: datetime.timedelta = setting(  # noqa: RUF009
        datetime.timedelta(seconds=10),
        doc="Wait before the first retry of a failed job, in seconds; each next "
        "retry waits twice as long, up to jobs.retry_backoff_max.",
    )
    retry_backoff_max: datetime.timedelta = setting(  # noqa: RUF009
        datetime.timedelta(hours=1), doc="Longest wait between two runs of a failing job."
    )
    time_limit: datetime.timedelta = setting(  # noqa: RUF009
        datetime.timedelta(minutes=5),
        doc="Longest run of a job unless it declares its own; past it a Celery worker "
        "kills the job, and any engine may run it again.",
    )
    relay_interval: datetime.timedelta = setting(  # noqa: RUF009
        datetime.timedelta(seconds=5),
        doc="How often workers look for jobs that are due: retries whose wait is "
        "over, jobs a broker outage kept back, jobs whose runner died.",
    )
    requeue_after: datetime.timedelta = setting(  # noqa: RUF009
        datetime.timedelta(minutes=10),
        doc="A job handed to the broker but not started within this time is handed "
        "over again (a broker that restarted without persistence loses its queue).",
    )
    broker_timeout: float = setting(
        2.0,
        doc="Seconds a request waits for the broker when it hands over its jobs after "
        "commit; past it the jobs wait in the outbox for the next relay.",
        min=0.1,
    )
    keep_done: datetime.timedelta = setting(  # noqa: RUF009
        datetime.timedelta(days=7),
        doc="How long finished jobs stay in the outbox for `pyramidion jobs list`; "
        "the daily job jobs.purge and `pyramidion jobs purge` remove older ones "
        "(dead jobs stay until retried or purged with --dead).",
    )
    poll_interval: datetime.timedelta = setting(  # noqa: RUF009
        datetime.timedelta(seconds=1),
        doc="How often the embedded engine and `pyramidion jobs worker` on the "
        "'outbox' engine look at the outbox when nothing woke them.",
    )
