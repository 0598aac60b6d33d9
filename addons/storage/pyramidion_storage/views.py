"""Downloads and the upload endpoint.

``GET /storage/files/{key}`` serves a file with the ``view`` permission on
its :class:`~pyramidion_storage.resources.FileContext`: streamed, with an
ETag (its SHA-256) answering conditional requests with 304, byte ranges with
206, ``X-Content-Type-Options: nosniff``, a restrictive Content-Security-Policy,
and ``Content-Disposition: attachment`` for every type a browser could run
(HTML, SVG, XML, JavaScript, ... everything not on a short inline list).

``POST /storage/files`` takes a ``multipart/form-data`` body with the file in
a field named ``file`` and answers 201 with the stored file as JSON. The body
is streamed into storage and reading stops at ``storage.max_upload_size``
(413); the CSRF token must come in the ``X-CSRF-Token`` header, because
looking for it in the form would read the whole body first. Requests the
core exempts from CSRF (an API token) need none, as everywhere else.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pyramid.csrf import check_csrf_origin, check_csrf_token
from pyramid.httpexceptions import (
    HTTPBadRequest,
    HTTPRequestEntityTooLarge,
    HTTPUnsupportedMediaType,
)
from pyramid.response import Response

from pyramidion import csrf_check_required, get_settings

from .backends import CHUNK_SIZE, StorageBackend
from .models import StoredFile, as_utc
from .resources import FileContext
from .settings import MULTIPART_OVERHEAD, StorageSettings
from .uploads import FileTooLarge, UploadRejected, format_size

if TYPE_CHECKING:
    from pyramid.request import Request

    from .resources import UploadContext

__all__ = [
    "INLINE_TYPES",
    "content_disposition",
    "download",
    "file_json",
    "store_multipart",
    "upload",
]

#: Types shown in the browser; anything else is sent as an attachment,
#: because a browser could execute it in the site's origin.
INLINE_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/avif",
        "image/bmp",
        "text/plain",
        "application/pdf",
        "audio/mpeg",
        "audio/ogg",
        "audio/wav",
        "video/mp4",
        "video/webm",
        "video/ogg",
    }
)

_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'"


def content_disposition(kind: str, filename: str) -> str:
    """A Content-Disposition value with an ASCII fallback and the UTF-8 name."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    return f"{kind}; filename=\"{fallback or 'download'}\"; filename*=UTF-8''{quote(filename)}"


class BackendFileIter:
    """A WSGI app_iter over a stored object, opened only when iterated.

    ``app_iter_range`` lets WebOb answer Range requests by reading just the
    range (a seek locally, a ranged GET on S3).
    """

    def __init__(self, backend: StorageBackend, key: str) -> None:
        self.backend = backend
        self.key = key
        self._open: Iterator[bytes] | None = None

    def __iter__(self) -> Iterator[bytes]:
        self._open = self.backend.open(self.key)
        return self._open

    def app_iter_range(self, start: int, stop: int | None) -> Iterator[bytes]:
        return self.backend.open(self.key, start, stop)

    def close(self) -> None:
        close = getattr(self._open, "close", None)
        if close is not None:
            close()


def download(context: FileContext, request: Request) -> Response:
    """Serve the context's file (see the module docstring)."""
    stored: StoredFile = context.file
    response = Response(
        app_iter=BackendFileIter(request.storage.backend, stored.key),
        content_type=stored.content_type,
        charset=None,
        conditional_response=True,
    )
    response.content_length = stored.size
    response.etag = stored.sha256
    response.last_modified = as_utc(stored.created)
    response.accept_ranges = "bytes"
    # Revalidate every time, so a permission change takes effect at once.
    response.cache_control = "private, no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    inline = stored.content_type in INLINE_TYPES and "download" not in request.GET
    response.headers["Content-Disposition"] = content_disposition(
        "inline" if inline else "attachment", stored.filename
    )
    # Chrome refuses to show a PDF in a sandboxed document.
    sandbox = "" if stored.content_type == "application/pdf" else "; sandbox"
    response.headers["Content-Security-Policy"] = _CSP + sandbox
    return response


def _segment_body(events: Iterator[Any]) -> Iterator[bytes]:
    for event in events:
        if event is None:
            return
        yield event


def _events(request: Request, boundary: str, length: int | None) -> Iterator[Any]:
    import multipart  # type: ignore[import-untyped]

    parser = multipart.PushMultipartParser(
        boundary,
        content_length=-1 if length is None else length,
        max_header_size=4096,
        max_segment_count=32,
    )
    stream = request.body_file
    with parser:
        while not parser.closed:
            chunk = stream.read(CHUNK_SIZE)
            yield from parser.parse(chunk)
            if not chunk:
                break


def store_multipart(request: Request) -> StoredFile:
    """Store the ``file`` field of the request's multipart body, streamed.

    Raises 413 past ``storage.max_upload_size`` (or too many parts, too
    large headers), 415 when the body is not ``multipart/form-data`` or the
    file's type is refused, and 400 when the body is malformed or has no
    file. Returns the new row, flushed.
    """
    # The parser is imported by the first upload, not at start-up, so that
    # a process that never receives a file does not hold it.
    import multipart

    settings = get_settings(request.registry, StorageSettings)
    limit = settings.max_upload_size
    length = request.content_length
    if length is not None and length > limit + MULTIPART_OVERHEAD:
        raise HTTPRequestEntityTooLarge(
            detail=f"The file is larger than the limit of {format_size(limit)}."
        )
    content_type, options = multipart.parse_options_header(request.headers.get("Content-Type", ""))
    boundary = options.get("boundary", "")
    if content_type != "multipart/form-data" or not boundary:
        raise HTTPUnsupportedMediaType(
            detail="Send the file as multipart/form-data, in a field named 'file'."
        )
    stored: StoredFile | None = None
    try:
        events = _events(request, boundary, length)
        for event in events:
            if not isinstance(event, multipart.MultipartSegment):
                continue
            body = _segment_body(events)
            if event.name == "file" and event.filename is not None and stored is None:
                stored = request.storage.save(
                    body, filename=event.filename, content_type=event.content_type
                )
            for _ignored in body:
                pass
    except FileTooLarge as exc:
        raise HTTPRequestEntityTooLarge(detail=str(exc)) from None
    except UploadRejected as exc:
        raise HTTPUnsupportedMediaType(detail=str(exc)) from None
    except multipart.ParserLimitReached:
        raise HTTPRequestEntityTooLarge(
            detail="The form has too many fields or too large headers."
        ) from None
    except multipart.MultipartError as exc:
        raise HTTPBadRequest(detail=f"The multipart body is malformed: {exc}") from None
    if stored is None:
        raise HTTPBadRequest(detail="The form has no file in a field named 'file'.")
    request.dbsession.flush()
    return stored


def file_json(request: Request, stored: StoredFile) -> dict[str, Any]:
    """What the upload endpoints answer about a stored file."""
    return {
        "key": stored.key,
        "filename": stored.filename,
        "content_type": stored.content_type,
        "size": stored.size,
        "sha256": stored.sha256,
        "url": request.storage.url(stored),
    }


def upload(context: UploadContext, request: Request) -> Response:
    """Store the ``file`` field of a multipart body (see the module docstring)."""
    settings = get_settings(request.registry, StorageSettings)
    length = request.content_length
    if length is not None and length > settings.max_upload_size + MULTIPART_OVERHEAD:
        raise HTTPRequestEntityTooLarge(
            detail=f"The file is larger than the limit of {format_size(settings.max_upload_size)}."
        )
    # The usual check would look in the form, and so read the whole body.
    # Requests the core exempts (an API token, for one) are exempt here too.
    if csrf_check_required(request):
        check_csrf_origin(request)
        check_csrf_token(request, token=None, header="X-CSRF-Token")
    stored = store_multipart(request)
    body = file_json(request, stored)
    response = Response(json_body=body, status=201, content_type="application/json")
    response.location = body["url"]
    return response
