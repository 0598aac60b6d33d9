"""The backend contract, run on the local directory and on S3 (moto)."""

from __future__ import annotations

import datetime
import hashlib
import os
from collections.abc import Iterator

import pytest

from pyramidion_storage.backends import (
    FileMissing,
    LocalBackend,
    StorageBackend,
    new_key,
)


def published(backend: StorageBackend) -> set[str]:
    return {obj.key for obj in backend.objects()}


def test_staged_bytes_are_invisible_until_published(bare_backend: StorageBackend) -> None:
    key = new_key()
    staged = bare_backend.stage(key, iter([b"hello ", b"world"]))

    assert published(bare_backend) == set()
    with pytest.raises(FileMissing):
        bare_backend.size(key)

    staged.publish()

    assert published(bare_backend) == {key}
    assert bare_backend.size(key) == 11
    assert b"".join(bare_backend.open(key)) == b"hello world"


def test_ranges_are_read_without_the_rest(bare_backend: StorageBackend) -> None:
    key = new_key()
    data = os.urandom(200_000)
    bare_backend.stage(key, iter([data])).publish()

    assert b"".join(bare_backend.open(key, 70_000, 70_010)) == data[70_000:70_010]
    assert b"".join(bare_backend.open(key, 199_990)) == data[199_990:]
    assert hashlib.sha256(b"".join(bare_backend.open(key))).digest() == (
        hashlib.sha256(data).digest()
    )


def test_discard_removes_staged_and_published_bytes(bare_backend: StorageBackend) -> None:
    kept, dropped, dropped_after_publish = new_key(), new_key(), new_key()
    bare_backend.stage(kept, iter([b"kept"])).publish()
    bare_backend.stage(dropped, iter([b"dropped"])).discard()
    staged = bare_backend.stage(dropped_after_publish, iter([b"dropped too"]))
    staged.publish()
    staged.discard()
    staged.discard()

    assert published(bare_backend) == {kept}
    assert bare_backend.sweep_staging(datetime.datetime.now(datetime.UTC)) == 0


def test_a_failing_writer_leaves_nothing(bare_backend: StorageBackend) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"partial"
        raise OSError("the client went away")

    with pytest.raises(OSError, match="went away"):
        bare_backend.stage(new_key(), chunks())

    assert published(bare_backend) == set()
    assert bare_backend.sweep_staging(datetime.datetime.now(datetime.UTC)) == 0


def test_delete_is_idempotent_and_missing_files_say_so(bare_backend: StorageBackend) -> None:
    key = new_key()
    bare_backend.stage(key, iter([b"x"])).publish()

    bare_backend.delete(key)
    bare_backend.delete(key)

    with pytest.raises(FileMissing):
        bare_backend.open(key)
    with pytest.raises(FileMissing):
        bare_backend.size(key)


@pytest.mark.parametrize(
    "key", ["../../etc/passwd", "ABCDEF0123456789ABCDEF0123456789", "a" * 31, "/tmp/x", ""]
)
def test_only_generated_keys_are_accepted(bare_backend: StorageBackend, key: str) -> None:
    with pytest.raises(ValueError, match="not a storage key"):
        bare_backend.stage(key, iter([b"x"]))
    with pytest.raises(ValueError, match="not a storage key"):
        bare_backend.open(key)


def test_objects_report_when_they_were_written(bare_backend: StorageBackend) -> None:
    before = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=5)
    key = new_key()
    bare_backend.stage(key, iter([b"x"])).publish()

    (obj,) = bare_backend.objects()

    assert obj.key == key
    assert before < obj.modified < before + datetime.timedelta(minutes=1)


def test_local_files_stay_under_the_root(tmp_path: os.PathLike[str]) -> None:
    backend = LocalBackend(os.path.join(tmp_path, "files"))
    key = new_key()
    backend.stage(key, iter([b"x"])).publish()

    assert backend.path(key).is_relative_to(backend.root)
    assert backend.path(key).read_bytes() == b"x"


def test_local_staging_leftovers_of_dead_processes_are_swept(
    tmp_path: os.PathLike[str],
) -> None:
    backend = LocalBackend(os.path.join(tmp_path, "files"))
    backend.staging.mkdir(parents=True)
    old = backend.staging / f"{new_key()}.abc.part"
    old.write_bytes(b"left by a crash")
    os.utime(old, (0, 0))
    young = backend.staging / f"{new_key()}.def.part"
    young.write_bytes(b"still being written")

    removed = backend.sweep_staging(datetime.datetime.now(datetime.UTC) - datetime.timedelta(1))

    assert removed == 1
    assert not old.exists()
    assert young.exists()
