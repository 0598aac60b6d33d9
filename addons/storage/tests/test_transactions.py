"""Bytes follow the request's transaction, even when the process dies."""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import transaction
from pyramid.request import Request
from pyramid.scripting import prepare
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session
from transaction.interfaces import NoTransaction

from pyramidion.testing import PyramidionTestApp
from pyramidion_storage.backends import LocalBackend, StorageBackend, new_key
from pyramidion_storage.models import StoredFile
from pyramidion_storage.services import FileDataManager, collect_garbage, count_garbage

NO_GRACE = datetime.timedelta(0)


def published(backend: StorageBackend) -> set[str]:
    return {obj.key for obj in backend.objects()}


def everything_on_disk(backend: StorageBackend) -> set[Path]:
    """Every file under a local backend's root, staging included."""
    if not isinstance(backend, LocalBackend) or not backend.root.exists():
        return set()
    return {p for p in backend.root.rglob("*") if p.is_file()}


@pytest.fixture
def app_request(pyramidion_app: Any, db_connection: Connection) -> Iterator[Request]:
    """A request of the test app with its transaction begun, as a command has."""
    env = prepare(registry=pyramidion_app.registry)
    request = env["request"]
    request.tm.begin()
    try:
        yield request
    finally:
        with contextlib.suppress(NoTransaction):
            request.tm.abort()
        env["closer"]()


class Failing:
    """A data manager that fails (or kills the process) when it votes."""

    def __init__(self, manager: Any, sort_key: str) -> None:
        self.transaction_manager = manager
        self.key = sort_key

    def sortKey(self) -> str:
        return self.key

    def abort(self, txn: Any) -> None:
        pass

    def tpc_begin(self, txn: Any) -> None:
        pass

    def commit(self, txn: Any) -> None:
        pass

    def tpc_vote(self, txn: Any) -> None:
        raise RuntimeError("injected failure")

    def tpc_finish(self, txn: Any) -> None:
        pass

    def tpc_abort(self, txn: Any) -> None:
        pass


def rows(dbsession: Session, filename: str) -> list[StoredFile]:
    dbsession.expire_all()
    return list(dbsession.scalars(select(StoredFile).where(StoredFile.filename == filename)))


def test_a_request_that_stores_then_fails_leaves_no_file(
    testapp: PyramidionTestApp, backend: StorageBackend, dbsession: Session
) -> None:
    before_keys, before_disk = published(backend), everything_on_disk(backend)

    response = testapp.post(
        "/storagetest/fail",
        b"these bytes must not survive",
        headers=testapp.csrf_headers(),
        content_type="text/plain",
        status=500,
    )

    assert "Internal Server Error" in response.text
    assert published(backend) == before_keys
    assert everything_on_disk(backend) == before_disk
    assert rows(dbsession, "doomed.txt") == []


def test_a_committed_upload_is_readable_and_its_hash_matches(
    testapp: PyramidionTestApp, backend: StorageBackend, dbsession: Session
) -> None:
    data = os.urandom(50_000)

    response = testapp.post(
        "/storage/files",
        upload_files=[("file", "report.bin", data, "application/octet-stream")],
        headers={**testapp.csrf_headers(), "X-User": "alice"},
        status=201,
    )

    body = response.json
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["size"] == len(data)
    (row,) = rows(dbsession, "report.bin")
    assert row.key == body["key"]
    assert row.owner_id == "alice"
    stored = b"".join(backend.open(row.key))
    assert hashlib.sha256(stored).hexdigest() == row.sha256
    assert testapp.get(body["url"], headers={"X-User": "alice"}).body == data


def test_a_failure_after_the_files_but_before_the_database_leaves_an_orphan_for_gc(
    app_request: Request, backend: StorageBackend, dbsession: Session, tm: Any
) -> None:
    stored = app_request.storage.save(b"orphan to be", filename="orphan.txt", owner_id=None)
    # Sorts after the storage data manager and before zope.sqlalchemy's.
    app_request.tm.get().join(Failing(app_request.tm, "storage~"))

    with pytest.raises(RuntimeError, match="injected failure"):
        app_request.tm.commit()

    assert rows(dbsession, "orphan.txt") == []
    assert stored.key in published(backend)

    report = collect_garbage(dbsession, backend, tm, grace=NO_GRACE)

    assert stored.key in report.orphans
    assert stored.key not in published(backend)


def test_count_garbage_counts_what_gc_would_remove_and_removes_nothing(
    app_request: Request, backend: StorageBackend, dbsession: Session, tm: Any
) -> None:
    stored = app_request.storage.save(b"orphan to be", filename="orphan.txt", owner_id=None)
    app_request.tm.get().join(Failing(app_request.tm, "storage~"))
    with pytest.raises(RuntimeError, match="injected failure"):
        app_request.tm.commit()

    young = count_garbage(dbsession, backend, grace=datetime.timedelta(hours=1))
    counted = count_garbage(dbsession, backend, grace=NO_GRACE)

    assert young.orphans == 0
    assert counted.orphans >= 1
    assert not counted.partial
    assert stored.key in published(backend)
    assert count_garbage(dbsession, backend, grace=NO_GRACE, limit=0).partial


def test_a_failure_after_the_database_committed_keeps_the_file(
    app_request: Request, backend: StorageBackend, dbsession: Session, tm: Any
) -> None:
    app_request.storage.save(b"kept", filename="committed.txt", owner_id=None)
    # Sorts after zope.sqlalchemy's data manager, which has committed by then.
    app_request.tm.get().join(Failing(app_request.tm, "~~after-the-database"))

    with pytest.raises(RuntimeError, match="injected failure"):
        app_request.tm.commit()

    (row,) = rows(dbsession, "committed.txt")
    assert b"".join(backend.open(row.key)) == b"kept"
    assert row.key not in collect_garbage(dbsession, backend, tm, grace=NO_GRACE).orphans


def test_deleted_files_go_only_when_the_deletion_commits(
    app_request: Request, backend: StorageBackend, dbsession: Session
) -> None:
    stored = app_request.storage.save(b"short-lived", filename="gone.txt", owner_id=None)
    app_request.tm.commit()
    app_request.tm.begin()
    row = app_request.dbsession.get(StoredFile, stored.id)
    assert row is not None

    app_request.storage.delete(row)
    app_request.tm.abort()
    assert stored.key in published(backend)

    app_request.tm.begin()
    row = app_request.dbsession.get(StoredFile, stored.id)
    assert row is not None
    app_request.storage.delete(row)
    app_request.tm.commit()

    assert stored.key not in published(backend)
    assert rows(dbsession, "gone.txt") == []


def test_rolling_back_a_savepoint_discards_the_files_stored_since(
    backend: StorageBackend,
) -> None:
    # zope.sqlalchemy offers no savepoints on SQLite, so the file data
    # manager is exercised on a transaction of its own.
    manager = transaction.TransactionManager(explicit=True)
    manager.begin()
    files = FileDataManager(manager, backend)
    manager.get().join(files)
    kept, dropped = new_key(), new_key()
    files.add(backend.stage(kept, iter([b"kept"])))
    savepoint = manager.savepoint()
    files.add(backend.stage(dropped, iter([b"dropped"])))

    savepoint.rollback()
    manager.commit()

    assert kept in published(backend)
    assert dropped not in published(backend)


def test_gc_leaves_young_orphans_and_referenced_files_alone(
    app_request: Request, backend: StorageBackend, dbsession: Session, tm: Any
) -> None:
    stored = app_request.storage.save(b"referenced", filename="ref.txt", owner_id=None)
    app_request.tm.commit()

    report = collect_garbage(dbsession, backend, tm, grace=NO_GRACE)
    assert stored.key not in report.orphans
    assert stored.key in published(backend)

    dbsession.delete(dbsession.get(StoredFile, stored.id))
    dbsession.flush()
    young = collect_garbage(dbsession, backend, tm, grace=datetime.timedelta(hours=1))
    assert stored.key not in young.orphans
    assert stored.key in published(backend)


CRASHING_PROCESS = textwrap.dedent(
    """
    import json, os, sys

    from pyramid.scripting import prepare
    from pyramidion import make_app

    settings, sort_key = json.loads(sys.argv[1]), sys.argv[2]
    app = make_app(settings, environ={})
    request = prepare(registry=app.registry)["request"]


    class Crash:
        transaction_manager = request.tm

        def sortKey(self):
            return sort_key

        def tpc_vote(self, txn):
            os._exit(17)

        abort = tpc_begin = commit = tpc_finish = tpc_abort = lambda self, txn: None


    request.tm.begin()
    stored = request.storage.save(b"written before the crash", filename="crash.txt", owner_id=None)
    request.dbsession.flush()
    print(stored.key, flush=True)
    request.tm.get().join(Crash())
    request.tm.commit()
    """
)


@pytest.mark.slow
@pytest.mark.parametrize(
    "sort_key",
    [
        pytest.param("a-before-publishing", id="dies-before-publishing"),
        pytest.param("storage~", id="dies-between-publishing-and-commit"),
    ],
)
def test_a_process_killed_before_the_commit_leaves_only_what_gc_removes(
    sort_key: str,
    pyramidion_settings: dict[str, Any],
    backend: StorageBackend,
    dbsession: Session,
) -> None:
    before_disk = everything_on_disk(backend)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRAMIDION_")}
    settings = {**pyramidion_settings, "pyramidion.addons": "storage"}

    result = subprocess.run(
        [sys.executable, "-c", CRASHING_PROCESS, json.dumps(settings), sort_key],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )

    assert result.returncode == 17, result.stderr
    key = result.stdout.strip()
    assert rows(dbsession, "crash.txt") == []
    if sort_key == "storage~":
        assert key in published(backend)
    else:
        assert key not in published(backend)

    manager = transaction.TransactionManager()
    with manager:
        collect_garbage(dbsession, backend, manager, grace=NO_GRACE)

    assert key not in published(backend)
    assert everything_on_disk(backend) <= before_disk
