"""The auth add-on's tables: users, groups, memberships, sessions, tokens,
one-time tokens and login throttle counters.

Times are naive UTC everywhere (``utcnow()``), so that SQLite and
PostgreSQL store and compare them the same way. Secrets (session ids, API
tokens, one-time tokens) are stored only as SHA-256 digests: a copy of the
database does not let anyone log in.
"""

from __future__ import annotations

import datetime
import unicodedata
from typing import Any

from pyramid.authorization import Allow, Deny
from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from pyramidion import Base

#: The group whose members may do everything (``group:admin``).
ADMIN_GROUP = "admin"

#: The permission to create API tokens and change one's password.
CREDENTIALS_PERMISSION = "auth.credentials.edit"

#: The principal of a request authenticated by an API token.
BEARER_PRINCIPAL = "auth:bearer"

#: A token of this scope may only read: every unsafe method is refused.
READ_SCOPE = "read"
#: A token of this scope may do whatever its user may (tokens excepted).
WRITE_SCOPE = "write"
#: The scopes an API token can have.
TOKEN_SCOPES = (READ_SCOPE, WRITE_SCOPE)


def utcnow() -> datetime.datetime:
    """The current time as naive UTC, the form every auth table stores."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def normalize_email(email: str) -> str:
    """The form an email address is stored and looked up in.

    NFKC-normalised, stripped and lower-cased: addresses that differ only
    in case are one account (mail providers treat them so, and people type
    them so).
    """
    return unicodedata.normalize("NFKC", email).strip().lower()


class User(Base):
    """A person who can log in. ``email`` is unique in its normalised form."""

    __tablename__ = "auth_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    #: An Argon2id hash, or None for an account that cannot log in with a password.
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    email_verified_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, default=None)
    password_changed_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, default=None)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(
        DateTime, default=utcnow, onupdate=utcnow
    )

    groups: Mapped[list[Group]] = relationship(
        secondary="auth_memberships", back_populates="members", order_by="Group.name"
    )

    @validates("email")
    def _normalize_email(self, _key: str, value: str) -> str:
        # Every write through the ORM stores the normalised form, so the
        # unique constraint is case-insensitive on SQLite and PostgreSQL alike.
        return normalize_email(value)

    @property
    def __acl__(self) -> list[tuple[str, str, Any]]:
        # A user may see and change their own account; admins may do
        # everything through the root's ACL.
        # Creating API tokens and changing the password take a session:
        # a request authenticated by an API token never gets new credentials.
        return [
            (Deny, BEARER_PRINCIPAL, CREDENTIALS_PERMISSION),
            (Allow, f"user:{self.id}", ("view", "auth.account.edit", CREDENTIALS_PERMISSION)),
        ]

    def __repr__(self) -> str:
        return f"<User {self.id}>"


class Group(Base):
    """A named set of users; members have the principal ``group:<name>``."""

    __tablename__ = "auth_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(200), default="")

    members: Mapped[list[User]] = relationship(
        secondary="auth_memberships", back_populates="groups"
    )


class Membership(Base):
    """A user's membership of a group."""

    __tablename__ = "auth_memberships"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("auth_users.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[int] = mapped_column(
        ForeignKey("auth_groups.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=utcnow)


class ServerSession(Base):
    """A server-side session. ``id`` is the SHA-256 of the cookie's value."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("auth_users.id", ondelete="CASCADE"), index=True, default=None
    )
    #: The session's dictionary, as JSON.
    data: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime.datetime] = mapped_column(DateTime)


class ApiToken(Base):
    """A named bearer token for JSON clients, stored as its SHA-256."""

    __tablename__ = "auth_api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("auth_users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The first characters of the token, so its owner can tell tokens apart.
    hint: Mapped[str] = mapped_column(String(16))
    #: ``"read"`` or ``"write"`` (:data:`TOKEN_SCOPES`). The server default
    #: lets code from before scopes insert tokens into a migrated database.
    scope: Mapped[str] = mapped_column(String(8), default=WRITE_SCOPE, server_default=WRITE_SCOPE)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime.datetime] = mapped_column(DateTime)

    user: Mapped[User] = relationship()


class OneTimeToken(Base):
    """A single-use, expiring token sent by email (password reset, verification)."""

    __tablename__ = "auth_one_time_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("auth_users.id", ondelete="CASCADE"), index=True
    )
    #: ``"reset"`` or ``"verify"``.
    purpose: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime.datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, default=None)

    user: Mapped[User] = relationship()


class ThrottleCounter(Base):
    """Failed attempts for one key (an account or a client address) in a window.

    Written outside the request's transaction, so aborting a request never
    forgets a failure.
    """

    __tablename__ = "auth_throttle_counters"

    #: ``account:<sha256 of the email>``, ``address:<ip>`` or ``reset:<sha256>``.
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime.datetime] = mapped_column(DateTime)
    last_failure_at: Mapped[datetime.datetime] = mapped_column(DateTime)
