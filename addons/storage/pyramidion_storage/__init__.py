"""File storage for Pyramidion: transactional, on the local disk or S3.

Enable it with ``pyramidion.addons = storage`` and run ``pyramidion db
upgrade``. The public API:

``request.storage`` (:class:`~pyramidion_storage.services.FileStorage`)
    ``save(data, filename=..., content_type=None, owner_id=<current user>,
    public=False, realm=None, max_size=None) -> StoredFile`` stores bytes, a
    binary file or an iterable of chunks: the filename is sanitised, the
    declared type checked against the content, reading stops past the size
    limit (``UploadRejected`` subclasses: ``FileTooLarge``,
    ``ContentTypeMismatch``, ``ContentTypeNotAllowed``). ``delete(file)``,
    ``open(file, start, stop)`` (streaming), ``read(file)``, ``url(file)``;
    for forms, ``save_temporary``, ``temporary_upload(key)`` and
    ``keep(upload, owner_id=..., public=..., realm=...)``.

    Everything joins ``request.tm``: bytes are staged during the request,
    made durable before the database commits, discarded if the request
    aborts; deleted bytes go after the commit. A crash in between leaves only
    orphans, which ``pyramidion storage gc CONFIG [--grace SECONDS]`` removes.

Models (:mod:`pyramidion_storage.models`)
    ``StoredFile`` (table ``storage_files``: key, filename, content_type,
    size, sha256, created, owner_id, public, realm); other add-ons refer to
    files with ``file_id_column()`` and ``file_relationship()`` and make
    their migration ``depends_on`` the ``storage`` branch.

Downloads
    ``GET /storage/files/{key}`` (route ``storage.file``) needs ``view`` on
    the file's context: by default owner and public flag decide
    (``storage.owner_principal``); an add-on takes over the files of a realm
    with ``config.add_file_context(realm, factory)``. ETag/304, Range/206,
    nosniff, attachment for anything a browser could run.

Uploads
    ``POST /storage/files`` (route ``storage.upload``, permission
    ``storage.upload``): multipart with a ``file`` field, CSRF token in the
    ``X-CSRF-Token`` header; 201 with the file as JSON, 413 past
    ``storage.max_upload_size``, 415 for a type that does not match.

Forms (:mod:`pyramidion_storage.widgets`, needs deform)
    ``StorageUploadWidget(request)``, a deform ``FileUploadWidget`` whose
    temporary store is this storage, bound to the client that uploaded.

Backends (:mod:`pyramidion_storage.backends`)
    ``StorageBackend`` protocol; ``LocalBackend`` (default, under
    ``storage.local_root``) and ``S3Backend`` (``storage.backend = s3``,
    ``storage.s3_*``); or a dotted name of your own factory. The backend in
    use is the ``StorageBackend`` service: ``request.find_service(StorageBackend)``
    (docs/developers/services.md).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from pyramidion import Addon, Command, app_state, get_settings

from .settings import StorageSettings

if TYPE_CHECKING:
    from pyramid.config import Configurator

__all__ = ["addon", "includeme"]


def includeme(config: Configurator) -> None:
    """Wire the storage add-on.

    Reads the ``storage.*`` settings and creates the backend (for the local
    backend, its directory is created and checked for writing).
    Registers the backend as the ``StorageBackend`` service
    (``request.find_service(StorageBackend)``), ``request.storage``, the
    ``add_file_context`` directive, the ``storage.upload`` permission, and
    the routes ``storage.file`` (``/files/{key}``) and ``storage.upload``
    (``/files``) with their views. With the ``jobs`` add-on enabled,
    declares the periodic job ``storage.gc`` (:mod:`pyramidion_storage.jobs`);
    with the ``api`` add-on enabled, the operations on ``/api/v1/files``
    (:mod:`pyramidion_storage.api`).
    """
    from . import jobs, resources, services, views
    from .backends import StorageBackend, make_backend

    settings = get_settings(config.registry, StorageSettings)
    config_file = app_state(config.registry).config_file
    base_dir = Path(config_file).resolve().parent if config_file else Path(os.getcwd())
    config.register_service(make_backend(settings, base_dir), StorageBackend)
    config.add_request_method(services.request_storage, "storage", reify=True)
    config.add_directive("add_file_context", resources.add_file_context)
    config.declare_permission("storage.upload", "Upload files to /storage/files")
    config.declare_permission("storage.delete", "Delete a stored file")

    config.add_route("storage.upload", "/files", factory=resources.UploadContext)
    config.add_view(
        views.upload,
        route_name="storage.upload",
        request_method="POST",
        permission="storage.upload",
        # The view checks the header token itself, without reading the body.
        require_csrf=False,
        # It streams the body through a parser with limits of its own (parts,
        # header size), so the core does not copy and parse it first.
        input_limits=False,
    )
    config.add_route("storage.file", "/files/{key}", factory=resources.file_context_factory)
    config.add_view(
        views.download,
        route_name="storage.file",
        request_method=("GET", "HEAD"),
        permission="view",
    )
    if jobs.jobs_enabled(config.registry):
        config.include(".jobs")
    if "api" in app_state(config.registry).resolution:
        config.include(".api")


def _gc_arguments(parser: argparse.ArgumentParser) -> None:
    # Imported here: importing the package must not import the commands.
    from .commands import gc_arguments

    gc_arguments(parser)


addon = Addon(
    name="storage",
    title="File storage: uploads and downloads on the local disk or S3",
    includeme="pyramidion_storage.includeme",
    # With jobs (or api) enabled, its directives exist when storage declares
    # its job (or its API operations).
    after=("jobs", "api"),
    settings=StorageSettings,
    models="pyramidion_storage.models",
    migrations="pyramidion_storage:migrations",
    commands=(
        Command(
            name="gc",
            help="remove orphaned files, expired temporary uploads and staging leftovers",
            handler="pyramidion_storage.commands:gc",
            arguments=_gc_arguments,
        ),
    ),
)
