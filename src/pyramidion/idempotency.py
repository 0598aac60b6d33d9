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
- Forms get the same protection from a one-time token in a hidden field
  (:data:`FORM_TOKEN_FIELD`, made by :func:`new_form_token`): the view
  handling the POST calls :func:`claim_form_token` after its work; it
  uses the same table, TTL and record tween, the token's row written in
  the request's own transaction and bound to the browser's CSRF token.
  The forms add-on's ``FormView`` does it.
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

from pyramid.csrf import get_csrf_token
from pyramid.httpexceptions import HTTPBadRequest, HTTPConflict
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
    from sqlalchemy.orm import Session

__all__ = [
    "FORM_TOKEN_FIELD",
    "HEADER",
    "STORED_HEADERS",
    "claim_form_token",
    "claim_tween_factory",
    "includeme",
    "new_form_token",
    "record_tween_factory",
]

Handler = Callable[["Request"], Response]

#: The request header that carries the key.
HEADER = "Idempotency-Key"
#: The hidden field that carries a form's one-time token.
FORM_TOKEN_FIELD = "idempotency_key"  # noqa: S105 (a field name, not a secret)
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


def new_form_token() -> str:
    """A fresh one-time token for a form's hidden :data:`FORM_TOKEN_FIELD`."""
    return secrets.token_urlsafe(24)


def _form_record_id(request: Request) -> str | None:
    """The row id of the form token the request carries, bound to the
    browser (its CSRF token); None without a token or when forms
    are not protected (idempotency off, a safe method, or the request's
    Idempotency-Key header already protects it)."""
    core = app_state(request.registry).core
    if not core.idempotency or request.method not in UNSAFE_METHODS:
        return None
    if _ENVIRON_KEY in request.environ:
        return None
    value = request.POST.get(FORM_TOKEN_FIELD)
    if not isinstance(value, str) or not value:
        return None
    if len(value) > MAX_KEY_LENGTH or not value.isprintable():
        raise HTTPBadRequest("The form's one-time token is malformed; reload the form.")
    # Bound to the browser's CSRF token (its cookie), which another session
    # does not have. Not to the user id: looking it up may read the
    # database in the request's transaction, which on SQLite must not read
    # before a view's writes in a transaction of their own.
    return hashlib.sha256(
        f"form {request.method} {request.path}\n{value}\n{get_csrf_token(request)}".encode()
    ).hexdigest()


def _stored_form_response(session: Session, record_id: str) -> Response | None:
    table = IdempotencyRecord.__table__
    now = time.time()
    row = session.execute(
        select(table).where(table.c.id == record_id, table.c.expires_at > now)
    ).first()
    if row is None or row.status is None:
        return None
    return _replay(row)


def claim_form_token(request: Request) -> Response | None:
    """Mark the form's one-time token used by this request, once its work
    is done; or, when it was already used, give the first response back.

    Call it at the end of a successful submission, in the view that
    handles a form's POST (not after a refused one: a form answered 4xx
    keeps its token usable). The token is the form's hidden
    :data:`FORM_TOKEN_FIELD` (see :func:`new_form_token`), bound to the
    browser's session (its CSRF token): another session sending it is not
    answered from it. Its row is written in the request's transaction, and
    the response stored into it when that transaction commits, so both go
    or stay together; rows expire after ``pyramidion.idempotency_ttl``
    like Idempotency-Key's.

    Returns None when the token was new (or absent, or idempotency is
    off). When the token was already used successfully (a double click, a
    reload, a retry after a lost response, on any process; a duplicate
    running at the same time waits on the first's row), this request's
    transaction is doomed, so none of its work is kept, and the first
    response is returned, with ``Idempotency-Replayed: true``, for the
    view to send instead. A conflict (409) is raised when that response
    is not stored yet. The work is done, then undone, rather than skipped:
    a check before it would read in the request's transaction, which on
    SQLite must not read before a view's own-transaction writes.
    """
    record_id = _form_record_id(request)
    if record_id is None:
        return None
    core = app_state(request.registry).core
    dbsession = request.dbsession
    token = secrets.token_hex(16)
    now = time.time()
    # The row is written last, in the request's transaction: on SQLite a
    # write in a transaction of its own would move the request's snapshot
    # (its later writes would conflict), or wait behind the request's own
    # writes. A form's token stands for the submission, not its content,
    # so the body is not fingerprinted.
    try:
        with dbsession.begin_nested():
            dbsession.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.id == record_id, IdempotencyRecord.expires_at <= now
                )
            )
            dbsession.execute(
                insert(IdempotencyRecord).values(
                    id=record_id,
                    fingerprint="form",
                    claim=token,
                    claimed_at=now,
                    expires_at=now + core.idempotency_ttl,
                )
            )
    except IntegrityError:
        request.tm.doom()
        first = _stored_form_response(dbsession, record_id)
        if first is None:
            raise _form_in_progress() from None
        return first
    request.environ[_ENVIRON_KEY] = _Claim(record_id, token, core.idempotency_max_body_size)
    return None


def _form_in_progress() -> HTTPConflict:
    return HTTPConflict(
        detail="This form was already sent and is still being processed. "
        "Wait a moment, then reload the page to see the result.",
        headers={"Retry-After": "1"},
    )


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
