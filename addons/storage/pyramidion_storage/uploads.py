"""Checking what users upload: names, sizes and content types.

Pure functions and a streaming multipart reader; nothing here touches the
database or the backend.
"""

from __future__ import annotations

import functools
import mimetypes
import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import IO

__all__ = [
    "ContentTypeMismatch",
    "ContentTypeNotAllowed",
    "FileTooLarge",
    "UploadRejected",
    "check_content_type",
    "sanitize_filename",
]


class UploadRejected(ValueError):
    """An upload that cannot be stored; the message is for the uploader."""


class FileTooLarge(UploadRejected):
    """The file is larger than ``storage.max_upload_size``."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"The file is larger than the limit of {format_size(limit)}.")
        self.limit = limit


class ContentTypeMismatch(UploadRejected):
    """The file's content is not what its name or declared type says."""


class ContentTypeNotAllowed(UploadRejected):
    """The file's type is not in ``storage.allowed_content_types``."""


def format_size(size: int) -> str:
    """``10485760`` -> ``"10 MiB"``: sizes as people read them."""
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


# -- filenames ------------------------------------------------------------------

# Names Windows refuses whatever their extension; a file saved under one
# by someone who downloads it would misbehave.
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.IGNORECASE)
_UNSAFE = re.compile(r'[<>:"/\\|?*]')
MAX_FILENAME_BYTES = 200


def sanitize_filename(name: str, default: str = "file") -> str:
    """A filename safe to show and to offer in Content-Disposition.

    Keeps only the last path segment (``../../etc/passwd`` -> ``passwd``,
    ``C:\\\\x\\\\a.txt`` -> ``a.txt``), removes control and formatting
    characters (including right-to-left overrides), characters Windows
    forbids and leading or trailing dots and spaces, prefixes names Windows
    reserves (``CON``, ``nul.txt``) with ``_``, and shortens the name to 200
    UTF-8 bytes keeping its extension. Returns ``default`` when nothing is
    left. The name is only ever metadata: files are stored under keys.
    """
    name = unicodedata.normalize("NFC", str(name))
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] not in {"C", "Z"} or ch == " ")
    name = _UNSAFE.sub("_", name)
    name = re.sub(r"\s+", " ", name).strip(" .")
    if not name:
        return default
    if _RESERVED.match(name):
        name = "_" + name
    if len(name.encode()) > MAX_FILENAME_BYTES:
        stem, dot, ext = name.rpartition(".")
        if not dot or len(ext.encode()) > 20:
            stem, ext = name, ""
        room = MAX_FILENAME_BYTES - len(ext.encode()) - (1 if ext else 0)
        stem = stem.encode()[:room].decode(errors="ignore").rstrip(" .")
        name = f"{stem}.{ext}" if ext else stem
    return name or default


# -- content types --------------------------------------------------------------

_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/x-png": "image/png",
    "application/x-zip-compressed": "application/zip",
    "application/x-pdf": "application/pdf",
    "audio/mp3": "audio/mpeg",
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "application/x-msdownload": "application/x-msdownload",
    "application/x-dosexec": "application/x-msdownload",
    "application/vnd.microsoft.portable-executable": "application/x-msdownload",
    "application/x-msdos-program": "application/x-msdownload",
}

# Formats that are ZIP archives inside: a ZIP signature fits each of them.
_ZIP_BASED = frozenset(
    {
        "application/zip",
        "application/java-archive",
        "application/epub+zip",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    }
)

#: How many leading bytes the content check looks at.
SNIFF_BYTES = 8192


@functools.cache
def _mime_types() -> mimetypes.MimeTypes:
    # Python's built-in table only: the system's /etc/mime.types differs
    # between machines, and the check must not.
    return mimetypes.MimeTypes()


@functools.cache
def _signature_types() -> frozenset[str]:
    """Types the sniffer recognises: a file claiming one must look like it."""
    import filetype  # type: ignore[import-untyped]

    types = {normalize_content_type(t.mime) for t in filetype.TYPES}
    return frozenset(types - {"application/octet-stream"})


def normalize_content_type(value: str | None) -> str:
    """Lower-case, without parameters, with common aliases resolved."""
    if not value:
        return ""
    value = value.split(";", 1)[0].strip().lower()
    return _ALIASES.get(value, value)


def type_of_name(filename: str) -> str:
    """The content type a filename's extension suggests, or ``""``."""
    guessed, _encoding = _mime_types().guess_type(filename, strict=False)
    return normalize_content_type(guessed)


def sniff(head: bytes) -> str:
    """The content type the first bytes show, or ``""`` when they show none."""
    # Imported at the first upload, not at start-up: the sniffer's fifteen
    # modules are memory every process would hold whether or not it ever
    # receives a file.
    import filetype

    kind = filetype.guess(head)
    return normalize_content_type(kind.mime) if kind is not None else ""


def _compatible(declared: str, sniffed: str) -> bool:
    if declared == sniffed:
        return True
    if sniffed == "image/apng":
        return declared == "image/png"
    return sniffed == "application/zip" and declared in _ZIP_BASED


def check_content_type(
    filename: str, declared: str | None, head: bytes, allowed: Iterable[str] = ()
) -> str:
    """The content type to store for a file, after checking it.

    ``declared`` is what the client sent, ``head`` the file's first bytes.
    When the bytes have a recognisable signature, that type wins, and a
    declared type or a filename extension that says otherwise is a
    :class:`ContentTypeMismatch` (an ``.exe`` sent as ``image/png``, a PNG
    named ``.pdf``). When they have none, a declared or named type that
    would have one is a mismatch too; otherwise the declared type, then
    the extension's, then ``application/octet-stream`` is used. ``allowed``
    patterns (``image/*``) restrict the result
    (:class:`ContentTypeNotAllowed`).
    """
    # application/octet-stream says "unknown", not "binary of some kind".
    claimed, named = (
        "" if t == "application/octet-stream" else t
        for t in (normalize_content_type(declared), type_of_name(filename))
    )
    sniffed = sniff(head)
    if sniffed:
        for what, value in (("sent as", claimed), ("named", named)):
            if value and not _compatible(value, sniffed):
                raise ContentTypeMismatch(
                    f"The file is {what} {value}, but its content is {sniffed}."
                )
        result = sniffed
    else:
        for what, value in (("sent as", claimed), ("named", named)):
            if value in _signature_types():
                raise ContentTypeMismatch(
                    f"The file is {what} {value}, but its content is not {value}."
                )
        result = claimed or named or "application/octet-stream"
    patterns = tuple(allowed)
    if patterns and not any(_matches(result, p) for p in patterns):
        raise ContentTypeNotAllowed(
            f"Files of type {result} are not accepted here (accepted: {', '.join(patterns)})."
        )
    return result


def _matches(content_type: str, pattern: str) -> bool:
    pattern = pattern.strip().lower()
    if pattern.endswith("/*"):
        return content_type.startswith(pattern[:-1])
    return content_type == normalize_content_type(pattern)


# -- reading ----------------------------------------------------------------------


def chunks_of(data: bytes | IO[bytes] | Iterable[bytes], size: int = 64 * 1024) -> Iterator[bytes]:
    """Iterate ``data`` (bytes, a binary file or an iterable of bytes) in chunks."""
    if isinstance(data, bytes | bytearray | memoryview):
        view = memoryview(data)
        for start in range(0, len(view), size):
            yield bytes(view[start : start + size])
        return
    read = getattr(data, "read", None)
    if read is not None:
        while True:
            chunk = read(size)
            if not chunk:
                return
            yield chunk
    else:
        for chunk in data:
            if chunk:
                yield bytes(chunk)


def take_head(chunks: Iterator[bytes], size: int = SNIFF_BYTES) -> tuple[bytes, Iterator[bytes]]:
    """Read up to ``size`` bytes from ``chunks``; return them and an iterator
    that yields everything, those bytes included."""
    head = b""
    while len(head) < size:
        chunk = next(chunks, None)
        if chunk is None:
            break
        head += chunk

    def everything() -> Iterator[bytes]:
        if head:
            yield head
        yield from chunks

    return head, everything()
