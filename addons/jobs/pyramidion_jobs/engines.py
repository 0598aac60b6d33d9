"""Engines: who runs the jobs that requests commit to the outbox.

``embedded``
    A thread of each serving process runs due jobs, woken after each
    commit that sent one and every ``jobs.poll_interval`` otherwise; it
    also sends periodic jobs. Nothing but the database: the default, and
    what ``make run`` uses.
``outbox``
    Requests only write; ``pyramidion jobs worker CONFIG`` processes poll
    the database and run jobs (the embedded loop, in the foreground).
``celery``
    After commit the jobs are handed to Celery on ``jobs.broker_url``
    (Redis); ``pyramidion jobs worker CONFIG`` runs Celery workers, and a
    relay in each worker (and ``pyramidion jobs beat CONFIG``) hands over
    what a broker outage kept back.
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from pyramid.scripting import prepare
from zope.interface import Interface

from pyramidion import get_settings, independent_session

from .catalog import IJobCatalog, JobCatalog, PeriodicJob
from .clock import get_clock
from .runner import Handover, Outcome, due_job_ids, run_job
from .settings import JobsSettings

if TYPE_CHECKING:
    from pyramid.registry import Registry

__all__ = ["EmbeddedEngine", "Engine", "IJobEngine", "OutboxEngine", "send_periodic", "slot_key"]

log = logging.getLogger(__name__)


class IJobEngine(Interface):  # type: ignore[misc]
    """The registry key of the application's :class:`Engine`."""


class Engine(Protocol):
    def hands_over_on_commit(self) -> bool:
        """Whether jobs sent now go to the broker right after the commit.

        If so, they are written already marked as handed over, and
        :meth:`wake` gets them; otherwise they wait in the outbox.
        """

    def wake(self, handovers: Sequence[Handover]) -> None:
        """Jobs were just committed (``handovers`` if they are to be handed
        over now): see to them soon."""

    def start(self) -> None:
        """Start background work, if the engine has any, in this process."""


class OutboxEngine:
    """Requests write; `pyramidion jobs worker` runs. Nothing to do here."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def hands_over_on_commit(self) -> bool:
        return False

    def wake(self, handovers: Sequence[Handover]) -> None:
        pass

    def start(self) -> None:
        pass


def slot_key(periodic: PeriodicJob, now: datetime.datetime) -> str | None:
    """The idempotency key of ``periodic``'s run due at ``now``, or None.

    For a period, each slot of that length since the epoch runs once; for a
    Celery schedule (crontab), each minute it matches. However many
    processes send periodic jobs, a slot's key is the same, so its job is
    in the outbox once.
    """
    schedule = periodic.schedule
    if isinstance(schedule, datetime.timedelta):
        seconds = schedule.total_seconds()
        return f"periodic:{periodic.name}:{int(now.timestamp() // seconds)}"
    minute = now.replace(second=0, microsecond=0)
    # A crontab is due at a minute when, asked a second after the minute
    # before, it says so.
    due, _ = schedule.is_due(minute - datetime.timedelta(seconds=59))
    if not due:
        return None
    return f"periodic:{periodic.name}:{minute:%Y%m%dT%H%M}"


def send_periodic(registry: Registry, periodic: PeriodicJob, key: str) -> None:
    """Send ``periodic``'s job under ``key`` (a no-op if the slot was sent)."""
    env = prepare(registry=registry)
    try:
        request = env["request"]
        with request.tm:
            request.jobs.enqueue(periodic.job, periodic.args, key=key)
    finally:
        env["closer"]()


class EmbeddedEngine:
    """Runs due jobs in a thread of this process; see the module docstring.

    :meth:`run_pending` is the loop's one step; ``pyramidion jobs worker
    --once`` calls it directly, and tests call :meth:`run_due`.
    """

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.settings = get_settings(registry, JobsSettings)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._sent_slots: dict[str, str] = {}

    def now(self) -> datetime.datetime:
        return get_clock(self.registry)()

    def hands_over_on_commit(self) -> bool:
        return False

    def wake(self, handovers: Sequence[Handover]) -> None:
        self.start()
        self._wake.set()

    def start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self.run_forever, name="pyramidion-jobs", daemon=True
                )
                self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop after the job in hand; wait up to ``timeout`` seconds."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def run_forever(self) -> None:
        poll = self.settings.poll_interval.total_seconds()
        while not self._stop.is_set():
            try:
                busy = self.run_pending()
            except Exception:
                # A database that went away: try again at the next poll.
                log.exception("the jobs engine could not read the outbox")
                busy = 0
            if not busy:
                self._wake.wait(poll)
                self._wake.clear()

    def run_pending(self, *, limit: int = 20) -> int:
        """Send due periodic jobs, then run up to ``limit`` due jobs."""
        self.send_due_periodic()
        return self.run_due(limit=limit)

    def run_due(self, *, limit: int = 20) -> int:
        """Run up to ``limit`` jobs that are due; return how many ran."""
        with independent_session(self.registry) as session:
            ids = due_job_ids(session, self.now(), limit=limit)
        ran = 0
        for job_id in ids:
            if self._stop.is_set():
                break
            if run_job(self.registry, job_id).outcome is not Outcome.SKIPPED:
                ran += 1
        return ran

    def send_due_periodic(self) -> None:
        catalog: JobCatalog = self.registry.getUtility(IJobCatalog)
        now = self.now()
        for periodic in catalog.periodic:
            key = slot_key(periodic, now)
            if key is None or self._sent_slots.get(periodic.name) == key:
                continue
            send_periodic(self.registry, periodic, key)
            self._sent_slots[periodic.name] = key


def make_engine(registry: Registry) -> Engine:
    """The engine ``jobs.engine`` names."""
    settings = get_settings(registry, JobsSettings)
    if settings.engine == "celery":
        try:
            from .celery_engine import CeleryEngine
        except ImportError as exc:
            from pyramidion import SettingsError

            raise SettingsError(
                f"jobs.engine = celery needs Celery, which is not installed ({exc}): "
                "pip install 'pyramidion-jobs[celery]'"
            ) from None
        return CeleryEngine(registry)
    if settings.engine == "outbox":
        return OutboxEngine(registry)
    return EmbeddedEngine(registry)
