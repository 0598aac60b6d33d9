"""Running jobs from the outbox, whatever the engine.

Every engine runs a job the same way, in three short steps:

1. **claim**: in a transaction of its own, the row goes to ``running``
   with one more attempt and a lease (its time limit and a margin); a
   compare-and-set on the attempt count means one runner wins;
2. **run**: the handler gets a fresh request with its own ``dbsession``;
   in that same transaction the row becomes ``done``, but only if this
   runner still holds the claim, so a job's database effects commit once
   even when a lease ran out and another runner took the job over;
3. **on failure**: in a transaction of its own, the row goes back to
   ``pending`` after a wait that doubles each time, or to ``dead`` after
   its last attempt, with the error.

A runner that dies holds its lease until it runs out; then the job is due
again. So a job runs at least once, and its ``key`` (``request.job.key``)
lets a handler make effects outside the database happen once.
"""

from __future__ import annotations

import datetime
import enum
import logging
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from pyramid.scripting import prepare
from sqlalchemy import CursorResult, Table, and_, or_, select, update
from zope.sqlalchemy import mark_changed

from pyramidion import get_settings, independent_session

from .catalog import IJobCatalog, JobCatalog
from .clock import Clock, get_clock
from .models import JobRecord, JobState, as_utc
from .settings import JobsSettings

if TYPE_CHECKING:
    from pyramid.registry import Registry
    from sqlalchemy.orm import Session

__all__ = [
    "JobContext",
    "Outcome",
    "RunResult",
    "backoff",
    "claim",
    "due_job_ids",
    "lease_for",
    "run_job",
    "take_for_relay",
]

log = logging.getLogger(__name__)

#: How much of a job's last error is kept.
MAX_ERROR_LENGTH = 4000


def _table() -> Table:
    return cast(Table, JobRecord.__table__)


@dataclass(frozen=True)
class JobContext:
    """``request.job`` inside a handler: which job, which attempt."""

    id: int
    name: str
    key: str
    attempt: int
    max_attempts: int


class Outcome(enum.StrEnum):
    #: Not run: already done, dead, not due, or claimed by another runner.
    SKIPPED = "skipped"
    DONE = "done"
    #: Failed; due again at ``RunResult.retry_at``.
    RETRY = "retry"
    #: Failed on its last attempt.
    DEAD = "dead"


@dataclass(frozen=True)
class RunResult:
    outcome: Outcome
    job_id: int
    retry_at: datetime.datetime | None = None
    error: str | None = None


class _LeaseLost(Exception):
    pass


def lease_for(time_limit_seconds: int) -> datetime.timedelta:
    """How long a claim lasts: the time limit and a margin for the commit."""
    return datetime.timedelta(seconds=time_limit_seconds + max(5, time_limit_seconds // 10))


def backoff(settings: JobsSettings, attempt: int) -> datetime.timedelta:
    """The wait before the run after ``attempt`` failed: doubling, capped."""
    wait: datetime.timedelta = settings.retry_backoff * (2 ** max(attempt - 1, 0))
    return min(wait, settings.retry_backoff_max)


def _runnable(now: datetime.datetime) -> Any:
    return or_(
        and_(
            JobRecord.state.in_((JobState.PENDING, JobState.QUEUED)),
            JobRecord.available_at <= now,
        ),
        and_(JobRecord.state == JobState.RUNNING, JobRecord.lease_until < now),
    )


def claim(session: Session, job_id: int, now: datetime.datetime) -> JobContext | None:
    """Claim job ``job_id`` for a run, or None if it is not this runner's to run."""
    row = session.execute(
        select(
            JobRecord.name,
            JobRecord.key,
            JobRecord.attempts,
            JobRecord.max_attempts,
            JobRecord.time_limit,
        ).where(JobRecord.id == job_id, _runnable(now))
    ).first()
    if row is None:
        return None
    claimed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(_table())
        .where(
            _table().c.id == job_id,
            _table().c.attempts == row.attempts,
            _runnable(now),
        )
        .values(
            state=JobState.RUNNING,
            attempts=row.attempts + 1,
            started_at=now,
            lease_until=now + lease_for(row.time_limit),
        )
    )
    if claimed.rowcount != 1:
        return None
    return JobContext(
        id=job_id,
        name=row.name,
        key=row.key,
        attempt=row.attempts + 1,
        max_attempts=row.max_attempts,
    )


def run_job(registry: Registry, job_id: int, *, clock: Clock | None = None) -> RunResult:
    """Claim and run job ``job_id``; record how it ended."""
    clock = clock or get_clock(registry)
    with independent_session(registry) as session:
        context = claim(session, job_id, clock())
        arguments = (
            session.scalar(select(JobRecord.arguments).where(JobRecord.id == job_id))
            if context
            else None
        )
    if context is None:
        return RunResult(Outcome.SKIPPED, job_id)
    catalog: JobCatalog = registry.getUtility(IJobCatalog)
    job = catalog.get(context.name)
    if job is None:
        return _record_failure(
            registry,
            context,
            f"no enabled add-on declares the job {context.name!r}: enable the add-on "
            "that declares it, then `pyramidion jobs retry`",
            clock=clock,
            final=True,
        )
    args = list((arguments or {}).get("args", []))
    kwargs = dict((arguments or {}).get("kwargs", {}))
    env = prepare(registry=registry)
    request = env["request"]
    request.job = context
    try:
        with request.tm:
            job.handler(request, *args, **kwargs)
            session = request.dbsession
            finished: CursorResult[Any] = session.execute(
                update(_table())
                .where(
                    _table().c.id == job_id,
                    _table().c.state == JobState.RUNNING,
                    _table().c.attempts == context.attempt,
                )
                .values(state=JobState.DONE, finished_at=clock(), lease_until=None)
            )
            mark_changed(session)
            if finished.rowcount != 1:
                raise _LeaseLost
    except _LeaseLost:
        log.warning(
            "job %s (%s) ran past its lease and another runner took it over; "
            "this run's database changes were rolled back",
            job_id,
            context.name,
        )
        return RunResult(Outcome.SKIPPED, job_id)
    except Exception as exc:
        log.warning(
            "job %s (%s) failed on attempt %s of %s",
            job_id,
            context.name,
            context.attempt,
            context.max_attempts,
            exc_info=True,
        )
        return _record_failure(registry, context, _describe(exc), clock=clock)
    finally:
        env["closer"]()
    return RunResult(Outcome.DONE, job_id)


def _describe(exc: BaseException) -> str:
    text = "".join(traceback.format_exception(exc)).strip()
    if len(text) > MAX_ERROR_LENGTH:
        # The end of a traceback says the most: where it failed and why.
        text = "…" + text[-(MAX_ERROR_LENGTH - 1) :]
    return text


def _record_failure(
    registry: Registry,
    context: JobContext,
    error: str,
    *,
    clock: Clock,
    final: bool = False,
) -> RunResult:
    settings = get_settings(registry, JobsSettings)
    now = clock()
    dead = final or context.attempt >= context.max_attempts
    values: dict[str, Any] = {"last_error": error, "lease_until": None}
    if dead:
        values.update(state=JobState.DEAD, finished_at=now)
        retry_at = None
    else:
        retry_at = now + backoff(settings, context.attempt)
        values.update(state=JobState.PENDING, available_at=retry_at, relayed_at=None)
    with independent_session(registry) as session:
        session.execute(
            update(_table())
            .where(
                _table().c.id == context.id,
                _table().c.state == JobState.RUNNING,
                _table().c.attempts == context.attempt,
            )
            .values(**values)
        )
    if dead:
        log.error(
            "job %s (%s) is dead after %s attempt(s): %s",
            context.id,
            context.name,
            context.attempt,
            error.splitlines()[-1] if error else "",
        )
        return RunResult(Outcome.DEAD, context.id, error=error)
    return RunResult(Outcome.RETRY, context.id, retry_at=retry_at, error=error)


def due_job_ids(session: Session, now: datetime.datetime, *, limit: int = 50) -> list[int]:
    """Jobs a runner may claim now, oldest first."""
    return list(
        session.scalars(
            select(JobRecord.id)
            .where(_runnable(now))
            .order_by(JobRecord.available_at, JobRecord.id)
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class Handover:
    """A job handed to the broker: what the message needs."""

    id: int
    queue: str
    available_at: datetime.datetime
    time_limit: int


def take_for_relay(
    session: Session,
    now: datetime.datetime,
    *,
    lookahead: datetime.timedelta,
    requeue_after: datetime.timedelta,
    ids: list[int] | None = None,
    limit: int = 500,
) -> list[Handover]:
    """Mark jobs as handed to the broker and return them.

    Pending jobs due within ``lookahead``, jobs handed over longer than
    ``requeue_after`` ago and never started (a broker may have lost them),
    and running jobs whose lease ran out. ``ids`` narrows it to the jobs a
    request just committed. Two relays at once hand each job over once.
    """
    wanted = or_(
        and_(JobRecord.state == JobState.PENDING, JobRecord.available_at <= now + lookahead),
        and_(JobRecord.state == JobState.QUEUED, JobRecord.relayed_at < now - requeue_after),
        and_(JobRecord.state == JobState.RUNNING, JobRecord.lease_until < now),
    )
    query = select(JobRecord.id).where(wanted).order_by(JobRecord.available_at).limit(limit)
    if ids is not None:
        query = query.where(JobRecord.id.in_(ids))
    candidates = list(session.scalars(query))
    if not candidates:
        return []
    rows = session.execute(
        update(_table())
        .where(_table().c.id.in_(candidates), wanted)
        .values(state=JobState.QUEUED, relayed_at=now)
        .returning(_table().c.id, _table().c.queue, _table().c.available_at, _table().c.time_limit)
    ).all()
    return [
        Handover(
            id=r.id, queue=r.queue, available_at=as_utc(r.available_at), time_limit=r.time_limit
        )
        for r in rows
    ]


def give_back(session: Session, job_ids: list[int]) -> None:
    """Jobs the broker refused go back to ``pending`` for the next relay."""
    if job_ids:
        session.execute(
            update(_table())
            .where(_table().c.id.in_(job_ids), _table().c.state == JobState.QUEUED)
            .values(state=JobState.PENDING, relayed_at=None)
        )
