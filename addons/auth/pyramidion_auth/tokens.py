"""Random secrets, one-time tokens (password reset, email verification)
and API tokens. Only digests of tokens are stored."""

from __future__ import annotations

import datetime
import hashlib
import logging
import secrets
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import TOKEN_SCOPES, WRITE_SCOPE, ApiToken, OneTimeToken, User
from .services import auth_settings, current_time

if TYPE_CHECKING:
    from pyramid.registry import Registry

__all__ = [
    "api_tokens_of",
    "create_api_token",
    "digest",
    "find_one_time_token",
    "issue_one_time_token",
    "new_secret",
    "token_json",
]

log = logging.getLogger("pyramidion_auth")


def new_secret() -> str:
    """A fresh random token with 256 bits of entropy, URL-safe."""
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored.

    A plain hash is enough: the tokens are random with 256 bits of
    entropy, so there is nothing to guess and no need for a slow hash.
    """
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue_one_time_token(
    registry: Registry, dbsession: Session, user: User, purpose: Literal["reset", "verify"]
) -> str:
    """A new single-use token for ``user``; only its digest is stored."""
    settings = auth_settings(registry)
    lifetime = (
        settings.reset_token_lifetime
        if purpose == "reset"
        else settings.verification_token_lifetime
    )
    token = new_secret()
    now = current_time(registry)
    dbsession.add(
        OneTimeToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=digest(token),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    dbsession.flush()
    return token


def find_one_time_token(
    registry: Registry, dbsession: Session, token: str, purpose: str
) -> OneTimeToken | None:
    """The unused, unexpired token of that purpose, or None."""
    if not token or len(token) > 128:
        return None
    row = dbsession.scalars(
        select(OneTimeToken).where(
            OneTimeToken.token_hash == digest(token), OneTimeToken.purpose == purpose
        )
    ).first()
    if row is None or row.used_at is not None or row.expires_at <= current_time(registry):
        return None
    return row


def create_api_token(
    registry: Registry,
    dbsession: Session,
    user: User,
    name: str,
    lifetime: datetime.timedelta | None = None,
    scope: str = WRITE_SCOPE,
) -> tuple[ApiToken, str]:
    """A new API token for ``user``: the row and the token, shown once.

    ``scope`` is ``"write"`` (whatever the user may do, new tokens
    excepted) or ``"read"`` (every unsafe method refused); any other
    value is a :class:`ValueError`.
    """
    if scope not in TOKEN_SCOPES:
        raise ValueError(f"token scope {scope!r}: choose one of {', '.join(TOKEN_SCOPES)}")
    longest = auth_settings(registry).api_token_lifetime
    lifetime = min(lifetime or longest, longest)
    token = "pyr_" + new_secret()
    now = current_time(registry)
    row = ApiToken(
        user_id=user.id,
        name=name.strip()[:100] or "token",
        token_hash=digest(token),
        hint=token[:8],
        scope=scope,
        created_at=now,
        expires_at=now + lifetime,
    )
    dbsession.add(row)
    dbsession.flush()
    log.info("user %s created API token %s (%s)", user.id, row.id, scope)
    return row, token


def api_tokens_of(dbsession: Session, user: User) -> list[ApiToken]:
    """``user``'s API tokens, oldest first."""
    return list(
        dbsession.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
        )
    )


def token_json(token: ApiToken, now: datetime.datetime) -> dict[str, Any]:
    """What the JSON API says about a token (never the token itself)."""
    return {
        "id": token.id,
        "name": token.name,
        "hint": token.hint,
        "scope": token.scope,
        "created_at": token.created_at.isoformat() + "Z",
        "expires_at": token.expires_at.isoformat() + "Z",
        "expired": token.expires_at <= now,
    }
