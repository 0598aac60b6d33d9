"""The storage add-on's settings, read from ``storage.*`` keys."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from pyramidion import setting

__all__ = ["StorageSettings"]

#: Bytes a multipart body may carry beyond the file itself (boundaries,
#: part headers, a few small fields); requests whose Content-Length exceeds
#: ``max_upload_size`` plus this are refused before any byte is read.
MULTIPART_OVERHEAD = 64 * 1024


@dataclass(frozen=True)
class StorageSettings:
    """Where files are kept, and what uploads may be."""

    backend: str = setting(
        "local",
        doc="Where file bytes live: 'local' (a directory), 's3' (S3-compatible "
        "object storage; install pyramidion-storage[s3]) or the dotted name of a "
        "callable that takes (settings, base_dir) and returns a storage backend.",
    )
    local_root: str = setting(
        "var/files",
        doc="Directory of the local backend. A relative path is taken relative "
        "to the ini file's directory (to the working directory when the app has "
        "no ini file); write '%(here)s/var/files' to be explicit.",
    )
    s3_bucket: str | None = setting(None, doc="Bucket of the s3 backend (required for it).")
    s3_endpoint_url: str | None = setting(
        None,
        doc="Endpoint of an S3-compatible service (MinIO, Ceph, ...); empty means AWS.",
    )
    s3_region: str | None = setting(None, doc="Region of the bucket, for example 'eu-west-1'.")
    s3_access_key_id: str | None = setting(
        None,
        doc="Access key of the s3 backend; empty uses boto3's usual credential "
        "chain (environment, instance role).",
        secret=True,
    )
    s3_secret_access_key: str | None = setting(
        None, doc="Secret key that goes with s3_access_key_id.", secret=True
    )
    s3_prefix: str = setting(
        "",
        doc="Prefix of every object name, for sharing a bucket ('files/'). Objects "
        "under it that no file row names are removed by 'pyramidion storage gc'.",
    )
    max_upload_size: int = setting(
        10 * 1024 * 1024,
        doc="Largest file, in bytes, that an upload may carry; larger ones are "
        "answered 413 and stopped at the limit. Keep the core's "
        "pyramidion.max_request_body_size at least this plus 65536.",
        min=1,
    )
    allowed_content_types: tuple[str, ...] = setting(
        (),
        doc="Content types uploads may have ('image/*', 'application/pdf'); "
        "empty allows any type whose content matches its name.",
    )
    # setting() returns a dataclasses.field, and timedelta is immutable.
    upload_expiry: datetime.timedelta = setting(  # noqa: RUF009
        datetime.timedelta(hours=1),
        doc="How long a form's temporary upload is kept for the form to be "
        "submitted again (30m, 2h).",
    )
    gc_grace: datetime.timedelta = setting(  # noqa: RUF009
        datetime.timedelta(hours=1),
        doc="Default age below which 'pyramidion storage gc' leaves unreferenced "
        "files alone; longer than the slowest request, since a file is written "
        "before its row is committed.",
    )
    gc_interval: datetime.timedelta = setting(  # noqa: RUF009
        datetime.timedelta(hours=1),
        doc="With the jobs add-on enabled: how often the periodic job storage.gc "
        "does what 'pyramidion storage gc' does (30m, 2h).",
    )
    owner_principal: str = setting(
        "user:{owner_id}",
        doc="The principal of a file's owner in the default access rules "
        "('{owner_id}' is replaced by the owner id).",
    )
    anonymous_uploads: bool = setting(
        False, doc="Whether visitors who are not logged in may POST to /storage/files."
    )
    upload_cookie_name: str = setting(
        "storage_upload",
        doc="HttpOnly cookie that ties temporary uploads (a form's file, kept while "
        "the form is corrected) to a browser.",
    )
