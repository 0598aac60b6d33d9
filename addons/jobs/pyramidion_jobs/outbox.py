"""Sending jobs: ``request.jobs``, which writes to the outbox.

``request.jobs.send(job, *args, **kwargs)`` adds a row to ``jobs_outbox``
through ``request.dbsession``, so the job is part of the request's
transaction: if the request rolls back, the job was never sent; if it
commits, the row is there, whatever happens to the broker or the process
afterwards. After the commit the engine is told (a thread woken, or the
rows handed to the broker); a failure there only delays the job until the
next relay.
"""

from __future__ import annotations

import datetime
import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from pyramidion import get_settings

from .catalog import IJobCatalog, JobCatalog, job_name
from .clock import get_clock
from .models import JobRecord, JobState
from .runner import Handover
from .settings import JobsSettings

if TYPE_CHECKING:
    from pyramid.request import Request

    from .engines import Engine

__all__ = ["JobArgumentsError", "JobSender", "UnknownJob"]

log = logging.getLogger(__name__)

#: Longest idempotency key; longer ones are refused when sent.
MAX_KEY_LENGTH = 255


class UnknownJob(LookupError):
    """A job was sent by a name that no enabled add-on declares."""


class JobArgumentsError(TypeError):
    """A job's arguments cannot be stored as JSON."""


class JobSender:
    """``request.jobs``: sends jobs inside the request's transaction."""

    def __init__(
        self,
        request: Request,
        *,
        engine: Engine,
    ) -> None:
        self.request = request
        self.engine = engine
        self.clock = get_clock(request.registry)
        self.settings = get_settings(request.registry, JobsSettings)
        self.catalog: JobCatalog = request.registry.getUtility(IJobCatalog)
        self._transaction: object = None
        self._sent: list[Handover] = []

    def send(self, job: str | Callable[..., Any], /, *args: Any, **kwargs: Any) -> JobRecord:
        """Send ``job`` with these arguments when the transaction commits."""
        return self.enqueue(job, args, kwargs)

    def enqueue(
        self,
        job: str | Callable[..., Any],
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        key: str | None = None,
        delay: datetime.timedelta | None = None,
    ) -> JobRecord:
        """Send ``job`` with options.

        ``key`` is the idempotency key: a job already in the outbox under
        the same key is returned instead of sending a second one (the
        default is a new random key). ``delay`` holds the job back.
        """
        name = job_name(job)
        declared = self.catalog.get(name)
        if declared is None:
            known = ", ".join(j.name for j in self.catalog) or "none"
            raise UnknownJob(
                f"no enabled add-on declares a job named {name!r} (declared jobs: {known})"
            )
        arguments = {"args": list(args), "kwargs": dict(kwargs or {})}
        try:
            json.dumps(arguments, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise JobArgumentsError(
                f"the arguments of job {name!r} cannot be stored as JSON ({exc}); send "
                "ids, strings and numbers, and load objects in the job"
            ) from None
        if key is not None and not (0 < len(key) <= MAX_KEY_LENGTH):
            raise ValueError(f"a job's key must have 1 to {MAX_KEY_LENGTH} characters")
        session = self.request.dbsession
        if key is not None:
            existing: JobRecord | None = session.scalars(
                select(JobRecord).where(JobRecord.key == key)
            ).first()
            if existing is not None:
                return existing
        now = self.clock()
        limit = declared.time_limit or self.settings.time_limit
        delay = delay or datetime.timedelta(0)
        # A job held back longer than a relay's round waits for the relay:
        # a broker keeps messages due later in its workers' memory.
        handed_over = delay <= self.settings.relay_interval and self.engine.hands_over_on_commit()
        record = JobRecord(
            name=name,
            queue=declared.queue or self.settings.queue,
            arguments=arguments,
            key=key or f"{name}:{uuid.uuid4().hex}",
            state=JobState.QUEUED if handed_over else JobState.PENDING,
            relayed_at=now if handed_over else None,
            attempts=0,
            max_attempts=declared.max_attempts or self.settings.max_attempts,
            time_limit=max(int(limit.total_seconds()), 1),
            created_at=now,
            available_at=now + delay,
        )
        session.add(record)
        # The id is what the engine is told about after the commit.
        session.flush()
        transaction = self.request.tm.get()
        if transaction is not self._transaction:
            # One hook per transaction, with what was sent in it: a
            # command may run several transactions on one request.
            self._transaction, self._sent = transaction, []
            transaction.addAfterCommitHook(self._after_commit, args=(self._sent,))
        if handed_over:
            self._sent.append(
                Handover(
                    id=record.id,
                    queue=record.queue,
                    available_at=record.available_at,
                    time_limit=record.time_limit,
                )
            )
        return record

    def _after_commit(self, committed: bool, sent: list[Handover]) -> None:
        if not committed:
            return
        try:
            self.engine.wake(sent)
        except Exception:
            # The rows are committed: the next relay hands them over.
            log.warning(
                "jobs %s are committed but could not be handed over now; the relay "
                "will hand them over",
                [handover.id for handover in sent],
                exc_info=True,
            )
