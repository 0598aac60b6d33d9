"""Sending and running jobs in process: the transaction boundary, retries,
dead letters, leases and periodic jobs, on the test kit's database."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

import pytest
import transaction
from pyramid.router import Router
from pyramid.scripting import prepare
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pyramidion_jobs import JobArgumentsError, UnknownJob
from pyramidion_jobs.clock import IJobClock
from pyramidion_jobs.engines import EmbeddedEngine
from pyramidion_jobs.models import JobRecord, JobState
from pyramidion_jobs.runner import Outcome, claim, run_job

from .conftest import Clock


@pytest.fixture
def engine(pyramidion_app: Router, db_connection: Any, clock: Clock) -> Iterator[EmbeddedEngine]:
    """The embedded engine's step, on the test's clock (no thread is started)."""
    registry = pyramidion_app.registry
    registry.registerUtility(clock, IJobClock)
    try:
        yield EmbeddedEngine(registry)
    finally:
        registry.unregisterUtility(clock, IJobClock)


def effects(dbsession: Session) -> list[tuple[str, str, int]]:
    from pyramidion_jobs_example.models import Effect

    dbsession.expire_all()
    return [
        (e.value, e.job_key, e.attempt)
        for e in dbsession.scalars(select(Effect).order_by(Effect.id))
    ]


def jobs(dbsession: Session) -> list[JobRecord]:
    dbsession.expire_all()
    return list(dbsession.scalars(select(JobRecord).order_by(JobRecord.id)))


def send(registry: Any, job: str, *args: Any, **options: Any) -> int:
    """Send a job from a command-like request, committed."""
    env = prepare(registry=registry)
    try:
        with env["request"].tm:
            return env["request"].jobs.enqueue(job, args, **options).id  # type: ignore[no-any-return]
    finally:
        env["closer"]()


# -- the transaction boundary ---------------------------------------------------


def test_a_committed_request_leaves_its_job_in_the_outbox(
    testapp: Any, dbsession: Session
) -> None:
    sent = testapp.get("/jobstest/send", {"value": "hello"}).json["job"]
    [record] = jobs(dbsession)
    assert (record.id, record.name, record.state) == (sent, "jobstest.record", "pending")
    assert record.arguments == {"args": ["hello"], "kwargs": {}}
    assert record.key.startswith("jobstest.record:")


def test_a_request_that_raises_after_sending_leaves_no_job(
    testapp: Any, dbsession: Session
) -> None:
    testapp.get("/jobstest/send", {"fail": "raise"}, status=500)
    assert jobs(dbsession) == []


def test_a_request_answered_with_an_error_leaves_no_job(testapp: Any, dbsession: Session) -> None:
    testapp.get("/jobstest/send", {"fail": "400"}, status=400)
    assert jobs(dbsession) == []


def test_arguments_that_are_not_json_are_refused_when_sent(
    pyramidion_app: Router, db_connection: Any
) -> None:
    with pytest.raises(JobArgumentsError, match=r"cannot be stored as JSON.*send ids"):
        send(pyramidion_app.registry, "jobstest.record", object())
    with pytest.raises(JobArgumentsError):
        send(pyramidion_app.registry, "jobstest.record", float("nan"))


def test_a_job_nobody_declares_is_refused_with_the_declared_names(
    pyramidion_app: Router, db_connection: Any
) -> None:
    with pytest.raises(UnknownJob, match=r"'jobstest\.recrod'.*jobstest\.record"):
        send(pyramidion_app.registry, "jobstest.recrod", "x")


def test_a_key_already_in_the_outbox_sends_nothing_more(
    pyramidion_app: Router, db_connection: Any, dbsession: Session
) -> None:
    first = send(pyramidion_app.registry, "jobstest.record", "a", key="welcome-mail:42")
    again = send(pyramidion_app.registry, "jobstest.record", "a", key="welcome-mail:42")
    assert first == again
    assert len(jobs(dbsession)) == 1


# -- running ---------------------------------------------------------------------


def test_a_job_runs_once_with_its_key_and_its_effects_commit_with_it(
    testapp: Any, dbsession: Session, engine: EmbeddedEngine
) -> None:
    testapp.get("/jobstest/send", {"value": "hello"})
    [record] = jobs(dbsession)
    assert engine.run_due() == 1
    assert engine.run_due() == 0
    assert effects(dbsession) == [("hello", record.key, 1)]
    [record] = jobs(dbsession)
    assert (record.state, record.attempts, record.last_error) == ("done", 1, None)


def test_a_failing_job_is_retried_after_a_doubling_wait(
    pyramidion_app: Router, dbsession: Session, engine: EmbeddedEngine, clock: Clock
) -> None:
    send(pyramidion_app.registry, "jobstest.flaky", "finally", 2)
    assert engine.run_due() == 1
    [record] = jobs(dbsession)
    assert (record.state, record.attempts) == ("pending", 1)
    assert "attempt 1 fails on purpose" in (record.last_error or "")

    clock.advance(9)
    assert engine.run_due() == 0  # jobs.retry_backoff is 10 s
    clock.advance(1)
    assert engine.run_due() == 1
    clock.advance(19)
    assert engine.run_due() == 0  # then 20 s
    clock.advance(1)
    assert engine.run_due() == 1
    assert [value for value, _, _ in effects(dbsession)] == ["finally"]
    [record] = jobs(dbsession)
    assert (record.state, record.attempts) == ("done", 3)


def test_a_job_that_keeps_failing_ends_dead_with_its_error(
    pyramidion_app: Router, dbsession: Session, engine: EmbeddedEngine, clock: Clock
) -> None:
    send(pyramidion_app.registry, "jobstest.always_fails")
    for _ in range(3):
        engine.run_due()
        clock.advance(60)
    assert engine.run_due() == 0
    [record] = jobs(dbsession)
    assert (record.state, record.attempts) == ("dead", 3)
    assert "ConnectionRefusedError: the mail server said no" in (record.last_error or "")


def test_a_run_that_outlived_its_lease_does_not_commit_after_another_took_over(
    pyramidion_app: Router, dbsession: Session, engine: EmbeddedEngine, clock: Clock
) -> None:
    registry = pyramidion_app.registry
    job_id = send(registry, "jobstest.record", "once")
    # A runner claims the job, then hangs past its lease...
    with dbsession.begin_nested():
        stalled = claim(dbsession, job_id, clock())
    assert stalled is not None
    clock.advance(3600)
    # ...so the job is due again, and this run commits its effects.
    assert run_job(registry, job_id).outcome is Outcome.DONE
    [record] = jobs(dbsession)
    assert (record.state, record.attempts) == ("done", 2)
    assert [attempt for _, _, attempt in effects(dbsession)] == [2]


def test_a_periodic_job_is_sent_once_a_slot_however_many_engines_look(
    pyramidion_app: Router, dbsession: Session, engine: EmbeddedEngine, clock: Clock
) -> None:
    other = EmbeddedEngine(pyramidion_app.registry)
    engine.send_due_periodic()
    other.send_due_periodic()
    clock.advance(60)
    engine.send_due_periodic()
    # The housekeeping jobs of jobs, auth and storage are sent too.
    hourly = [r for r in jobs(dbsession) if r.name == "jobstest.record"]
    assert [r.arguments["args"] for r in hourly] == [["tick"]]
    others = sorted(r.name for r in jobs(dbsession) if r.name != "jobstest.record")
    assert others == ["auth.purge", "jobs.purge", "storage.gc"]
    clock.advance(3600)
    other.send_due_periodic()
    assert len([r for r in jobs(dbsession) if r.name == "jobstest.record"]) == 2


# -- commands -------------------------------------------------------------------------


def command(registry: Any, handler_name: str, /, **arguments: Any) -> int:
    from pyramidion_jobs import commands

    env = prepare(registry=registry)
    try:
        with env["request"].tm:
            handler = getattr(commands, handler_name)
            return handler(env["request"], argparse.Namespace(**arguments))  # type: ignore[no-any-return]
    finally:
        env["closer"]()


def test_dead_jobs_are_listed_shown_retried_and_purged(
    pyramidion_app: Router,
    dbsession: Session,
    engine: EmbeddedEngine,
    clock: Clock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    registry = pyramidion_app.registry
    dead = send(registry, "jobstest.always_fails")
    done = send(registry, "jobstest.record", "fine")
    for _ in range(3):
        engine.run_due()
        clock.advance(60)
    capsys.readouterr()

    command(registry, "list_jobs", state="dead", name=None, limit=50)
    listed = capsys.readouterr().out
    assert f"{dead}  dead" in listed
    assert "3/3  " in listed
    assert "jobstest.always_fails" in listed
    assert "jobstest.record" not in listed

    command(registry, "show", id=dead)
    shown = capsys.readouterr().out
    assert "state:            dead" in shown
    assert "ConnectionRefusedError: the mail server said no" in shown

    command(registry, "retry", ids=[], dead=True)
    assert capsys.readouterr().out == "1 job(s) will run again\n"
    record = dbsession.get(JobRecord, dead)
    dbsession.refresh(record)
    assert record is not None
    assert (record.state, record.attempts) == (JobState.PENDING, 0)

    command(registry, "purge", older_than=None, dead=False)
    assert capsys.readouterr().out == "removed 0 job(s)\n"  # younger than jobs.keep_done
    import datetime

    command(registry, "purge", older_than=datetime.timedelta(0), dead=False)
    assert capsys.readouterr().out == "removed 1 job(s)\n"
    assert [r.id for r in jobs(dbsession)] == [dead]
    assert done not in [r.id for r in jobs(dbsession)]


def test_the_outbox_is_empty_after_rolled_back_work_in_a_command(
    pyramidion_app: Router, db_connection: Any, dbsession: Session
) -> None:
    env = prepare(registry=pyramidion_app.registry)
    try:
        request = env["request"]
        request.tm.begin()
        request.jobs.send("jobstest.record", "never")
        request.tm.abort()
        with request.tm:
            request.jobs.send("jobstest.record", "kept")
    finally:
        env["closer"]()
    assert [r.arguments["args"] for r in jobs(dbsession)] == [["kept"]]
    assert dbsession.scalar(select(func.count()).select_from(JobRecord)) == 1
    assert transaction.manager  # the global manager was never used
