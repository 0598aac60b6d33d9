"""Accounts: users, groups, membership, passwords and logging in.

The Python API that add-ons building on auth use (see the add-on's
README): :func:`create_user`, :func:`find_user`, :func:`set_password`,
:func:`deactivate_user`, :func:`activate_user`, :func:`send_password_reset`;
:func:`ensure_group`, :func:`find_group`, :func:`list_groups`,
:func:`add_to_group`, :func:`remove_from_group`, :func:`set_groups`,
:func:`groups_of`. Each works in the caller's transaction
(``request.dbsession`` in a view, the command's session in a command).
Ending sessions and revoking API tokens are
:func:`pyramidion_auth.sessions.revoke_sessions` and
:func:`pyramidion_auth.tokens.revoke_api_tokens`.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from pyramid.csrf import new_csrf_token
from pyramid.security import remember
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from pyramidion import count_login_failure, independent_session

from .interfaces import Clock, PasswordHasher, Refusal, Throttle, ThrottleKey
from .models import (
    ADMIN_GROUP,
    Group,
    Membership,
    OneTimeToken,
    User,
    normalize_email,
)
from .services import auth_settings, current_time, find
from .sessions import DatabaseSession, revoke_sessions
from .settings import AuthSettings
from .tokens import digest, issue_one_time_token, revoke_api_tokens

if TYPE_CHECKING:
    from pyramid.registry import Registry
    from pyramid.request import Request

__all__ = [
    "AccountError",
    "AdminOutcome",
    "LoginOutcome",
    "activate_user",
    "add_to_group",
    "authenticate",
    "check_email",
    "check_group_name",
    "client_address",
    "create_user",
    "deactivate_user",
    "ensure_admin",
    "ensure_group",
    "find_group",
    "find_user",
    "groups_of",
    "list_groups",
    "log_in",
    "remove_from_group",
    "safe_came_from",
    "send_password_reset",
    "set_groups",
    "set_password",
]

log = logging.getLogger("pyramidion_auth")

#: Characters a path keeps as they are in a Location header (RFC 3986's
#: reserved and unreserved ones, and ``%`` of escapes already there).
LOCATION_SAFE = "/?#[]@!$&'()*+,;=:%~-._"

#: What a group name may be (it becomes the principal ``group:<name>``).
GROUP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class LoginOutcome:
    """What :func:`authenticate` decided."""

    user_id: int | None = None
    refusal: Refusal | None = None
    unverified: bool = False


def login_keys(
    settings: AuthSettings, email: str, address: str | None, *, known_address: bool
) -> list[ThrottleKey]:
    """The counters a login attempt for ``email`` from ``address`` is counted in.

    - the pair (account, address): waits after the free attempts, refused
      at ``throttle_account_limit``; a successful login clears it;
    - the address, across accounts: refused at ``throttle_address_limit``;
    - the account, from addresses it never logged in from: refused at
      ``throttle_account_ceiling`` per ``throttle_ceiling_window``. The owner
      at a known address is not counted there, so nobody elsewhere can
      lock them out.
    """
    account = normalize_email(email)
    keys = [
        ThrottleKey(
            f"login:{digest(account + chr(10) + (address or 'unknown'))}",
            settings.throttle_account_limit,
            settings.throttle_free_attempts,
        ),
        ThrottleKey(f"address:{(address or 'unknown')[:80]}", settings.throttle_address_limit),
    ]
    if not known_address:
        keys.append(
            ThrottleKey(
                f"account:{digest(account)}",
                settings.throttle_account_ceiling,
                window=settings.throttle_ceiling_window,
            )
        )
    return keys


def known_address_key(email: str, address: str | None) -> str:
    """The mark left by a successful login of ``email`` from ``address``."""
    return f"known:{digest(normalize_email(email) + chr(10) + (address or 'unknown'))}"


def client_address(request: Request) -> str | None:
    """The address throttling counts by: ``REMOTE_ADDR``, never a header a client sets."""
    address: str | None = request.environ.get("REMOTE_ADDR")
    return address


def authenticate(request: Request, email: str, password: str) -> LoginOutcome:
    """Check an email and password, counting failures in the throttle.

    Returns the user's id on success. An unknown email, a wrong password,
    an inactive account and an over-long password are the same failure,
    and take the same time. Does not use ``request.dbsession``, so a
    failure leaves the request's transaction untouched. Each failure, and
    each attempt the throttle refuses, counts in the core's
    ``pyramidion_login_failures_total`` metric.
    """
    throttle: Throttle = request.find_service(Throttle)
    settings = auth_settings(request.registry)
    address = client_address(request)
    now = request.find_service(Clock).now()
    known = throttle.seen(
        known_address_key(email, address), now - settings.throttle_known_address_lifetime
    )
    keys = login_keys(settings, email, address, known_address=known)
    refusal = throttle.attempt(keys, now)
    if refusal is not None:
        log.info("login refused by the throttle for %s seconds", refusal.retry_after)
        count_login_failure(request)
        return LoginOutcome(refusal=refusal)
    with independent_session(request.registry) as session:
        row = session.execute(
            select(User.id, User.password_hash, User.is_active, User.email_verified_at).where(
                User.email == normalize_email(email)
            )
        ).one_or_none()
    password_hash = row.password_hash if row is not None else None
    matches = request.find_service(PasswordHasher).verify(password_hash, password)
    if row is None or not matches or not row.is_active:
        log.info("login failed")
        count_login_failure(request)
        return LoginOutcome()
    pair, *others = keys
    throttle.succeeded(forget=[pair], take_back=others)
    throttle.note(known_address_key(email, address), now)
    if settings.require_email_verification and row.email_verified_at is None:
        log.info("login of user %s refused: email not verified", row.id)
        return LoginOutcome(unverified=True)
    return LoginOutcome(user_id=row.id)


def log_in(request: Request, user: User, password: str) -> None:
    """Start a logged-in session for ``user`` (new session id, new CSRF
    token), rehashing the password if the hashing parameters changed since
    it was stored.

    A CSRF token a page showed before login no longer works afterwards.
    """
    passwords: PasswordHasher = request.find_service(PasswordHasher)
    if user.password_hash is None or passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash(password)
        log.info("password of user %s rehashed with the current parameters", user.id)
    remember(request, str(user.id))
    new_csrf_token(request)
    log.info("user %s logged in", user.id)


# -- accounts ------------------------------------------------------------------


class AccountError(ValueError):
    """A request about an account that cannot be done, with a sentence saying why."""


def check_email(email: str) -> str:
    """``email`` in its stored form if it is one deliverable-looking address;
    raises :class:`AccountError` with the reason otherwise.

    Checked by email-validator's syntax rules (no DNS lookup): commas,
    line breaks, several recipients, display names and addresses without
    a proper domain are all refused.
    """
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise AccountError(f"'{email[:254]!s}' is not an email address: {exc}") from None
    return normalize_email(result.normalized)


def find_user(dbsession: Session, email: str) -> User | None:
    """The account of ``email`` (compared in its normalised form), or None."""
    return dbsession.scalars(select(User).where(User.email == normalize_email(email))).first()


def find_group(dbsession: Session, name: str) -> Group | None:
    """The group called ``name``, or None."""
    return dbsession.scalars(select(Group).where(Group.name == name)).first()


def check_group_name(name: str) -> str:
    """``name`` if it may name a group; raises :class:`AccountError` otherwise.

    Group names become principals (``group:<name>``) and appear in ACLs,
    so they are short words: letters, digits, ``.``, ``_`` and ``-``.
    """
    if not GROUP_NAME.fullmatch(name):
        raise AccountError(
            f"'{name}' cannot name a group: use 1 to 64 letters, digits, '.', '_' or '-'."
        )
    return name


def ensure_group(dbsession: Session, name: str, description: str = "") -> Group:
    """The group called ``name``, created (with ``description``) if missing."""
    group = find_group(dbsession, check_group_name(name))
    if group is None:
        group = Group(name=name, description=description)
        dbsession.add(group)
        dbsession.flush()
    return group


def list_groups(dbsession: Session) -> list[tuple[Group, int]]:
    """Every group with its number of members, by name."""
    rows = dbsession.execute(
        select(Group, func.count(Membership.user_id))
        .outerjoin(Membership, Membership.group_id == Group.id)
        .group_by(Group.id)
        .order_by(Group.name)
    ).all()
    return [(group, int(count)) for group, count in rows]


def groups_of(user: User) -> list[str]:
    """The names of ``user``'s groups, sorted."""
    return [group.name for group in user.groups]


def add_to_group(dbsession: Session, user: User, name: str) -> bool:
    """Make ``user`` a member of group ``name`` (created if missing).

    Returns whether anything changed (False when already a member). The
    user's sessions see the new principal ``group:<name>`` at their next
    request.
    """
    group = ensure_group(dbsession, name)
    if group in user.groups:
        return False
    user.groups.append(group)
    dbsession.flush()
    log.info("user %s added to group %s", user.id, name)
    return True


def _keep_an_admin(dbsession: Session, user: User) -> None:
    # Without an active admin nobody could manage the site any more, and
    # only the command line could make one again.
    admins = dbsession.scalar(
        select(func.count(User.id))
        .join(User.groups)
        .where(Group.name == ADMIN_GROUP, User.is_active.is_(True), User.id != user.id)
    )
    if not admins:
        raise AccountError(
            f"{user.email} is the last active admin; make another account an admin first."
        )


def remove_from_group(dbsession: Session, user: User, name: str) -> bool:
    """End ``user``'s membership of group ``name``; whether they were a member.

    Removing the last active member of ``admin`` is refused with
    :class:`AccountError`: nobody could manage the site any more.
    """
    group = find_group(dbsession, name)
    if group is None or group not in user.groups:
        return False
    if name == ADMIN_GROUP:
        _keep_an_admin(dbsession, user)
    user.groups.remove(group)
    dbsession.flush()
    log.info("user %s removed from group %s", user.id, name)
    return True


def set_groups(dbsession: Session, user: User, names: Iterable[str]) -> tuple[int, int]:
    """Make ``user`` a member of exactly the groups ``names`` (created if
    missing); returns how many memberships were added and how many ended.

    Raises :class:`AccountError` for a bad group name, or when it would take
    the last active admin out of ``admin``; nothing changes then.
    """
    wanted = {check_group_name(name) for name in names}
    current = set(groups_of(user))
    if ADMIN_GROUP in current - wanted:
        _keep_an_admin(dbsession, user)
    for name in sorted(current - wanted):
        remove_from_group(dbsession, user, name)
    for name in sorted(wanted - current):
        add_to_group(dbsession, user, name)
    return len(wanted - current), len(current - wanted)


def deactivate_user(
    dbsession: Session, user: User, *, keep: DatabaseSession | None = None
) -> bool:
    """Stop ``user`` from using the site; whether anything changed.

    Their sessions end at once (every process sees it: sessions live in
    the database), their API tokens are refused from the next request on
    (the identity source refuses inactive accounts), logging in fails as a
    wrong password does and no password reset is sent. The tokens are
    kept, so :func:`activate_user` gives them back. ``keep`` spares one
    session (the caller's own). Deactivating the last active admin is
    refused with :class:`AccountError`.
    """
    if not user.is_active:
        return False
    if ADMIN_GROUP in groups_of(user):
        _keep_an_admin(dbsession, user)
    ended = revoke_sessions(dbsession, user.id, keep=keep)
    # Set after the sessions' delete, which flushes: the change stays
    # pending until the caller's flush, so a history of changes (the
    # admin's) still sees it.
    user.is_active = False
    log.info("user %s deactivated; %s sessions ended", user.id, ended)
    return True


def activate_user(dbsession: Session, user: User) -> bool:
    """Let a deactivated ``user`` log in again; whether anything changed.

    Their API tokens that have not expired work again.
    """
    if user.is_active:
        return False
    user.is_active = True
    log.info("user %s activated", user.id)
    return True


def send_password_reset(request: Request, user: User) -> bool:
    """Email ``user`` a single-use link to choose a new password, after the
    request's transaction commits (see :func:`~pyramidion_auth.mail.send_mail`).

    The link is valid for ``auth.reset_token_lifetime``. Returns False, and
    sends nothing, for an inactive account. The password-reset page and the
    admin's "send a password reset" both use this.
    """
    from .mail import send_mail

    if not user.is_active:
        return False
    settings = auth_settings(request.registry)
    token = issue_one_time_token(request.registry, request.dbsession, user, "reset")
    link = request.route_url("auth.reset", _query={"token": token})
    minutes = int(settings.reset_token_lifetime.total_seconds() // 60)
    send_mail(
        request,
        user.email,
        "Choose a new password",
        f"Hello {user.display_name},\n\nTo choose a new password, open this link "
        f"within {minutes} minutes:\n\n{link}\n\nIf you did not ask for it, "
        "ignore this email: your password stays as it is.\n",
    )
    log.info("password reset link sent to user %s", user.id)
    return True


def create_user(
    registry: Registry,
    dbsession: Session,
    *,
    email: str,
    password: str | None,
    display_name: str = "",
    admin: bool = False,
    verified: bool = True,
    groups: Iterable[str] = (),
) -> User:
    """Create an account, a member of ``groups`` (and of ``admin`` with
    ``admin=True``); raises :class:`AccountError` for a taken email, a weak
    password or a bad group name."""
    passwords: PasswordHasher = find(registry, PasswordHasher)
    address = check_email(email)
    if find_user(dbsession, address) is not None:
        raise AccountError(f"An account for {address} already exists.")
    if password is not None:
        problem = passwords.problem(password, email=address)
        if problem:
            raise AccountError(f"Password refused: {problem}")
    now = current_time(registry)
    user = User(
        email=address,
        display_name=display_name.strip() or address.split("@", 1)[0],
        password_hash=passwords.hash(password) if password is not None else None,
        password_changed_at=now if password is not None else None,
        email_verified_at=now if verified else None,
    )
    # Added before its groups: finding the next group flushes, and a group
    # must not reach the database with a member that is not there yet.
    dbsession.add(user)
    if admin:
        user.groups.append(ensure_group(dbsession, ADMIN_GROUP, "May do everything"))
    for name in groups:
        group = ensure_group(dbsession, name)
        if group not in user.groups:
            user.groups.append(group)
    dbsession.flush()
    log.info("user %s created", user.id)
    return user


@dataclass(frozen=True)
class AdminOutcome:
    """What :func:`ensure_admin` found or did."""

    email: str
    created: bool
    #: The password made up for a new account, when the settings gave none.
    generated_password: str | None = None


def ensure_admin(registry: Registry, dbsession: Session) -> AdminOutcome:
    """Make sure an active admin exists; create one if none does.

    Does nothing when an active member of the ``admin`` group exists (the
    first such account, by id, is reported). Otherwise creates
    ``auth.initial_admin_email`` with ``auth.initial_admin_password``, or
    with a generated password of 24 random characters when that setting is
    unset. Raises :class:`AccountError` when that address already has an
    account that is not an admin (it is never promoted silently) or the
    configured password is refused.
    """
    settings = auth_settings(registry)
    existing = dbsession.scalars(
        select(User)
        .join(User.groups)
        .where(Group.name == ADMIN_GROUP, User.is_active.is_(True))
        .order_by(User.id)
        .limit(1)
    ).first()
    if existing is not None:
        return AdminOutcome(email=existing.email, created=False)
    address = normalize_email(settings.initial_admin_email)
    if find_user(dbsession, address) is not None:
        raise AccountError(
            f"There is no active admin, and {address} (auth.initial_admin_email) "
            "already has an account that is not one."
        )
    generated = None
    password = settings.initial_admin_password
    if not password:
        generated = password = secrets.token_urlsafe(18)
    user = create_user(registry, dbsession, email=address, password=password, admin=True)
    return AdminOutcome(email=user.email, created=True, generated_password=generated)


def set_password(
    request_or_registry: Request | Registry,
    dbsession: Session,
    user: User,
    password: str,
    *,
    keep: DatabaseSession | None = None,
) -> None:
    """Give ``user`` a new password, end every other session of theirs and
    revoke their API tokens.

    Whoever knew the old password could have made a token, and a token
    would outlive the change that is meant to lock them out, so none does;
    the user makes new ones. Raises :class:`AccountError` for a weak
    password. Unused reset links stop working too.
    """
    registry = getattr(request_or_registry, "registry", request_or_registry)
    passwords: PasswordHasher = find(registry, PasswordHasher)
    problem = passwords.problem(password, email=user.email)
    if problem:
        raise AccountError(problem)
    user.password_hash = passwords.hash(password)
    user.password_changed_at = current_time(registry)
    dbsession.flush()
    revoke_sessions(dbsession, user.id, keep=keep)
    revoke_api_tokens(dbsession, user.id)
    dbsession.execute(
        delete(OneTimeToken).where(
            OneTimeToken.user_id == user.id, OneTimeToken.purpose == "reset"
        )
    )
    log.info("password of user %s changed; other sessions ended, API tokens revoked", user.id)


def safe_came_from(request: Request, came_from: str | None) -> str | None:
    """``came_from`` as a path on this site, ready for a ``Location`` header,
    else None.

    Only a path that starts with one ``/`` qualifies: absolute URLs (even
    to this host), scheme-relative ``//evil``, backslashes that browsers
    read as slashes, and control characters are all refused. Characters
    outside ASCII are percent-encoded as UTF-8 (a header holds only
    ASCII); text that is not valid Unicode is refused.
    """
    if not came_from or len(came_from) > 2000:
        return None
    if not came_from.startswith("/") or came_from.startswith("//"):
        return None
    if "\\" in came_from or any(ord(c) < 32 or 127 <= ord(c) < 160 for c in came_from):
        return None
    parts = urlsplit(came_from)
    if parts.scheme or parts.netloc:
        return None
    try:
        return quote(came_from, safe=LOCATION_SAFE)
    except UnicodeEncodeError:
        return None
