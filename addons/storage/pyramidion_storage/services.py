"""Storing files in step with the request's transaction.

``request.storage`` is a :class:`FileStorage`. What it writes joins
``request.tm`` through a :class:`FileDataManager`, which orders itself
against zope.sqlalchemy's data manager so that

- new files are staged while the request runs, and published (fsynced and
  renamed, or uploaded) in the vote phase, *before* the database commits;
- files are deleted in the finish phase, *after* the database has
  committed the deletion of their rows;
- an abort before the vote discards what was staged.

So a row is never committed before its bytes are durable, and bytes are
never removed while a committed row names them. A crash between the two
steps leaves at most an orphan: bytes that no row names, which
:func:`collect_garbage` (``pyramidion storage gc``) removes once they are
older than a grace period.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    delete,
    exists,
    false,
    func,
    not_,
    or_,
    select,
)
from transaction.interfaces import ISavepointDataManager
from zope.interface import implementer

from pyramidion import app_state, get_settings, independent_session

from .backends import StagedFile, StorageBackend, new_key
from .models import StoredFile, as_utc, utcnow
from .settings import StorageSettings
from .uploads import (
    FileTooLarge,
    check_content_type,
    chunks_of,
    sanitize_filename,
    take_head,
)

if TYPE_CHECKING:
    from pyramid.request import Request
    from sqlalchemy.orm import Session
    from transaction import TransactionManager

__all__ = [
    "FILE_STATES",
    "FileDataManager",
    "FileStorage",
    "GarbageCount",
    "GarbageReport",
    "collect_garbage",
    "count_garbage",
    "file_references",
    "file_state",
    "file_state_condition",
    "file_states",
    "get_backend",
]

log = logging.getLogger("pyramidion_storage")

#: Default of ``owner_id``: the request's authenticated user.
CURRENT_USER: Any = object()


def get_backend(request: Request) -> StorageBackend:
    """The app's storage backend: the ``StorageBackend`` service."""
    backend: StorageBackend = request.find_service(StorageBackend, context=None)
    return backend


# -- the data manager -------------------------------------------------------------


@implementer(ISavepointDataManager)
class FileDataManager:
    """Joins one transaction: publishes staged files, deletes dropped ones."""

    def __init__(self, transaction_manager: TransactionManager, backend: StorageBackend) -> None:
        self.transaction_manager = transaction_manager
        self.backend = backend
        self.staged: list[StagedFile] = []
        self.deletions: list[str] = []
        self.voted = False

    def __repr__(self) -> str:
        return f"<FileDataManager {len(self.staged)} new, {len(self.deletions)} deleted>"

    def add(self, staged: StagedFile) -> None:
        self.staged.append(staged)

    def delete_after_commit(self, key: str) -> None:
        self.deletions.append(key)

    def sortKey(self) -> str:
        # zope.sqlalchemy commits in tpc_vote under "~sqlalchemy:..." (or, for
        # two-phase sessions, in tpc_finish under "sqlalchemy.twophase:...").
        # "storage:" sorts before the first and after the second, so files
        # are published before either commits and deleted after both have.
        return f"storage:{id(self)}"

    def abort(self, txn: Any) -> None:
        self._discard()

    def tpc_begin(self, txn: Any) -> None:
        pass

    def commit(self, txn: Any) -> None:
        pass

    def tpc_vote(self, txn: Any) -> None:
        for staged in self.staged:
            staged.publish()
        self.voted = True

    def tpc_finish(self, txn: Any) -> None:
        # The rows are gone for good now; a failure here leaves an orphan
        # for gc and must not turn a committed request into an error.
        for key in self.deletions:
            try:
                self.backend.delete(key)
            except Exception:
                log.exception("could not delete file %s; 'pyramidion storage gc' will", key)
        self._reset()

    def tpc_abort(self, txn: Any) -> None:
        if self.voted:
            # Published, and a data manager after this one failed: the
            # database may or may not have committed, so the files stay.
            # If it did not, they are orphans that gc removes.
            if self.staged:
                log.warning(
                    "transaction failed after %d file(s) were published; "
                    "'pyramidion storage gc' removes any that no row names",
                    len(self.staged),
                )
            self._reset()
        else:
            self._discard()

    def _discard(self) -> None:
        for staged in self.staged:
            try:
                staged.discard()
            except Exception:
                log.exception("could not discard staged file %s", staged.key)
        self._reset()

    def _reset(self) -> None:
        self.staged = []
        self.deletions = []
        self.voted = False

    def savepoint(self) -> FileSavepoint:
        return FileSavepoint(self, len(self.staged), len(self.deletions))


@dataclass
class FileSavepoint:
    """Rolling back discards files staged, and forgets deletions asked, since."""

    manager: FileDataManager
    staged: int
    deletions: int

    def rollback(self) -> None:
        for staged in self.manager.staged[self.staged :]:
            staged.discard()
        del self.manager.staged[self.staged :]
        del self.manager.deletions[self.deletions :]


# -- request.storage -------------------------------------------------------------


class _Hashing:
    """Counts and hashes chunks as they pass; stops past ``limit`` bytes."""

    def __init__(self, chunks: Iterable[bytes], limit: int | None) -> None:
        self.chunks = chunks
        self.limit = limit
        self.size = 0
        self.sha256 = hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.size += len(chunk)
            if self.limit is not None and self.size > self.limit:
                raise FileTooLarge(self.limit)
            self.sha256.update(chunk)
            yield chunk


@dataclass
class FileStorage:
    """``request.storage``: store, read and delete files within the request.

    Nothing written is visible to others until the request's transaction
    commits; an aborted request leaves nothing behind.
    """

    request: Request
    backend: StorageBackend
    settings: StorageSettings
    _manager: FileDataManager | None = field(default=None, repr=False)
    _txn: Any = field(default=None, repr=False)

    def save(
        self,
        data: bytes | IO[bytes] | Iterable[bytes],
        *,
        filename: str,
        content_type: str | None = None,
        owner_id: str | None = CURRENT_USER,
        public: bool = False,
        realm: str | None = None,
        max_size: int | None = None,
    ) -> StoredFile:
        """Store ``data`` (bytes, a binary file or an iterable of bytes).

        ``filename`` is sanitised; ``content_type`` (what the client
        declared) is checked against the first bytes; ``owner_id`` defaults
        to the authenticated user. Reading stops as soon as the data
        exceeds ``max_size`` (default ``storage.max_upload_size``).

        Returns the new :class:`StoredFile`, added to ``request.dbsession``.
        Raises :class:`~pyramidion_storage.uploads.UploadRejected` (too
        large, wrong type), with nothing stored.
        """
        row = self._store(data, filename, content_type, max_size)
        row.owner_id = self._owner(owner_id)
        row.public = public
        row.realm = realm
        self.request.dbsession.add(row)
        return row

    def save_temporary(
        self,
        data: bytes | IO[bytes] | Iterable[bytes],
        *,
        filename: str,
        content_type: str | None = None,
    ) -> StoredFile:
        """Store a form's temporary upload, tied to this client.

        Only :meth:`temporary_upload` with the same client finds it, until
        ``storage.upload_expiry`` passes; :meth:`keep` makes it permanent
        and ``storage gc`` removes it once expired.

        Unlike :meth:`save`, the upload outlives the request's transaction:
        a form that is refused is shown again with its file, and its
        request is aborted, so the bytes are published at once and, when
        the request aborts, the row is written again in a transaction of
        its own. Bytes whose row is lost anyway are orphans that gc removes.
        """
        row = self._store(data, filename, content_type, None, publish=True)
        row.upload_token = self._client_token_hash()
        row.expires_at = utcnow() + self.settings.upload_expiry
        self.request.dbsession.add(row)
        values = {
            column.key: getattr(row, column.key)
            for column in StoredFile.__table__.columns
            if column.key != "id"
        }
        registry = self.request.registry

        def keep_after_abort() -> None:
            try:
                with independent_session(registry) as session:
                    session.add(StoredFile(**values))
            except Exception:
                log.exception(
                    "could not keep temporary upload %s after the request aborted", row.key
                )

        self.request.tm.get().addAfterAbortHook(keep_after_abort)
        return row

    def temporary_upload(self, key: str) -> StoredFile | None:
        """This client's unexpired temporary upload ``key``, or None."""
        if not isinstance(key, str) or not key:
            return None
        found: StoredFile | None = self.request.dbsession.scalars(
            select(StoredFile).where(
                StoredFile.key == key,
                StoredFile.upload_token == self._client_token_hash(),
                StoredFile.expires_at > utcnow(),
            )
        ).one_or_none()
        return found

    def keep(
        self,
        upload: StoredFile | str | dict[str, Any],
        *,
        owner_id: str | None = CURRENT_USER,
        public: bool = False,
        realm: str | None = None,
    ) -> StoredFile:
        """Make this client's temporary upload permanent and return its row.

        ``upload`` is the row, its key, or the value the upload widget
        gives a form (a dict with ``uid``). Raises ``LookupError`` when this
        client has no such unexpired upload.
        """
        if isinstance(upload, StoredFile):
            key = upload.key
        elif isinstance(upload, dict):
            key = str(upload.get("uid", ""))
        else:
            key = upload
        row = self.temporary_upload(key)
        if row is None:
            raise LookupError("the upload has expired or belongs to another client")
        row.upload_token = None
        row.expires_at = None
        row.owner_id = self._owner(owner_id)
        row.public = public
        row.realm = realm
        return row

    def delete(self, stored: StoredFile) -> None:
        """Delete the row now and the bytes once the transaction commits."""
        self.request.dbsession.delete(stored)
        self._join().delete_after_commit(stored.key)

    def open(self, stored: StoredFile, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        """Stream the file's bytes ``[start, stop)``."""
        return self.backend.open(stored.key, start, stop)

    def read(self, stored: StoredFile) -> bytes:
        """The whole file in memory: for small files only."""
        return b"".join(self.open(stored))

    def url(self, stored: StoredFile, **kw: Any) -> str:
        """The download URL of the file (route ``storage.file``)."""
        return str(self.request.route_url("storage.file", key=stored.key, **kw))

    # -- internals --

    def _store(
        self,
        data: bytes | IO[bytes] | Iterable[bytes],
        filename: str,
        content_type: str | None,
        max_size: int | None,
        *,
        publish: bool = False,
    ) -> StoredFile:
        name = sanitize_filename(filename)
        limit = self.settings.max_upload_size if max_size is None else max_size
        hashing = _Hashing(chunks_of(data), limit)
        head, chunks = take_head(iter(hashing))
        stored_type = check_content_type(
            name, content_type, head, self.settings.allowed_content_types
        )
        key = new_key()
        staged = self.backend.stage(key, chunks)
        if publish:
            staged.publish()
        else:
            self._join().add(staged)
        return StoredFile(
            key=key,
            filename=name,
            content_type=stored_type,
            size=hashing.size,
            sha256=hashing.sha256.hexdigest(),
            created=utcnow(),
        )

    def _join(self) -> FileDataManager:
        txn = self.request.tm.get()
        if self._manager is None or self._txn is not txn:
            self._manager = FileDataManager(self.request.tm, self.backend)
            self._txn = txn
            txn.join(self._manager)
        return self._manager

    def _owner(self, owner_id: str | None) -> str | None:
        if owner_id is CURRENT_USER:
            userid = self.request.authenticated_userid
            return None if userid is None else str(userid)
        return owner_id

    def _client_token_hash(self) -> str:
        # The user is part of it, so whoever logs in next on the same
        # browser does not find the previous user's uploads.
        user = self.request.authenticated_userid
        seed = (
            client_token(self.request, self.settings) + "\0" + ("" if user is None else str(user))
        )
        return hashlib.sha256(seed.encode()).hexdigest()


def client_token(request: Request, settings: StorageSettings) -> str:
    """A random token that identifies this client's temporary uploads.

    Kept in an HttpOnly cookie (``storage.upload_cookie_name``), not in the
    session: a refused form's request is aborted, and a session changed by
    an aborted request is not saved, while its response's cookies are.
    """
    cached: str | None = request.__dict__.get("_pyramidion_storage_token")
    if cached is not None:
        return cached
    name = settings.upload_cookie_name
    token: str = request.cookies.get(name, "")
    if len(token) < 32 or len(token) > 64:
        token = secrets.token_urlsafe(32)
        secure = not app_state(request.registry).core.development

        def set_cookie(request: Request, response: Any) -> None:
            response.set_cookie(
                name, token, httponly=True, secure=secure, samesite="Lax", path="/"
            )

        request.add_response_callback(set_cookie)
    request.__dict__["_pyramidion_storage_token"] = token
    return token


def request_storage(request: Request) -> FileStorage:
    """``request.storage``."""
    return FileStorage(
        request, get_backend(request), get_settings(request.registry, StorageSettings)
    )


# -- garbage collection ------------------------------------------------------------


@dataclass
class GarbageReport:
    """What :func:`collect_garbage` removed."""

    #: Keys of objects that no row named, removed.
    orphans: list[str] = field(default_factory=list)
    #: Temporary uploads past their expiry, rows deleted (bytes after commit).
    expired_uploads: int = 0
    #: Staging leftovers of dead processes, removed.
    staging: int = 0


def collect_garbage(
    dbsession: Session,
    backend: StorageBackend,
    transaction_manager: TransactionManager,
    *,
    grace: datetime.timedelta,
    now: datetime.datetime | None = None,
    dry_run: bool = False,
) -> GarbageReport:
    """Remove what no committed row needs.

    Deletes the rows of temporary uploads that expired (their bytes go once
    ``transaction_manager`` commits), removes objects older than ``grace``
    that no row names, and staging leftovers older than ``grace``. The
    grace period protects files whose request has written them but not yet
    committed its row. With ``dry_run``, only reports.
    """
    now = now or utcnow()
    cutoff = now - grace
    report = GarbageReport()

    expired = list(
        dbsession.scalars(select(StoredFile.key).where(StoredFile.expires_at < now)).all()
    )
    report.expired_uploads = len(expired)
    if expired and not dry_run:
        dbsession.execute(delete(StoredFile).where(StoredFile.key.in_(expired)))
        manager = FileDataManager(transaction_manager, backend)
        for key in expired:
            manager.delete_after_commit(key)
        transaction_manager.get().join(manager)

    batch: list[str] = []

    def sweep(keys: list[str]) -> None:
        known = set(dbsession.scalars(select(StoredFile.key).where(StoredFile.key.in_(keys))))
        for key in keys:
            if key not in known:
                report.orphans.append(key)
                if not dry_run:
                    backend.delete(key)

    for obj in backend.objects():
        if obj.modified < cutoff:
            batch.append(obj.key)
            if len(batch) >= 500:
                sweep(batch)
                batch = []
    if batch:
        sweep(batch)
    if not dry_run:
        report.staging = backend.sweep_staging(cutoff)
    return report


#: What :func:`file_state` says of a file, with the sentence an
#: administrator reads for each.
FILE_STATES: dict[str, str] = {
    "in use": "a row of an add-on refers to it",
    "orphan": "kept, but no row of any add-on refers to it",
    "temporary": "a form's upload, not yet kept",
    "expired": "a form's upload whose time ran out; the next gc removes it",
}


def file_references() -> list[tuple[Table, Any]]:
    """Every column of every enabled add-on's tables that refers to a file
    (a foreign key to ``storage_files.id``, as :func:`file_id_column` makes),
    with its table."""
    from pyramidion import metadata

    files = StoredFile.__table__
    return [
        (table, column)
        for table in metadata.sorted_tables
        if table is not files
        for column in table.columns
        for key in column.foreign_keys
        if key.column.table is files
    ]


def _referenced() -> ColumnElement[bool]:
    conditions = [
        exists().where(column == StoredFile.id).select_from(table)
        for table, column in file_references()
    ]
    return or_(*conditions) if conditions else false()


def file_state_condition(state: str, now: datetime.datetime | None = None) -> ColumnElement[bool]:
    """A condition on :class:`StoredFile` rows that are in ``state`` (one of
    :data:`FILE_STATES`), for filtering a query; raises ``ValueError`` for
    another word.

    A file is "in use" when a row of any table refers to it through a
    foreign key (see :func:`file_references`), an "orphan" when it was kept
    and nothing does, "temporary" while it is a form's upload and
    "expired" once that upload's time ran out.
    """
    now = now or utcnow()
    kept = StoredFile.upload_token.is_(None)
    if state == "in use":
        return and_(kept, _referenced())
    if state == "orphan":
        return and_(kept, not_(_referenced()))
    if state == "temporary":
        return and_(not_(kept), or_(StoredFile.expires_at.is_(None), StoredFile.expires_at >= now))
    if state == "expired":
        return and_(not_(kept), StoredFile.expires_at < now)
    raise ValueError(f"'{state}' is not a file state; use one of {', '.join(FILE_STATES)}.")


def file_state(
    dbsession: Session, stored: StoredFile, now: datetime.datetime | None = None
) -> str:
    """Which of :data:`FILE_STATES` ``stored`` is in (one query for a kept file)."""
    if stored.temporary:
        expires = stored.expires_at
        expired = expires is not None and as_utc(expires) < (now or utcnow())
        return "expired" if expired else "temporary"
    found = dbsession.scalar(
        select(StoredFile.id).where(StoredFile.id == stored.id, _referenced())
    )
    return "orphan" if found is None else "in use"


def file_states(
    dbsession: Session, files: Iterable[StoredFile], now: datetime.datetime | None = None
) -> dict[int, str]:
    """:func:`file_state` of each of ``files``, by id, in one query for all
    the kept ones (a list page's files, say)."""
    files = list(files)
    states = {f.id: file_state(dbsession, f, now) for f in files if f.temporary}
    kept = [f.id for f in files if not f.temporary]
    if kept:
        used = set(
            dbsession.scalars(select(StoredFile.id).where(StoredFile.id.in_(kept), _referenced()))
        )
        states.update({key: "in use" if key in used else "orphan" for key in kept})
    return states


@dataclass(frozen=True)
class GarbageCount:
    """What :func:`count_garbage` found awaiting ``pyramidion storage gc``."""

    #: Objects older than the grace period that no row names.
    orphans: int
    #: Temporary uploads past their expiry.
    expired_uploads: int
    #: True when the count stopped after ``limit`` objects: there may be more.
    partial: bool


def count_garbage(
    dbsession: Session,
    backend: StorageBackend,
    *,
    grace: datetime.timedelta,
    now: datetime.datetime | None = None,
    limit: int = 10_000,
) -> GarbageCount:
    """Count what :func:`collect_garbage` would remove, removing nothing.

    Walks at most ``limit`` of the backend's objects, so that a dashboard
    stays quick on a large bucket; ``partial`` says when it stopped early.
    """
    now = now or utcnow()
    cutoff = now - grace
    expired = dbsession.scalar(
        select(func.count()).select_from(StoredFile).where(StoredFile.expires_at < now)
    )
    orphans = 0
    batch: list[str] = []

    def sweep(keys: list[str]) -> int:
        known = set(dbsession.scalars(select(StoredFile.key).where(StoredFile.key.in_(keys))))
        return sum(1 for key in keys if key not in known)

    partial = False
    for examined, obj in enumerate(backend.objects()):
        if examined >= limit:
            partial = True
            break
        if obj.modified < cutoff:
            batch.append(obj.key)
            if len(batch) >= 500:
                orphans += sweep(batch)
                batch = []
    if batch:
        orphans += sweep(batch)
    return GarbageCount(orphans=orphans, expired_uploads=int(expired or 0), partial=partial)
