"""The ``celery`` engine: the outbox relayed to Celery workers on Redis.

The broker carries only row ids. Messages are acknowledged late and given
back when a worker dies (``task_acks_late``, ``task_reject_on_worker_lost``),
one at a time per worker process (``worker_prefetch_multiplier = 1``); a
job's time limit is the message's hard limit. What a broker loses anyway
(a restart without persistence, a message published into an outage) the
relay hands over again from the outbox: the outbox, not the broker, says
what is left to do.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from celery import Celery
from celery.signals import worker_process_init

from pyramidion import get_settings, independent_session

from .catalog import IJobCatalog, JobCatalog
from .clock import get_clock
from .engines import send_periodic, slot_key
from .runner import Handover, Outcome, give_back, run_job, take_for_relay
from .settings import JobsSettings

if TYPE_CHECKING:
    from pyramid.registry import Registry

__all__ = ["RUN_TASK", "CeleryEngine"]

log = logging.getLogger(__name__)

RUN_TASK = "pyramidion.jobs.run"
RELAY_TASK = "pyramidion.jobs.relay"
PERIODIC_TASK = "pyramidion.jobs.periodic"


class CeleryEngine:
    """Hands committed jobs to Celery; builds the Celery app workers run."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.settings = get_settings(registry, JobsSettings)
        if not self.settings.broker_url:
            from pyramidion import SettingsError

            raise SettingsError(
                "jobs.engine = celery needs jobs.broker_url, for example redis://127.0.0.1:6379/0"
            )
        self._app: Celery | None = None
        self._lock = threading.Lock()
        self._relay_stop = threading.Event()
        # While the broker is known to be down, requests leave their jobs
        # to the relay instead of each waiting for the broker to refuse.
        self._broker_down_until = 0.0

    @property
    def app(self) -> Celery:
        """The Celery application, made on first use (no connection yet)."""
        if self._app is None:
            with self._lock:
                if self._app is None:
                    self._app = self._make_app()
        return self._app

    def _make_app(self) -> Celery:
        settings = self.settings
        timeout = settings.broker_timeout
        app = Celery("pyramidion", broker=settings.broker_url, set_as_current=False)
        app.conf.update(
            task_acks_late=True,
            task_reject_on_worker_lost=True,
            worker_prefetch_multiplier=1,
            task_ignore_result=True,
            task_default_queue=settings.queue,
            task_serializer="json",
            accept_content=["json"],
            enable_utc=True,
            broker_connection_timeout=timeout,
            broker_connection_retry_on_startup=True,
            broker_transport_options={
                "socket_timeout": timeout,
                "socket_connect_timeout": timeout,
                # A message a dead worker held comes back after this; the
                # relay hands the job over sooner when its lease runs out.
                "visibility_timeout": max(
                    int(settings.requeue_after.total_seconds()), int(timeout) + 1
                ),
            },
            worker_hijack_root_logger=False,
            beat_schedule=self._beat_schedule(),
        )
        registry = self.registry

        @app.task(name=RUN_TASK, ignore_result=True)  # type: ignore[untyped-decorator]
        def run(job_id: int) -> str:
            result = run_job(registry, job_id)
            if result.outcome is Outcome.RETRY:
                self.relay(ids=[job_id])
            return result.outcome.value

        @app.task(name=RELAY_TASK, ignore_result=True)  # type: ignore[untyped-decorator]
        def relay() -> int:
            return self.relay()

        @app.task(name=PERIODIC_TASK, ignore_result=True)  # type: ignore[untyped-decorator]
        def periodic(name: str) -> None:
            self.send_periodic(name)

        @worker_process_init.connect(weak=False)  # type: ignore[untyped-decorator]
        def _after_fork(**_kw: Any) -> None:
            # Connections made before the pool forked belong to the parent.
            from pyramidion import get_database

            get_database(registry).engine.dispose(close=False)

        return app

    def _beat_schedule(self) -> dict[str, dict[str, Any]]:
        catalog: JobCatalog = self.registry.getUtility(IJobCatalog)
        schedule: dict[str, dict[str, Any]] = {
            "pyramidion.jobs.relay": {
                "task": RELAY_TASK,
                "schedule": self.settings.relay_interval,
            }
        }
        for periodic in catalog.periodic:
            schedule[f"periodic:{periodic.name}"] = {
                "task": PERIODIC_TASK,
                "schedule": periodic.schedule,
                "args": (periodic.name,),
            }
        return schedule

    # -- handing jobs over ------------------------------------------------------

    def now(self) -> datetime.datetime:
        return get_clock(self.registry)()

    def hands_over_on_commit(self) -> bool:
        return time.monotonic() >= self._broker_down_until

    def wake(self, handovers: Sequence[Handover]) -> None:
        """Publish jobs a request just committed, already marked as handed over.

        No database work unless the broker refuses: then they go back to
        ``pending`` for the relay. A process that dies before publishing
        leaves them handed over on paper only; the relay hands them over
        again after ``jobs.requeue_after``.
        """
        if handovers and not self._publish_all(list(handovers), self.now()):
            self._broker_down_until = (
                time.monotonic() + self.settings.relay_interval.total_seconds()
            )

    def start(self) -> None:
        pass

    def relay(self, *, ids: list[int] | None = None) -> int:
        """Hand due jobs (or just ``ids``) to the broker; return how many.

        Jobs the broker refuses go back to ``pending`` for the next relay.
        """
        now = self.now()
        with independent_session(self.registry) as session:
            handovers = take_for_relay(
                session,
                now,
                lookahead=self.settings.relay_interval,
                requeue_after=self.settings.requeue_after,
                ids=ids,
            )
        return len(handovers) if self._publish_all(handovers, now) else 0

    def _publish_all(self, handovers: list[Handover], now: datetime.datetime) -> bool:
        """Publish ``handovers``; give back what the broker refused."""
        for index, handover in enumerate(handovers):
            try:
                self._publish(handover, now)
            except Exception as exc:
                refused = [h.id for h in handovers[index:]]
                log.warning(
                    "the broker refused jobs %s (%s); they wait in the outbox for the next relay",
                    refused,
                    exc,
                )
                with independent_session(self.registry) as session:
                    give_back(session, refused)
                return False
        return True

    def _publish(self, handover: Handover, now: datetime.datetime) -> None:
        options: dict[str, Any] = {
            "queue": handover.queue,
            "time_limit": handover.time_limit,
            "retry": False,
        }
        if handover.available_at > now:
            options["eta"] = handover.available_at
        self.app.send_task(RUN_TASK, args=[handover.id], **options)

    def run_relay_loop(self) -> None:
        """Relay every ``jobs.relay_interval`` until :meth:`stop_relay_loop`."""
        interval = self.settings.relay_interval.total_seconds()
        while not self._relay_stop.wait(interval):
            try:
                self.relay()
            except Exception:
                log.exception("the jobs relay could not read the outbox")

    def stop_relay_loop(self) -> None:
        self._relay_stop.set()

    def send_periodic(self, name: str) -> None:
        catalog: JobCatalog = self.registry.getUtility(IJobCatalog)
        for periodic in catalog.periodic:
            if periodic.name == name:
                key = (
                    slot_key(periodic, self.now()) or f"periodic:{name}:{self.now():%Y%m%dT%H%M%S}"
                )
                send_periodic(self.registry, periodic, key)
                return
        log.warning("beat sent the periodic job %r, which this application does not declare", name)
