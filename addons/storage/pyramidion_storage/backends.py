"""Where file bytes live: the backend contract and its two implementations.

A backend stores opaque byte strings under keys that :func:`new_key` makes
(32 lower-case hex digits); it never sees a filename. Writing is two-step so
that the transaction decides what becomes visible: :meth:`StorageBackend.stage`
writes the bytes somewhere invisible and returns a :class:`StagedFile`,
whose :meth:`~StagedFile.publish` makes them durable and visible under the key
(the data manager calls it before the database commits) and whose
:meth:`~StagedFile.discard` removes whatever staging or publishing left.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import secrets
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .settings import StorageSettings

__all__ = [
    "FileMissing",
    "LocalBackend",
    "S3Backend",
    "StagedFile",
    "StorageBackend",
    "StoredObject",
    "make_backend",
    "new_key",
]

CHUNK_SIZE = 64 * 1024

_KEY = re.compile(r"^[0-9a-f]{32}$")


def new_key() -> str:
    """A fresh, unguessable key (128 random bits as hex)."""
    return secrets.token_hex(16)


def check_key(key: str) -> str:
    """``key`` if it is one :func:`new_key` could have made, else ValueError.

    Backends call this before touching anything, so no key can name a path
    outside their storage.
    """
    if not isinstance(key, str) or not _KEY.match(key):
        raise ValueError(f"{key!r} is not a storage key")
    return key


class FileMissing(LookupError):
    """The backend holds no bytes under this key."""


@dataclass(frozen=True)
class StoredObject:
    """A published object, as :meth:`StorageBackend.objects` lists it."""

    key: str
    modified: datetime.datetime


@runtime_checkable
class StagedFile(Protocol):
    """Bytes written by :meth:`StorageBackend.stage`, not yet visible."""

    key: str

    def publish(self) -> None:
        """Make the bytes durable and readable under ``key``."""

    def discard(self) -> None:
        """Remove the staged bytes, and the published ones if any; idempotent."""


@runtime_checkable
class StorageBackend(Protocol):
    """The contract every backend meets (the tests run it on each one)."""

    def stage(self, key: str, chunks: Iterable[bytes]) -> StagedFile:
        """Write ``chunks`` where nobody reads them yet.

        If iterating ``chunks`` raises, nothing is left behind and the
        exception propagates.
        """

    def open(self, key: str, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        """Stream bytes ``[start, stop)`` of a published object.

        Raises :class:`FileMissing` when there is none. The iterator holds
        its file or connection until exhausted or closed.
        """

    def size(self, key: str) -> int:
        """The size of a published object; :class:`FileMissing` if absent."""

    def delete(self, key: str) -> None:
        """Remove a published object; nothing happens when it is absent."""

    def objects(self) -> Iterator[StoredObject]:
        """Every published object, for garbage collection."""

    def sweep_staging(self, before: datetime.datetime) -> int:
        """Remove staging leftovers of dead processes older than ``before``."""


def _utc(timestamp: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC)


# -- local filesystem -----------------------------------------------------------


class LocalBackend:
    """Files under one directory: ``ROOT/ab/cd/abcd...`` for key ``abcd...``.

    Staged bytes go to ``ROOT/.staging/`` (the same filesystem, so publishing
    is an atomic rename); publishing fsyncs the file, renames it into place
    and fsyncs the directory, so a published file survives a power cut.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.staging = self.root / ".staging"

    def __repr__(self) -> str:
        return f"LocalBackend({str(self.root)!r})"

    def path(self, key: str) -> Path:
        """Where the published bytes of ``key`` are."""
        check_key(key)
        return self.root / key[:2] / key[2:4] / key

    def stage(self, key: str, chunks: Iterable[bytes]) -> LocalStagedFile:
        final = self.path(key)
        self.staging.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f"{key}.", suffix=".part", dir=self.staging)
        part = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        return LocalStagedFile(key=key, part=part, final=final)

    def open(self, key: str, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        try:
            handle = self.path(key).open("rb")
        except FileNotFoundError:
            raise FileMissing(key) from None
        return _read_range(handle, start, stop)

    def size(self, key: str) -> int:
        try:
            return self.path(key).stat().st_size
        except FileNotFoundError:
            raise FileMissing(key) from None

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def objects(self) -> Iterator[StoredObject]:
        if not self.root.is_dir():
            return
        for first in sorted(self.root.iterdir()):
            if first.name == ".staging" or not first.is_dir():
                continue
            for path in sorted(first.glob("*/*")):
                if _KEY.match(path.name) and path.is_file():
                    yield StoredObject(path.name, _utc(path.stat().st_mtime))

    def sweep_staging(self, before: datetime.datetime) -> int:
        removed = 0
        if not self.staging.is_dir():
            return 0
        for part in self.staging.glob("*.part"):
            with contextlib.suppress(FileNotFoundError):
                if _utc(part.stat().st_mtime) < before:
                    part.unlink()
                    removed += 1
        return removed


@dataclass
class LocalStagedFile:
    """A ``.part`` file in the staging directory."""

    key: str
    part: Path
    final: Path
    published: bool = False

    def publish(self) -> None:
        if self.published:
            return
        with self.part.open("rb") as handle:
            os.fsync(handle.fileno())
        self.final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.part, self.final)
        self.published = True
        _fsync_directory(self.final.parent)

    def discard(self) -> None:
        self.part.unlink(missing_ok=True)
        if self.published:
            self.final.unlink(missing_ok=True)
            self.published = False


def _fsync_directory(path: Path) -> None:
    # The rename is durable only once the directory entry is.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_range(handle: IO[bytes], start: int, stop: int | None) -> Iterator[bytes]:
    try:
        handle.seek(start)
        remaining = None if stop is None else max(stop - start, 0)
        while remaining is None or remaining > 0:
            size = CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining)
            chunk = handle.read(size)
            if not chunk:
                break
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()


# -- S3-compatible object storage -------------------------------------------------


class S3Backend:
    """Objects in an S3 bucket, named ``PREFIX + key``.

    Staged bytes are spooled to an anonymous temporary file (it has no name,
    so nothing is left behind if the process dies) and uploaded when
    published; boto3 switches to a multipart upload for large files.
    """

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    @classmethod
    def from_settings(cls, settings: StorageSettings) -> S3Backend:
        """A backend with a boto3 client made from the ``storage.s3_*`` settings."""
        try:
            import boto3  # type: ignore[import-untyped]
        except ImportError:
            from pyramidion import ConfigurationError

            raise ConfigurationError(
                "storage.backend = s3 needs boto3: install pyramidion-storage[s3]."
            ) from None
        if not settings.s3_bucket:
            from pyramidion import SettingsError

            raise SettingsError(
                "storage.backend = s3 but storage.s3_bucket is not set. Name the "
                "bucket, or set PYRAMIDION_STORAGE__S3_BUCKET."
            )
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=settings.s3_endpoint_url or None,
            region_name=settings.s3_region or None,
            aws_access_key_id=settings.s3_access_key_id or None,
            aws_secret_access_key=settings.s3_secret_access_key or None,
        )
        return cls(client, settings.s3_bucket, settings.s3_prefix)

    def __repr__(self) -> str:
        return f"S3Backend(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def name(self, key: str) -> str:
        return self.prefix + check_key(key)

    def stage(self, key: str, chunks: Iterable[bytes]) -> S3StagedFile:
        name = self.name(key)
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - the staged file owns it
        try:
            for chunk in chunks:
                spool.write(chunk)
        except BaseException:
            spool.close()
            raise
        return S3StagedFile(key=key, backend=self, name=name, spool=spool)

    def _missing(self, exc: Exception) -> bool:
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        return code in {"404", "NoSuchKey", "NotFound"}

    def open(self, key: str, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        from botocore.exceptions import ClientError  # type: ignore[import-untyped]

        options: dict[str, Any] = {"Bucket": self.bucket, "Key": self.name(key)}
        if start or stop is not None:
            if stop is not None and stop <= start:
                return iter(())
            last = "" if stop is None else str(stop - 1)
            options["Range"] = f"bytes={start}-{last}"
        try:
            body = self.client.get_object(**options)["Body"]
        except ClientError as exc:
            if self._missing(exc):
                raise FileMissing(key) from None
            raise
        return _stream_body(body)

    def size(self, key: str) -> int:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.name(key))
        except ClientError as exc:
            if self._missing(exc):
                raise FileMissing(key) from None
            raise
        return int(head["ContentLength"])

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.name(key))

    def objects(self) -> Iterator[StoredObject]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", ()):
                key = str(item["Key"])[len(self.prefix) :]
                if _KEY.match(key):
                    yield StoredObject(key, item["LastModified"])

    def sweep_staging(self, before: datetime.datetime) -> int:
        # A process that died during a multipart upload leaves the parts
        # billed but invisible; abort those uploads once they are old.
        removed = 0
        paginator = self.client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for upload in page.get("Uploads", ()):
                if upload["Initiated"] < before:
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    removed += 1
        return removed


@dataclass
class S3StagedFile:
    """Bytes spooled locally until published to the bucket."""

    key: str
    backend: S3Backend
    name: str
    spool: IO[bytes]
    published: bool = False

    def publish(self) -> None:
        if self.published:
            return
        self.spool.seek(0)
        self.backend.client.upload_fileobj(self.spool, self.backend.bucket, self.name)
        self.published = True
        self.spool.close()

    def discard(self) -> None:
        self.spool.close()
        if self.published:
            self.backend.client.delete_object(Bucket=self.backend.bucket, Key=self.name)
            self.published = False


def _stream_body(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(CHUNK_SIZE)
    finally:
        body.close()


# -- choosing a backend ---------------------------------------------------------


def make_backend(settings: StorageSettings, base_dir: Path) -> StorageBackend:
    """The backend ``storage.backend`` names.

    ``base_dir`` is where a relative ``storage.local_root`` starts from.
    The local backend's directory is created when missing, and a directory
    that cannot be created or written stops start-up with a sentence.
    """
    choice = settings.backend
    if choice == "local":
        from pyramidion import ensure_writable_directory

        root = Path(settings.local_root)
        root = root if root.is_absolute() else base_dir / root
        # The first upload would otherwise be the first to find out.
        ensure_writable_directory(root, "storage.local_root")
        return LocalBackend(root)
    if choice == "s3":
        return S3Backend.from_settings(settings)
    from pyramid.path import DottedNameResolver

    from pyramidion import SettingsError

    try:
        factory = DottedNameResolver().resolve(choice)
    except (ImportError, ValueError) as exc:
        raise SettingsError(
            f"storage.backend = {choice!r}: not 'local' or 's3', and not an "
            f"importable dotted name ({exc})."
        ) from None
    backend = factory(settings, base_dir)
    if not isinstance(backend, StorageBackend):
        raise SettingsError(
            f"storage.backend = {choice!r} returned {backend!r}, which does not "
            "implement pyramidion_storage.backends.StorageBackend."
        )
    return backend
