"""Declaring jobs: the ``@job`` decorator and the ``add_job`` directives.

A job is a function that receives a request (a fresh one, with its own
``dbsession`` in its own transaction, as a command gets) and the JSON
arguments it was sent with::

    from pyramidion_jobs import job

    @job("blog.notify_followers", max_attempts=3, time_limit=60)
    def notify_followers(request, post_id: int) -> None:
        ...

``config.scan()`` registers decorated functions through
``config.add_job``; ``config.add_periodic_job`` runs a job on a schedule.
Both are actions with a discriminator, so two add-ons declaring the same
job name conflict at start-up instead of one silently winning.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import venusian
from zope.interface import Interface

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request

__all__ = [
    "IJobCatalog",
    "Job",
    "JobCatalog",
    "JobHandler",
    "PeriodicJob",
    "Schedule",
    "add_job",
    "add_periodic_job",
    "job",
    "job_name",
]

#: The attribute ``@job`` leaves on a function: the name it is sent by.
JOB_NAME_ATTRIBUTE = "__pyramidion_job__"

#: A ``datetime.timedelta`` (every so often) or anything with Celery's
#: schedule interface, such as ``celery.schedules.crontab(minute=0)``.
Schedule = Any


class JobHandler(Protocol):
    def __call__(self, request: Request, *args: Any, **kwargs: Any) -> None: ...


F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Job:
    """A declared job. ``None`` options take the ``jobs.*`` defaults."""

    name: str
    handler: Callable[..., Any]
    queue: str | None = None
    max_attempts: int | None = None
    time_limit: datetime.timedelta | None = None


@dataclass(frozen=True)
class PeriodicJob:
    """A job sent on a schedule (by beat, or by the embedded engine)."""

    name: str
    job: str
    schedule: Schedule
    args: tuple[Any, ...] = ()


class JobCatalog:
    """The jobs and schedules of one application, by name."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._periodic: dict[str, PeriodicJob] = {}

    def add(self, job: Job) -> None:
        self._jobs[job.name] = job

    def add_periodic(self, periodic: PeriodicJob) -> None:
        self._periodic[periodic.name] = periodic

    def get(self, name: str) -> Job | None:
        return self._jobs.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._jobs

    def __iter__(self) -> Iterator[Job]:
        return iter(sorted(self._jobs.values(), key=lambda j: j.name))

    @property
    def periodic(self) -> list[PeriodicJob]:
        return sorted(self._periodic.values(), key=lambda p: p.name)


def job_name(job: str | Callable[..., Any]) -> str:
    """The name ``job`` is sent by: a name, or a function declared as a job."""
    if isinstance(job, str):
        return job
    name = getattr(job, JOB_NAME_ATTRIBUTE, None)
    if name is None:
        raise TypeError(
            f"{getattr(job, '__qualname__', job)!r} is not a job: decorate it with "
            "@pyramidion_jobs.job or register it with config.add_job"
        )
    return str(name)


def _default_name(handler: Callable[..., Any]) -> str:
    return f"{handler.__module__}:{handler.__qualname__}"


def _positive(value: Any, what: str) -> None:
    zero = datetime.timedelta(0) if isinstance(value, datetime.timedelta) else 0
    if value is not None and value <= zero:
        raise ValueError(f"{what} must be positive, not {value!r}")


def add_job(
    config: Configurator,
    handler: Callable[..., Any] | str,
    name: str | None = None,
    *,
    queue: str | None = None,
    max_attempts: int | None = None,
    time_limit: datetime.timedelta | float | None = None,
) -> None:
    """Directive: declare ``handler`` as a job sent by ``name``."""
    handler = config.maybe_dotted(handler)
    if not callable(handler):
        raise TypeError(f"add_job: {handler!r} is not callable")
    if isinstance(time_limit, int | float):
        time_limit = datetime.timedelta(seconds=time_limit)
    _positive(max_attempts, "max_attempts")
    _positive(time_limit, "time_limit")
    job = Job(
        name=name or getattr(handler, JOB_NAME_ATTRIBUTE, None) or _default_name(handler),
        handler=handler,
        queue=queue,
        max_attempts=max_attempts,
        time_limit=time_limit,
    )
    catalog: JobCatalog = config.registry.getUtility(IJobCatalog)

    def register() -> None:
        catalog.add(job)

    intr = config.introspectable("pyramidion jobs", job.name, job.name, "pyramidion job")
    intr["handler"] = handler
    intr["queue"] = queue
    intr["max_attempts"] = max_attempts
    intr["time_limit"] = time_limit
    config.action(("pyramidion_jobs.job", job.name), register, introspectables=(intr,))


def add_periodic_job(
    config: Configurator,
    job: Callable[..., Any] | str,
    schedule: Schedule,
    *,
    name: str | None = None,
    args: tuple[Any, ...] = (),
) -> None:
    """Directive: send ``job`` (a job's name or function) on ``schedule``."""
    if isinstance(schedule, int | float):
        schedule = datetime.timedelta(seconds=schedule)
    if isinstance(schedule, datetime.timedelta):
        _positive(schedule, "schedule")
    elif not callable(getattr(schedule, "is_due", None)):
        raise TypeError(
            f"add_periodic_job: schedule {schedule!r} is neither a timedelta nor a "
            "Celery schedule such as celery.schedules.crontab(...)"
        )
    target = job_name(config.maybe_dotted(job) if not isinstance(job, str) else job)
    periodic = PeriodicJob(name=name or target, job=target, schedule=schedule, args=tuple(args))
    catalog: JobCatalog = config.registry.getUtility(IJobCatalog)

    def register() -> None:
        if target not in catalog:
            from pyramid.exceptions import ConfigurationError

            raise ConfigurationError(
                f"periodic job {periodic.name!r} names the job {target!r}, which no "
                "add-on declares; declare it with @job or config.add_job"
            )
        catalog.add_periodic(periodic)

    intr = config.introspectable(
        "pyramidion periodic jobs", periodic.name, periodic.name, "pyramidion periodic job"
    )
    intr["job"] = target
    intr["schedule"] = schedule
    # After the jobs themselves, whatever order add-ons were included in.
    config.action(
        ("pyramidion_jobs.periodic", periodic.name), register, introspectables=(intr,), order=1
    )


def job(
    name: str | None = None,
    *,
    queue: str | None = None,
    max_attempts: int | None = None,
    time_limit: float | datetime.timedelta | None = None,
) -> Callable[[F], F]:
    """Decorator: declare a job, registered when ``config.scan()`` finds it.

    The function is returned unchanged but for the name it is sent by, so
    ``request.jobs.send(func, ...)`` works as well as the name.
    """

    def decorate(func: F) -> F:
        declared = name or _default_name(func)
        setattr(func, JOB_NAME_ATTRIBUTE, declared)

        def callback(scanner: Any, _name: str, wrapped: Any) -> None:
            scanner.config.add_job(
                wrapped,
                declared,
                queue=queue,
                max_attempts=max_attempts,
                time_limit=time_limit,
            )

        # "pyramid" is the category config.scan() looks in by default.
        venusian.attach(func, callback, category="pyramid")
        return func

    return decorate


class IJobCatalog(Interface):  # type: ignore[misc]
    """The registry key of the application's :class:`JobCatalog`."""
