"""``pyramidion jobs ...`` commands."""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import signal
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update

from pyramidion import get_settings

from .clock import get_clock
from .engines import EmbeddedEngine, IJobEngine
from .models import JobRecord, JobState, as_utc, utcnow
from .settings import JobsSettings

if TYPE_CHECKING:
    from pyramid.request import Request

log = logging.getLogger(__name__)

__all__ = ["beat", "list_jobs", "purge", "relay", "retry", "show", "worker"]

STATES = tuple(state.value for state in JobState)


def _seconds(text: str) -> datetime.timedelta:
    try:
        value = float(text.rstrip("s"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value < 0:
        raise argparse.ArgumentTypeError("a duration cannot be negative")
    return datetime.timedelta(seconds=value)


# -- worker and beat -------------------------------------------------------------


def worker_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        metavar="N",
        help="worker processes (Celery; default: one per CPU)",
    )
    parser.add_argument(
        "--queues",
        default=None,
        metavar="Q1,Q2",
        help="queues to take jobs from (Celery; default: jobs.queue)",
    )
    parser.add_argument(
        "--pool",
        default="prefork",
        choices=("prefork", "solo", "threads"),
        help="Celery's execution pool (default: prefork, which enforces time limits)",
    )
    parser.add_argument(
        "--no-relay",
        action="store_true",
        help="do not hand over, from this worker, jobs a broker outage kept back",
    )
    parser.add_argument(
        "--once",
        action="store_true",
        help="outbox and embedded engines: run the jobs due now, then exit",
    )
    parser.add_argument("--loglevel", default="INFO", help="Celery's log level (default: INFO)")
    # The supervised Celery worker itself; not for people to type.
    parser.add_argument("--celery-child", action="store_true", help=argparse.SUPPRESS)


def worker(request: Request, args: argparse.Namespace) -> int:
    """Run jobs until stopped (SIGTERM or Ctrl-C finish the job in hand).

    On the celery engine this process relays the outbox and supervises a
    Celery worker in a child process, starting it again if it dies: a
    Celery worker can exit on a broker connection lost at the wrong
    moment, and jobs must not wait for an operator to notice.
    """
    registry = request.registry
    settings = get_settings(registry, JobsSettings)
    if settings.engine != "celery":
        return _outbox_worker(request, args)
    engine = registry.getUtility(IJobEngine)
    if args.celery_child:
        argv = ["worker", f"--loglevel={args.loglevel}", f"--pool={args.pool}"]
        argv.append(f"--queues={args.queues or settings.queue}")
        if args.concurrency:
            argv.append(f"--concurrency={args.concurrency}")
        engine.app.worker_main(argv)
        return 0
    if not args.no_relay:
        threading.Thread(
            target=engine.run_relay_loop, name="pyramidion-jobs-relay", daemon=True
        ).start()
    command = [
        sys.executable,
        "-c",
        "import sys; from pyramidion.cli import main; sys.exit(main())",
        "jobs",
        "worker",
        args.config,
        "--celery-child",
        f"--loglevel={args.loglevel}",
        f"--pool={args.pool}",
    ]
    if args.queues:
        command.append(f"--queues={args.queues}")
    if args.concurrency:
        command.append(f"--concurrency={args.concurrency}")
    try:
        return supervise(command)
    finally:
        engine.stop_relay_loop()


def supervise(command: list[str], *, max_wait: float = 30.0) -> int:
    """Run ``command``, starting it again whenever it exits unasked.

    SIGTERM and SIGINT are passed on, and then the child's exit ends this
    function. A child that dies soon after starting is started again after
    a wait that doubles up to ``max_wait`` seconds.
    """
    stopping = threading.Event()
    child: subprocess.Popen[bytes] | None = None

    def stop(signum: int, _frame: Any) -> None:
        stopping.set()
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    failures = 0
    while True:
        started = time.monotonic()
        child = subprocess.Popen(command)  # noqa: S603 (our own command line)
        status = child.wait()
        if stopping.is_set():
            return status
        failures = failures + 1 if time.monotonic() - started < 60 else 1
        wait = min(2.0 ** (failures - 1), max_wait)
        print(
            f"pyramidion: the Celery worker exited with status {status}; "
            f"starting it again in {wait:.0f} s",
            file=sys.stderr,
            flush=True,
        )
        if stopping.wait(wait):
            return status


def _outbox_worker(request: Request, args: argparse.Namespace) -> int:
    engine = EmbeddedEngine(request.registry)
    if args.once:
        ran = 0
        while batch := engine.run_pending():
            ran += batch
        print(f"ran {ran} job(s)")
        return 0

    def stop(signum: int, _frame: Any) -> None:
        engine.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("running jobs from the outbox; stop with Ctrl-C or SIGTERM", flush=True)
    engine.run_forever()
    return 0


def beat_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--loglevel", default="INFO", help="Celery's log level (default: INFO)")
    parser.add_argument(
        "--schedule-file",
        default=None,
        metavar="PATH",
        help="where beat keeps its last runs (default: Celery's, in the working directory)",
    )


def beat(request: Request, args: argparse.Namespace) -> int:
    """Send periodic jobs and relay the outbox, on the Celery engine."""
    settings = get_settings(request.registry, JobsSettings)
    if settings.engine != "celery":
        print(
            f"jobs.engine is {settings.engine!r}: periodic jobs are sent by the jobs "
            "worker (or the serving processes); beat is for jobs.engine = celery"
        )
        return 2
    engine = request.registry.getUtility(IJobEngine)
    argv = ["beat", f"--loglevel={args.loglevel}"]
    if args.schedule_file:
        argv.append(f"--schedule={args.schedule_file}")
    engine.app.start(argv)
    return 0


def relay(request: Request, args: argparse.Namespace) -> int:
    """Hand the jobs a broker outage kept back to the broker."""
    settings = get_settings(request.registry, JobsSettings)
    if settings.engine != "celery":
        print(f"jobs.engine is {settings.engine!r}: there is no broker to relay to")
        return 0
    handed = request.registry.getUtility(IJobEngine).relay()
    print(f"handed {handed} job(s) to the broker")
    return 0


# -- looking at the outbox ----------------------------------------------------------


def list_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state", choices=STATES, help="only jobs in this state")
    parser.add_argument("--name", help="only jobs of this name")
    parser.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")


def list_jobs(request: Request, args: argparse.Namespace) -> int:
    """List jobs, newest first."""
    query = select(JobRecord).order_by(JobRecord.id.desc()).limit(args.limit)
    if args.state:
        query = query.where(JobRecord.state == args.state)
    if args.name:
        query = query.where(JobRecord.name == args.name)
    records = request.dbsession.scalars(query).all()
    if not records:
        print("no jobs")
        return 0
    print(f"{'id':>8}  {'state':<8} {'attempts':>8}  {'created (UTC)':<19}  name")
    for r in records:
        created = as_utc(r.created_at).strftime("%Y-%m-%d %H:%M:%S")
        attempts = f"{r.attempts}/{r.max_attempts}"
        print(f"{r.id:>8}  {r.state:<8} {attempts:>8}  {created:<19}  {r.name}")
    return 0


def show_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", type=int, help="the job's id, as `list` shows it")


def show(request: Request, args: argparse.Namespace) -> int:
    """Show one job."""
    record = request.dbsession.get(JobRecord, args.id)
    if record is None:
        print(f"no job {args.id}")
        return 1
    fields = {
        "id": record.id,
        "name": record.name,
        "state": record.state,
        "queue": record.queue,
        "key": record.key,
        "attempts": f"{record.attempts} of {record.max_attempts}",
        "time limit": f"{record.time_limit}s",
        "created": record.created_at,
        "available": record.available_at,
        "handed to broker": record.relayed_at,
        "started": record.started_at,
        "finished": record.finished_at,
        "arguments": json.dumps(record.arguments),
    }
    for label, value in fields.items():
        if isinstance(value, datetime.datetime):
            value = as_utc(value).isoformat(timespec="seconds")
        print(f"{label + ':':<18}{'-' if value is None else value}")
    if record.last_error:
        print("last error:")
        for line in record.last_error.splitlines():
            print(f"  {line}")
    return 0


def retry_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ids", type=int, nargs="*", metavar="ID", help="jobs to run again")
    parser.add_argument("--dead", action="store_true", help="every dead job")


def retry(request: Request, args: argparse.Namespace) -> int:
    """Make dead (or given) jobs pending again, with a fresh count of attempts."""
    if not args.ids and not args.dead:
        print("name the jobs to retry, or --dead for every dead job")
        return 2
    condition = (
        JobRecord.state == JobState.DEAD
        if args.dead
        else JobRecord.id.in_(args.ids) & JobRecord.state.in_((JobState.DEAD, JobState.DONE))
    )
    result = request.dbsession.execute(
        update(JobRecord)
        .where(condition)
        .values(
            state=JobState.PENDING,
            attempts=0,
            available_at=utcnow(),
            relayed_at=None,
            finished_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    _changed(request)
    print(f"{result.rowcount} job(s) will run again")
    return 0


def purge_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--older-than",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="finished before this many seconds ago (default: jobs.keep_done)",
    )
    parser.add_argument("--dead", action="store_true", help="dead jobs too")


def purge(request: Request, args: argparse.Namespace) -> int:
    """Remove finished jobs older than jobs.keep_done."""
    removed = purge_finished(request, older_than=args.older_than, dead=args.dead)
    print(f"removed {removed} job(s)")
    return 0


def purge_finished(
    request: Request, *, older_than: datetime.timedelta | None = None, dead: bool = False
) -> int:
    """Delete jobs finished longer than ``older_than`` (``jobs.keep_done``)
    ago, dead ones too if ``dead``, in the request's transaction; how many."""
    settings = get_settings(request.registry, JobsSettings)
    keep = older_than if older_than is not None else settings.keep_done
    before = get_clock(request.registry)() - keep
    states = [JobState.DONE, JobState.DEAD] if dead else [JobState.DONE]
    result = request.dbsession.execute(
        delete(JobRecord)
        .where(JobRecord.state.in_(states), JobRecord.finished_at < before)
        .execution_options(synchronize_session=False)
    )
    _changed(request)
    return int(result.rowcount or 0)


def purge_job(request: Request) -> None:
    """The periodic job ``jobs.purge``: ``pyramidion jobs purge`` daily."""
    removed = purge_finished(request)
    log.info("purge: removed %d finished job(s)", removed)


def _changed(request: Request) -> None:
    from zope.sqlalchemy import mark_changed

    mark_changed(request.dbsession)
