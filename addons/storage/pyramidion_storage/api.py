"""Stored files over the API, registered only when the ``api`` add-on is enabled.

- ``POST /files``: upload a file, as ``multipart/form-data`` (the file in
  a field named ``file``) or as the raw body with its ``Content-Type`` and
  its name in ``?filename=``. 201 with the file's JSON; past
  ``storage.max_upload_size`` 413, a refused type 415. The file belongs
  to the uploader and is private until something adopts it (a blog post
  that references its key, say).
- ``GET /files/{key}``: the file's JSON; ``GET /files/{key}/content``: its
  bytes, exactly as ``/storage/files/{key}`` serves them.
- ``DELETE /files/{key}``: its owner deletes it (204); a file another
  record adopted is 409 (remove it there).

Sessions send their CSRF token in the ``X-CSRF-Token`` header (the body is
never read to look for it); requests authenticated by an API token need
none. This module uses only the directives the api add-on adds; it never
imports ``pyramidion_api``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import colander
from pyramid.csrf import check_csrf_origin, check_csrf_token
from pyramid.httpexceptions import HTTPConflict, HTTPRequestEntityTooLarge
from pyramid.response import Response

from pyramidion import csrf_check_required, get_settings

from .resources import FileContext, UploadContext, file_context_factory
from .settings import StorageSettings
from .uploads import FileTooLarge, UploadRejected, format_size
from .views import download, file_json, store_multipart

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request

__all__ = ["includeme"]


class FileOut(colander.Schema):  # type: ignore[misc]
    key = colander.SchemaNode(colander.String())
    filename = colander.SchemaNode(colander.String())
    content_type = colander.SchemaNode(colander.String())
    size = colander.SchemaNode(colander.Integer())
    sha256 = colander.SchemaNode(colander.String())
    url = colander.SchemaNode(colander.String())


FILENAME_PARAMETER = {
    "name": "filename",
    "in": "query",
    "required": False,
    "description": "The file's name, for a raw body (multipart bodies carry their own).",
    "schema": {"type": "string", "maxLength": 255},
}


def _raw_upload(request: Request, settings: StorageSettings) -> Any:
    name = str(request.GET.get("filename", "")).strip() or "upload"
    try:
        return request.storage.save(
            request.body_file,
            filename=name,
            content_type=request.content_type or "application/octet-stream",
        )
    except FileTooLarge as exc:
        raise HTTPRequestEntityTooLarge(detail=str(exc)) from None


def upload(context: UploadContext, request: Request) -> Response:
    """Upload a file (multipart, or the raw body with ?filename=)."""
    from pyramid.httpexceptions import HTTPUnsupportedMediaType

    settings = get_settings(request.registry, StorageSettings)
    if request.content_length is not None and request.content_length > (
        settings.max_upload_size + 64 * 1024
    ):
        raise HTTPRequestEntityTooLarge(
            detail=f"The file is larger than the limit of {format_size(settings.max_upload_size)}."
        )
    # The usual check would look in the form, and so read the whole body.
    if csrf_check_required(request):
        check_csrf_origin(request)
        check_csrf_token(request, token=None, header="X-CSRF-Token")
    if request.content_type == "multipart/form-data":
        stored = store_multipart(request)
    else:
        try:
            stored = _raw_upload(request, settings)
        except UploadRejected as exc:
            raise HTTPUnsupportedMediaType(detail=str(exc)) from None
        request.dbsession.flush()
    body = file_json(request, stored)
    response = Response(json_body=body, status=201, content_type="application/json")
    response.location = request.route_url("api.files.key", key=stored.key)
    return response


def get_file(context: FileContext, request: Request) -> dict[str, Any]:
    """A stored file's name, type, size and download address."""
    return file_json(request, context.file)


def get_content(context: FileContext, request: Request) -> Response:
    """A stored file's bytes (ETag, ranges, a restrictive Content-Security-Policy)."""
    return download(context, request)


def delete_file(context: FileContext, request: Request) -> Response:
    """Delete a file its owner uploaded and nothing adopted."""
    stored = context.file
    if stored.realm is not None:
        raise HTTPConflict(
            detail="This file belongs to another record (a post's attachment, say); "
            "remove it there."
        )
    request.storage.delete(stored)
    return Response(status=204)


def includeme(config: Configurator) -> None:
    """Add the operations on ``/files`` (see the module)."""
    tags = ("files",)
    config.add_api_view(
        upload,
        "/files",
        "POST",
        factory=UploadContext,
        response_schema=FileOut,
        status=201,
        permission="storage.upload",
        tags=tags,
        errors=(400, 413, 415),
        parameters=(FILENAME_PARAMETER,),
        # The view checks the header token itself, without reading the body,
        # and streams the body through limits of its own.
        require_csrf=False,
        input_limits=False,
    )
    config.add_api_view(
        get_file,
        "/files/{key}",
        "GET",
        factory=file_context_factory,
        response_schema=FileOut,
        permission="view",
        tags=tags,
    )
    config.add_api_view(
        delete_file,
        "/files/{key}",
        "DELETE",
        factory=file_context_factory,
        status=204,
        permission="storage.delete",
        tags=tags,
        errors=(409,),
    )
    config.add_api_view(
        get_content,
        "/files/{key}/content",
        "GET",
        factory=file_context_factory,
        permission="view",
        tags=tags,
        # The file's own type, whatever it was uploaded as.
        content_type="*/*",
    )
