"""The auth add-on's mail and purge, and storage's garbage collection, as jobs."""

from __future__ import annotations

import email
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyramid.router import Router
from sqlalchemy import select
from sqlalchemy.orm import Session

from pyramidion_jobs.catalog import IJobCatalog
from pyramidion_jobs.clock import IJobClock
from pyramidion_jobs.engines import EmbeddedEngine
from pyramidion_jobs.models import JobRecord
from pyramidion_storage.backends import LocalBackend, new_key

from .conftest import Clock


@pytest.fixture
def engine(pyramidion_app: Router, db_connection: Any, clock: Clock) -> Iterator[EmbeddedEngine]:
    registry = pyramidion_app.registry
    registry.registerUtility(clock, IJobClock)
    try:
        yield EmbeddedEngine(registry)
    finally:
        registry.unregisterUtility(clock, IJobClock)


@pytest.fixture
def mails(pyramidion_extra_settings: dict[str, Any]) -> Any:
    """``mails()``: the recipients of the emails written since the test began."""
    directory = Path(pyramidion_extra_settings["auth.mail_directory"])
    before = set(directory.glob("*.eml"))

    def read() -> list[tuple[str, str]]:
        new = sorted(set(directory.glob("*.eml")) - before)
        messages = [email.message_from_string(path.read_text()) for path in new]
        return [(str(m["To"]), str(m["Subject"])) for m in messages]

    return read


def jobs(dbsession: Session) -> list[tuple[str, str]]:
    dbsession.expire_all()
    return [(r.name, r.state) for r in dbsession.scalars(select(JobRecord).order_by(JobRecord.id))]


def test_a_reset_mail_is_a_job_written_when_the_job_runs(
    testapp: Any, auth_make_user: Any, dbsession: Session, engine: EmbeddedEngine, mails: Any
) -> None:
    user = auth_make_user()
    form = testapp.get("/auth/reset").forms["deform"]
    form["email"] = user.email
    form.submit("submit", status=303)

    assert jobs(dbsession) == [("auth.send_mail", "pending")]
    assert mails() == []

    assert engine.run_due() == 1
    assert mails() == [(user.email, "Choose a new password")]
    assert jobs(dbsession) == [("auth.send_mail", "done")]


def test_a_request_that_fails_after_mailing_leaves_no_job_and_no_mail(
    testapp: Any, dbsession: Session, engine: EmbeddedEngine, mails: Any
) -> None:
    testapp.get("/jobstest/mail", {"to": "ada@example.com", "fail": "raise"}, status=500)
    assert jobs(dbsession) == []
    assert engine.run_due() == 0
    assert mails() == []

    testapp.get("/jobstest/mail", {"to": "ada@example.com"})
    engine.run_due()
    assert mails() == [("ada@example.com", "A test")]


def test_the_housekeeping_jobs_are_scheduled(pyramidion_app: Router) -> None:
    catalog = pyramidion_app.registry.getUtility(IJobCatalog)
    schedules = {p.name: (p.job, p.schedule.total_seconds()) for p in catalog.periodic}
    assert schedules["auth.purge"] == ("auth.purge", 86400)
    assert schedules["jobs.purge"] == ("jobs.purge", 86400)
    assert schedules["storage.gc"] == ("storage.gc", 3600)


def test_the_periodic_storage_gc_removes_an_orphan(
    pyramidion_extra_settings: dict[str, Any],
    dbsession: Session,
    engine: EmbeddedEngine,
) -> None:
    backend = LocalBackend(Path(pyramidion_extra_settings["storage.local_root"]))
    orphan = new_key()
    backend.stage(orphan, iter([b"no row names me"])).publish()
    # Older than storage.gc_grace (an hour).
    two_hours_ago = time.time() - 7200
    os.utime(backend.path(orphan), (two_hours_ago, two_hours_ago))
    young = new_key()
    backend.stage(young, iter([b"maybe a row is about to name me"])).publish()

    engine.send_due_periodic()
    while engine.run_due():
        pass

    assert ("storage.gc", "done") in jobs(dbsession)
    assert not backend.path(orphan).exists()
    assert backend.path(young).exists()
