"""What clients send, checked before any view reads it.

Every request body is held to ``pyramidion.max_request_body_size`` by a
tween: a larger ``Content-Length`` is refused with 413 before anything
reads the body, and a body of unknown length is read through a counter
that refuses it with 413 once it passes the limit. The refusal is the
app's own error page (or problem+json), with the request id, where the
server's limit would give a plain-text page of the server's.

Whatever arrives in a path, a query string, a form body or a JSON body is
refused with 400 and one sentence saying what is wrong when it cannot be
stored or read safely, so that no view meets it and answers 500:

- bytes that are not UTF-8 (``%ff``) in the path, the query string or a
  form body;
- a NUL character (``%00``, ``\\u0000``), which PostgreSQL refuses in text
  (and SQLite stores, so the same data would behave differently);
- more form fields than ``pyramidion.max_form_fields``, or a multipart
  part whose headers are longer than ``pyramidion.max_form_part_header_size``
  bytes. These limits apply to every view, whatever body size the view
  accepts, and they are counted before the form is parsed, so a body of
  a hundred thousand tiny parts costs a scan, not a parse;
- JSON nested deeper than ``pyramidion.max_json_depth``
  (:func:`json_body`);
- a number in a URL or a form that does not fit the column it is meant for
  (:func:`integer_bounds`, :func:`column_value`).

The path and the query string are checked by a tween, before routing; form
bodies by a view deriver that runs before the CSRF check (which reads the
form). A view that parses its body itself, with limits of its own, opts
out with ``config.add_view(..., input_limits=False)``.
"""

from __future__ import annotations

import email.message
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

import sqlalchemy as sa
from pyramid.httpexceptions import HTTPBadRequest, HTTPRequestEntityTooLarge

from .state import app_state

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.registry import Registry
    from pyramid.request import Request
    from pyramid.response import Response

    from .settings import CoreSettings

__all__ = ["column_value", "integer_bounds", "json_body"]

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_JSON = "pyramidion.json_body"
_CHUNK = 1 << 16

NOT_UTF8 = "The {where} contains bytes that are not UTF-8 text; send it encoded as UTF-8."
NUL = (
    "The {where} contains a NUL character (%00 or \\u0000), which no field accepts; "
    "remove it and send it again."
)


# -- body size ---------------------------------------------------------------------


def too_large(limit: int) -> str:
    """The sentence of the 413 for a body over ``limit`` bytes."""
    return (
        f"The request body is larger than this site accepts (at most {limit:,} bytes); "
        "send less, or in several parts."
    )


class BoundedInput:
    """A request body stream that raises 413 once more than ``limit`` bytes
    have been read from it; for bodies whose length is not known up front."""

    def __init__(self, stream: Any, limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self._read = 0

    def _count(self, data: bytes) -> bytes:
        self._read += len(data)
        if self._read > self._limit:
            raise HTTPRequestEntityTooLarge(too_large(self._limit))
        return data

    def _bounded(self, size: int | None) -> int:
        # One byte past the limit is enough to know the body is too large.
        room = self._limit - self._read + 1
        return room if size is None or size < 0 else min(size, room)

    def read(self, size: int | None = -1) -> bytes:
        return self._count(self._stream.read(self._bounded(size)))

    def readline(self, size: int | None = -1) -> bytes:
        return self._count(self._stream.readline(self._bounded(size)))

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        lines = []
        while line := self.readline():
            lines.append(line)
            if hint is not None and 0 < hint <= sum(map(len, lines)):
                break
        return lines

    def __iter__(self) -> Any:
        return iter(self.readline, b"")

    # No close(): the stream is the server's to close.


def body_size_tween_factory(
    handler: Callable[[Request], Response], registry: Registry
) -> Callable[[Request], Response]:
    """Refuse a body over ``pyramidion.max_request_body_size`` with the app's 413."""
    limit = app_state(registry).core.max_request_body_size

    def tween(request: Request) -> Response:
        environ = request.environ
        length = request.content_length
        if length is not None and length > limit:
            raise HTTPRequestEntityTooLarge(too_large(limit))
        if length is None and environ.get("wsgi.input") is not None:
            environ["wsgi.input"] = BoundedInput(environ["wsgi.input"], limit)
        return handler(request)

    return tween


# -- path and query string ----------------------------------------------------


def url_problem(environ: dict[str, Any]) -> str:
    """Why the path or query string of ``environ`` cannot be read, or ``""``."""
    path = environ.get("PATH_INFO", "")
    if not path.isascii():
        # PEP 3333: the server decoded the path's bytes as latin-1.
        try:
            path.encode("latin-1").decode("utf-8")
        except UnicodeError:
            return NOT_UTF8.format(where="address")
    if "\x00" in path:
        return NUL.format(where="address")
    query = environ.get("QUERY_STRING", "")
    if query and ("%" in query or not query.isascii()):
        return _encoded_text_problem(query.encode("latin-1"), "query string")
    return ""


def _encoded_text_problem(raw: bytes, where: str) -> str:
    """Why URL-encoded ``raw`` does not decode to text, or ``""``.

    Decoding the whole string at once is enough: the separators are ASCII,
    which never completes or continues a multi-byte sequence.
    """
    try:
        text = unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeError:
        return NOT_UTF8.format(where=where)
    if "\x00" in text:
        return NUL.format(where=where)
    return ""


def url_tween_factory(
    handler: Callable[[Request], Response], registry: Registry
) -> Callable[[Request], Response]:
    """Refuse paths and query strings that are not text before routing reads them."""

    def tween(request: Request) -> Response:
        problem = url_problem(request.environ)
        if problem:
            raise HTTPBadRequest(problem)
        return handler(request)

    return tween


# -- form bodies -----------------------------------------------------------------


def form_problem(request: Request, core: CoreSettings) -> str:
    """Why the form body of ``request`` is refused, or ``""``.

    Counts fields and measures part headers in one scan of the raw body,
    and only then lets WebOb parse it, to look for NUL characters.
    """
    if not request.is_body_readable:
        return ""
    request.make_body_seekable()
    body = request.body_file_raw
    body.seek(0)
    try:
        if request.content_type == "multipart/form-data":
            problem = _multipart_problem(request, body, core)
        else:
            problem = _urlencoded_problem(body, core)
    finally:
        body.seek(0)
    if problem:
        return problem
    for name, value in request.POST.items():
        # A part without a name has None for one.
        if (isinstance(name, str) and "\x00" in name) or (
            isinstance(value, str) and "\x00" in value
        ):
            return NUL.format(where="form")
    return ""


def _urlencoded_problem(body: Any, core: CoreSettings) -> str:
    """Count the fields of a URL-encoded body and check that they decode, in chunks.

    A chunk is checked up to its last ``&``: neither a percent escape nor
    a UTF-8 sequence spans one.
    """
    separators = 0
    rest = b""
    seen = False
    while chunk := body.read(_CHUNK):
        seen = True
        separators += chunk.count(b"&")
        if separators + 1 > core.max_form_fields:
            return _too_many(separators + 1, core)
        data = rest + chunk
        cut = data.rfind(b"&")
        if cut >= 0:
            problem = _encoded_text_problem(data[:cut], "form")
            if problem:
                return problem
            rest = data[cut + 1 :]
        else:
            rest = data
    if not seen:
        return ""
    return _encoded_text_problem(rest, "form")


def _too_many(fields: int, core: CoreSettings) -> str:
    if fields > core.max_form_fields:
        return (
            f"The form has more than {core.max_form_fields} fields, more than this "
            "site accepts; send fewer."
        )
    return ""


def _multipart_problem(request: Request, body: Any, core: CoreSettings) -> str:
    message = email.message.Message()
    message["Content-Type"] = request.headers.get("Content-Type", "")
    boundary = message.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        return "The multipart body's boundary is missing or malformed."
    parts, header_too_long = scan_multipart(
        body,
        boundary.encode("latin-1", "replace"),
        max_parts=core.max_form_fields,
        max_header_size=core.max_form_part_header_size,
    )
    if parts > core.max_form_fields:
        return _too_many(parts, core)
    if header_too_long:
        return (
            f"A part of the form has headers longer than "
            f"{core.max_form_part_header_size} bytes, more than this site accepts."
        )
    return ""


def scan_multipart(
    body: Any, boundary: bytes, *, max_parts: int, max_header_size: int
) -> tuple[int, bool]:
    """Count the parts of a multipart body and check their headers' size.

    Reads ``body`` in chunks and stops as soon as it has seen more than
    ``max_parts`` parts or a part whose header block (up to the blank
    line) is longer than ``max_header_size`` bytes. Returns the number of
    parts seen and whether a header block was too long.
    """
    delimiter = b"--" + boundary
    # Enough to hold a delimiter and the header block after it.
    window = len(delimiter) + max_header_size + 4
    buffer = b""
    position = 0
    parts = 0
    while True:
        chunk = body.read(_CHUNK)
        done = not chunk
        buffer += chunk
        while True:
            found = buffer.find(delimiter, position)
            if found < 0:
                # A delimiter may still begin in the last few bytes.
                position = max(position, len(buffer) - len(delimiter) + 1)
                break
            if not done and len(buffer) < found + window:
                position = found  # read more before judging this part
                break
            start = found + len(delimiter)
            if buffer[start : start + 2] == b"--":
                return parts, False  # the closing delimiter
            parts += 1
            if parts > max_parts:
                return parts, False
            end = buffer.find(b"\r\n\r\n", start, start + max_header_size + 4)
            if end < 0:
                # The headers are too long, or the body ends before they do.
                return parts, len(buffer) - start > max_header_size + 4
            position = end + 4
        if done:
            return parts, False
        buffer = buffer[position:]
        position = 0


def input_limits_deriver(view: Any, info: Any) -> Any:
    """View deriver: refuse a form body over the core's limits before anything parses it."""
    # Error views answer for a request that may be the very one refused.
    if info.options.get("input_limits") is False or info.exception_only:
        return view
    registry = info.registry
    core: list[CoreSettings] = []

    def checked(context: Any, request: Request) -> Response:
        content_type = request.environ.get("CONTENT_TYPE")
        if content_type and content_type.split(";", 1)[0].strip().lower() in _FORM_TYPES:
            if not core:
                core.append(app_state(registry).core)
            problem = form_problem(request, core[0])
            if problem:
                raise HTTPBadRequest(problem)
        return view(context, request)

    return checked


input_limits_deriver.options = ("input_limits",)  # type: ignore[attr-defined]


# -- JSON ---------------------------------------------------------------------------


def json_body(request: Request) -> Any:
    """The request's JSON body, parsed once per request.

    Raises 400 with a sentence for a body that is not UTF-8, not JSON,
    nested deeper than ``pyramidion.max_json_depth`` or holding a NUL
    character. An empty body is ``None``.
    """
    environ = request.environ
    if _JSON in environ:
        return environ[_JSON]
    max_depth = app_state(request.registry).core.max_json_depth
    raw = request.body
    if not raw:
        value = None
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeError:
            raise HTTPBadRequest(NOT_UTF8.format(where="JSON body")) from None
        try:
            value = json.loads(text)
        except RecursionError:
            raise HTTPBadRequest(_too_deep(max_depth)) from None
        except ValueError:
            raise HTTPBadRequest("The body is not valid JSON.") from None
        problem = _json_problem(value, max_depth)
        if problem:
            raise HTTPBadRequest(problem)
    environ[_JSON] = value
    return value


def _too_deep(max_depth: int) -> str:
    return (
        f"The JSON body is nested more than {max_depth} levels deep, more than this site accepts."
    )


def _json_problem(value: Any, max_depth: int) -> str:
    """Why a parsed JSON value is refused, or ``""``; walks it without recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return NUL.format(where="JSON body")
        elif isinstance(item, dict | list):
            if depth > max_depth:
                return _too_deep(max_depth)
            if isinstance(item, dict):
                stack.extend((key, depth) for key in item)
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)
    return ""


# -- numbers that must fit a column ---------------------------------------------------

#: The range of each integer type on every database Pyramidion runs on
#: (PostgreSQL's are the narrow ones; SQLite stores 64 bits in any).
_INTEGER_BITS = ((sa.SmallInteger, 16), (sa.BigInteger, 64), (sa.Integer, 32))


def integer_bounds(type_: Any) -> tuple[int, int] | None:
    """The smallest and largest value an integer column type stores, or None."""
    if isinstance(type_, sa.types.TypeDecorator):
        type_ = type_.impl_instance
    for kind, bits in _INTEGER_BITS:
        if isinstance(type_, kind):
            return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return None


def column_value(column: Any, raw: Any) -> Any:
    """``raw`` (a URL segment, say) converted for ``column``, or None if it cannot be.

    None for a value the column's Python type does not parse, an integer
    outside the column's range, or text with a NUL character: a row looked
    up by such a key cannot exist, so the caller answers 404.
    """
    if raw is None:
        return None
    if isinstance(raw, str) and "\x00" in raw:
        return None
    try:
        value = column.type.python_type(raw)
    except (TypeError, ValueError, NotImplementedError):
        return None
    bounds = integer_bounds(column.type)
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        return None
    return value


def includeme(config: Configurator) -> None:
    """Register the body size and URL tweens (under the host allowlist) and
    the form deriver."""
    config.add_tween(
        "pyramidion.inputs.body_size_tween_factory",
        under="pyramidion.web.host_allowlist_tween_factory",
    )
    config.add_tween(
        "pyramidion.inputs.url_tween_factory",
        under="pyramidion.inputs.body_size_tween_factory",
    )
    config.add_view_deriver(
        input_limits_deriver, "pyramidion.input_limits", under="secured_view", over="csrf_view"
    )
