"""Idempotent retries of unsafe requests: the ``Idempotency-Key`` header.

A client that may retry a POST, PUT, PATCH or DELETE (because the response
was lost: a timeout, a reset, a process killed after it committed) sends
the same unique ``Idempotency-Key`` header with each attempt (IETF draft
httpapi-idempotency-key-header). The first attempt does the work; a retry
with the same key, method, path and body gets the first response (status,
the headers that describe it, body) instead of doing it again, from any
process, since keys are kept in the database (``pyramidion_idempotency_keys``)
for ``pyramidion.idempotency_ttl`` seconds.

- The same key with a different request (method and path, or body) is
  answered 422; a key whose first request is still running gets 409; a
  malformed key gets 400. Requests without the header are not touched.
- Two tweens do it. :func:`claim_tween_factory`, just above pyramid_tm,
  claims the key in a short transaction of its own (so a concurrent
  duplicate sees it in progress) and releases it when the request's
  transaction did not commit. :func:`record_tween_factory`, just below
  pyramid_tm, writes the response into the claimed row with
  ``request.dbsession``, inside the request's own transaction: a committed
  request's response is never lost, and a rolled-back one (an error, a 4xx
  or 5xx response, a conflict that pyramid_retry retries) leaves no key.
- Set-Cookie and per-request headers are not stored or replayed; a body
  larger than ``pyramidion.idempotency_max_body_size`` is not stored, and
  its replay carries the status and headers only.
- A claim whose process died mid-request is taken over after
  ``pyramidion.idempotency_lock_timeout`` seconds. Expired keys are deleted
  whenever a key is claimed.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyramid.response import Response
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from .models import IdempotencyRecord
from .state import app_state, get_database

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.registry import Registry
    from pyramid.request import Request
    from sqlalchemy.engine import Row

__all__ = [
    "HEADER",
    "STORED_HEADERS",
    "claim_tween_factory",
    "includeme",
    "record_tween_factory",
]

Handler = Callable[["Request"], Response]

#: The request header that carries the key.
HEADER = "Idempotency-Key"
#: Response headers stored and replayed; others (Set-Cookie, Date, the
#: request id, security headers added on the way out) are per response.
STORED_HEADERS = frozenset(
    {
        "content-type",
        "content-language",
        "content-location",
        "content-disposition",
        "location",
        "etag",
        "last-modified",
        "cache-control",
        "retry-after",
    }
)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_KEY_LENGTH = 255
_ENVIRON_KEY = "pyramidion.idempotency"


@dataclass(frozen=True)
class _Claim:
    id: str
    token: str
    max_body_size: int


def _problem(status: int, title: str, detail: str) -> Response:
    response = Response(
        json_body={"type": "about:blank", "title": title, "status": status, "detail": detail},
        status=status,
        content_type="application/problem+json",
        charset="utf-8",
    )
    return response


def _key(request: Request) -> str | None:
    """The key of the request's header, its quotes removed (the draft makes
    it a structured-field string), or None without the header."""
    value: str | None = request.headers.get(HEADER)
    if value is None:
        return None
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value


def _fingerprint(request: Request) -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path_qs}\n{request.content_type}\n".encode())
    # A seekable copy lets the view read the body afterwards.
    request.make_body_seekable()
    body_file = request.body_file_raw
    body_file.seek(0)
    for chunk in iter(lambda: body_file.read(65536), b""):
        digest.update(chunk)
    body_file.seek(0)
    return digest.hexdigest()


def _replay(record: Row[Any]) -> Response:
    headers = [(name, value) for name, value in json.loads(record.headers or "[]")]
    if record.body is None:
        # The body was too large to store: status and headers only.
        headers = [(n, v) for n, v in headers if n.lower() != "content-type"]
    response = Response(status=record.status or 200)
    response.headerlist = headers
    if record.body is not None:
        response.body = record.body
    response.headers["Idempotency-Replayed"] = "true"
    return response


def claim_tween_factory(handler: Handler, registry: Registry) -> Handler:
    """Answer a retry from its stored response, or claim the key for the
    request and release the claim unless the request's transaction
    committed. Registered just above pyramid_tm."""
    core = app_state(registry).core
    if not core.idempotency:
        return handler
    engine = get_database(registry).engine
    ttl = core.idempotency_ttl
    lock_timeout = core.idempotency_lock_timeout
    max_body_size = core.idempotency_max_body_size
    table = IdempotencyRecord.__table__

    def claim_tween(request: Request) -> Response:
        if request.method not in UNSAFE_METHODS:
            return handler(request)
        key = _key(request)
        if key is None:
            return handler(request)
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            return _problem(
                400,
                "Bad Request",
                f"The {HEADER} header must be 1 to {MAX_KEY_LENGTH} printable "
                'characters, for example "8e03978e-40d5-43e8-bc93-6894a57f9324".',
            )
        record_id = hashlib.sha256(f"{request.method} {request.path}\n{key}".encode()).hexdigest()
        fingerprint = _fingerprint(request)
        token = secrets.token_hex(16)
        now = time.time()
        try:
            with engine.begin() as connection:
                # Expired keys go as new ones come (the index on expires_at
                # keeps this cheap), so the table holds one TTL's worth.
                connection.execute(
                    delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= now)
                )
                existing = connection.execute(select(table).where(table.c.id == record_id)).first()
                stale = (
                    existing is not None
                    and existing.status is None
                    and existing.claimed_at + lock_timeout <= now
                )
                if existing is not None and stale:
                    connection.execute(
                        delete(IdempotencyRecord).where(
                            IdempotencyRecord.id == record_id,
                            IdempotencyRecord.claimed_at == existing.claimed_at,
                        )
                    )
                    existing = None
                if existing is None:
                    connection.execute(
                        insert(IdempotencyRecord).values(
                            id=record_id,
                            fingerprint=fingerprint,
                            claim=token,
                            claimed_at=now,
                            expires_at=now + ttl,
                        )
                    )
        except IntegrityError:
            # Another request with this key claimed it between our read and
            # our insert.
            return _in_progress()
        if existing is not None:
            if existing.fingerprint != fingerprint:
                return _problem(
                    422,
                    "Unprocessable Content",
                    f"This {HEADER} was already used for a different request "
                    "(another body). Send a new key for a new request.",
                )
            if existing.status is None:
                return _in_progress()
            return _replay(existing)

        request.environ[_ENVIRON_KEY] = _Claim(record_id, token, max_body_size)
        try:
            response = handler(request)
        finally:
            # Still claimed by us: the request's transaction did not commit
            # its response, so nothing of it was kept; a retry may run.
            with engine.begin() as connection:
                connection.execute(
                    delete(IdempotencyRecord).where(
                        IdempotencyRecord.id == record_id, IdempotencyRecord.claim == token
                    )
                )
            request.environ.pop(_ENVIRON_KEY, None)
        return response

    return claim_tween


def _in_progress() -> Response:
    response = _problem(
        409,
        "Conflict",
        f"A request with this {HEADER} is still being processed. Retry it "
        "later to get its response.",
    )
    response.headers["Retry-After"] = "1"
    return response


def record_tween_factory(handler: Handler, registry: Registry) -> Handler:
    """Write the response of a request that claimed a key into its row,
    inside the request's transaction. Registered just below pyramid_tm."""
    if not app_state(registry).core.idempotency:
        return handler

    def record_tween(request: Request) -> Response:
        response = handler(request)
        claim: _Claim | None = request.environ.get(_ENVIRON_KEY)
        if claim is None:
            return response
        headers = [(n, v) for n, v in response.headerlist if n.lower() in STORED_HEADERS]
        length = response.content_length
        body: bytes | None = None
        if length is None or length <= claim.max_body_size:
            body = response.body
            if len(body) > claim.max_body_size:
                body = None
        request.dbsession.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.id == claim.id, IdempotencyRecord.claim == claim.token)
            .values(status=response.status_int, headers=json.dumps(headers), body=body, claim=None)
        )
        return response

    return record_tween


def includeme(config: Configurator) -> None:
    """Register the two tweens around pyramid_tm's; reads the
    ``pyramidion.idempotency*`` settings (through the core's settings)."""
    config.add_tween(
        "pyramidion.idempotency.claim_tween_factory", over="pyramid_tm.tm_tween_factory"
    )
    config.add_tween(
        "pyramidion.idempotency.record_tween_factory", under="pyramid_tm.tm_tween_factory"
    )
