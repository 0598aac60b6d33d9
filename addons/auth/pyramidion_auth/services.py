"""What the auth add-on does, apart from pages: passwords, sessions,
identity, throttling, tokens, mail and accounts.

Views and commands call these functions; nothing here renders HTML.
Nothing here logs a password, a hash, a token or a session id.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import logging
import math
import secrets
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources import files
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from pyramid.authorization import Authenticated
from pyramid.interfaces import ISession
from pyramid.security import remember
from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.orm import Session
from zope.interface import implementer

from pyramidion import CoreSettings, get_settings, independent_session

from .models import (
    ADMIN_GROUP,
    ApiToken,
    Group,
    OneTimeToken,
    ServerSession,
    ThrottleCounter,
    User,
    normalize_email,
    utcnow,
)
from .settings import AuthSettings

if TYPE_CHECKING:
    from pyramid.registry import Registry
    from pyramid.request import Request
    from pyramid.response import Response
    from pyramid_mailer.message import Message

    from pyramidion_forms import UserMenu

log = logging.getLogger("pyramidion_auth")

#: Session keys under which flash messages are kept, one per queue.
_FLASH_PREFIX = "_f_"


# -- the add-on's state on the registry ----------------------------------------


@dataclass
class Auth:
    """The auth add-on's configured services: ``get_auth(registry)``."""

    settings: AuthSettings
    development: bool
    passwords: Passwords
    throttle: LoginThrottle
    mailer: Any
    #: The clock every time-based decision reads; naive UTC.
    clock: Callable[[], datetime.datetime] = utcnow


def get_auth(registry: Registry) -> Auth:
    """The auth add-on's services for this app."""
    auth: Auth = registry.pyramidion_auth
    return auth


def make_auth(registry: Registry) -> Auth:
    """Build the services from the parsed settings (called by includeme)."""
    settings = get_settings(registry, AuthSettings)
    development = get_settings(registry, CoreSettings).development
    return Auth(
        settings=settings,
        development=development,
        passwords=Passwords(settings),
        throttle=LoginThrottle(settings),
        mailer=make_mailer(settings, development=development),
    )


# -- secrets -------------------------------------------------------------------


def new_secret() -> str:
    """A fresh random token with 256 bits of entropy, URL-safe."""
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored.

    A plain hash is enough: the tokens are random with 256 bits of
    entropy, so there is nothing to guess and no need for a slow hash.
    """
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


# -- passwords -----------------------------------------------------------------


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of the 10,000 most common passwords, lower-cased."""
    text = files("pyramidion_auth").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


class Passwords:
    """Argon2id hashing with the configured parameters, and the password rules."""

    def __init__(self, settings: AuthSettings) -> None:
        self.min_length = settings.password_min_length
        self.max_bytes = settings.password_max_bytes
        self.hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_cost,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )

    def too_long(self, password: str) -> bool:
        """Whether ``password`` is over the byte limit (checked before any hashing)."""
        return len(password.encode("utf-8", "surrogatepass")) > self.max_bytes

    def problem(self, password: str, *, email: str | None = None) -> str | None:
        """Why ``password`` may not be used, in a sentence; None when it may."""
        if self.too_long(password):
            return f"Use at most {self.max_bytes} bytes."
        if len(password) < self.min_length:
            return f"Use at least {self.min_length} characters."
        folded = password.strip().lower()
        if folded in common_passwords():
            return "This is one of the most common passwords; choose another."
        if email:
            address = normalize_email(email)
            if folded in (address, address.split("@", 1)[0]):
                return "Do not use your email address as your password."
        return None

    def hash(self, password: str) -> str:
        if self.too_long(password):
            raise ValueError("password is over the byte limit")
        return self.hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches; always spends one hash's time.

        An account without a hash, or a password over the limit, is checked
        against a dummy hash so that the answer takes as long as a real one.
        """
        if self.too_long(password):
            return False
        if password_hash is None:
            self._verify_quietly(self.dummy_hash, password)
            return False
        return self._verify_quietly(password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether a stored hash was made with other parameters than today's."""
        try:
            return self.hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    @functools.cached_property
    def dummy_hash(self) -> str:
        return self.hasher.hash(new_secret())

    def _verify_quietly(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


# -- server-side sessions ------------------------------------------------------


@implementer(ISession)
class DatabaseSession(dict[str, Any]):
    """A Pyramid session kept in ``auth_sessions``; the cookie holds a random id.

    Loaded when ``request.session`` is first used (one query, and none when
    the request has no cookie); written once, just before the request's
    transaction commits, and only when it changed or needs its last-seen
    time refreshed. A session unused for the idle timeout, or older than
    the absolute timeout, is gone. Data is stored as JSON, so values must be
    JSON-serialisable.
    """

    def __init__(self, request: Request) -> None:
        super().__init__()
        # Weak: the request holds its session, and a strong reference back
        # would leave a cycle per request for the garbage collector.
        self._request_ref = weakref.ref(request)
        self._auth = get_auth(request.registry)
        self._cookie_name = self._auth.settings.session_cookie_name
        self._cookie_value: str | None = None
        self._row: ServerSession | None = None
        self._obsolete_ids: set[str] = set()
        self._scheduled = False
        self._dirty = False
        self._outcome: Literal["none", "kept", "removed"] = "none"
        self.user_id: int | None = None
        now = self._auth.clock()
        self.created = time.time()
        self.new = True
        self._created_at = now
        cookie = request.cookies.get(self._cookie_name)
        if cookie and len(cookie) <= 128:
            self._load(cookie, now)

    @property
    def _request(self) -> Request:
        request = self._request_ref()
        if request is None:
            raise RuntimeError("this session outlived the request it belongs to")
        return request

    def _load(self, cookie: str, now: datetime.datetime) -> None:
        settings = self._auth.settings
        row = self._request.dbsession.get(ServerSession, digest(cookie))
        if row is None:
            return
        if (
            now - row.last_seen_at > settings.session_idle_timeout
            or now - row.created_at > settings.session_absolute_timeout
        ):
            self._obsolete_ids.add(row.id)
            self._schedule()
            return
        self._row = row
        self._cookie_value = cookie
        self.new = False
        self.user_id = row.user_id
        self._created_at = row.created_at
        self.created = row.created_at.replace(tzinfo=datetime.UTC).timestamp()
        super().update(json.loads(row.data))
        # Refreshing last-seen on every request would write on every
        # request; a tenth of the idle timeout (at most five minutes) keeps
        # the idle timeout accurate enough.
        interval = min(settings.session_idle_timeout / 10, datetime.timedelta(minutes=5))
        if now - row.last_seen_at > interval:
            self._schedule()

    # ISession

    def invalidate(self) -> None:
        """End the session: its row is deleted and its cookie cleared.

        Anything stored afterwards goes into a new session with a new id.
        """
        if self._row is not None:
            self._obsolete_ids.add(self._row.id)
        self._row = None
        self._cookie_value = None
        self.user_id = None
        self.new = True
        self._created_at = self._auth.clock()
        self.created = time.time()
        super().clear()
        self.changed()

    def rotate(self, user_id: int | None) -> None:
        """Continue under a new id (the old one stops working), for ``user_id``.

        Used at login: a session id an attacker planted or saw before
        login is worthless afterwards. The data is kept.
        """
        data = dict(self)
        self.invalidate()
        super().update(data)
        self.user_id = user_id

    def changed(self) -> None:
        self._dirty = True
        self._schedule()

    def flash(self, msg: Any, queue: str = "", allow_duplicate: bool = True) -> None:
        storage = self.setdefault(_FLASH_PREFIX + queue, [])
        if allow_duplicate or msg not in storage:
            storage.append(msg)
            self.changed()

    def pop_flash(self, queue: str = "") -> list[Any]:
        messages: list[Any] = self.pop(_FLASH_PREFIX + queue, [])
        return messages

    def peek_flash(self, queue: str = "") -> list[Any]:
        messages: list[Any] = self.get(_FLASH_PREFIX + queue, [])
        return messages

    def new_csrf_token(self) -> str:
        token = secrets.token_hex(32)
        self["_csrft_"] = token
        return token

    def get_csrf_token(self) -> str:
        token = self.get("_csrft_")
        if token is None:
            token = self.new_csrf_token()
        return str(token)

    # dict methods that change the session

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self.changed()

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.changed()

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self.changed()
        return super().setdefault(key, default)

    def pop(self, key: str, *default: Any) -> Any:
        if key in self:
            self.changed()
        return super().pop(key, *default)

    def popitem(self) -> tuple[str, Any]:
        self.changed()
        return super().popitem()

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self.changed()

    def clear(self) -> None:
        super().clear()
        self.changed()

    # persistence

    def _schedule(self) -> None:
        if self._scheduled:
            return
        self._scheduled = True
        self._request.tm.get().addBeforeCommitHook(self._save)
        self._request.add_response_callback(self._set_cookie)

    def _save(self) -> None:
        dbsession = self._request.dbsession
        if self._obsolete_ids:
            dbsession.execute(
                delete(ServerSession).where(ServerSession.id.in_(self._obsolete_ids))
            )
        now = self._auth.clock()
        if self._row is not None:
            self._row.last_seen_at = now
            self._row.user_id = self.user_id
            if self._dirty:
                self._row.data = json.dumps(dict(self))
            self._outcome = "kept"
        elif self.user_id is not None or len(self):
            self._cookie_value = new_secret()
            self._row = ServerSession(
                id=digest(self._cookie_value),
                user_id=self.user_id,
                data=json.dumps(dict(self)),
                created_at=self._created_at,
                last_seen_at=now,
            )
            dbsession.add(self._row)
            self._outcome = "kept"
        elif self._obsolete_ids:
            self._outcome = "removed"
        dbsession.flush()

    def _set_cookie(self, request: Request, response: Response) -> None:
        # Only a committed session gets a cookie: when the transaction was
        # aborted, _save never ran and the old cookie (if any) stays valid.
        if self._outcome == "kept" and self._cookie_value is not None:
            response.set_cookie(
                self._cookie_name,
                self._cookie_value,
                httponly=True,
                samesite="Lax",
                secure=not self._auth.development,
                path="/",
            )
        elif self._outcome == "removed":
            response.delete_cookie(self._cookie_name, path="/")


def session_factory(request: Request) -> DatabaseSession:
    """The session factory the add-on sets with ``config.set_session_factory``."""
    return DatabaseSession(request)


def revoke_sessions(
    dbsession: Session, user_id: int, *, keep: DatabaseSession | None = None
) -> int:
    """End every session of ``user_id`` except ``keep``; returns how many."""
    statement = delete(ServerSession).where(ServerSession.user_id == user_id)
    if keep is not None and keep._row is not None:
        statement = statement.where(ServerSession.id != keep._row.id)
    result = dbsession.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


# -- identity ------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """Who is asking: the user, and how they proved it."""

    user: User
    via: Literal["session", "token"]
    token_id: int | None = None


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or None.

    An empty string when the header says Bearer but carries nothing.
    """
    header = str(request.headers.get("Authorization", ""))
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


class AuthIdentitySource:
    """The identity source the add-on registers with ``config.set_identity_source``.

    A request with ``Authorization: Bearer`` is identified by that token
    alone: a wrong or expired token makes it anonymous, whatever cookies
    it also carries. Any other request is identified by its session.
    """

    def identity(self, request: Request) -> Identity | None:
        token = bearer_token(request)
        if token is not None:
            return self._token_identity(request, token)
        session = request.session
        user_id = getattr(session, "user_id", None)
        if user_id is None:
            return None
        user = request.dbsession.get(User, user_id)
        if user is None or not user.is_active:
            return None
        return Identity(user=user, via="session")

    def _token_identity(self, request: Request, token: str) -> Identity | None:
        if not token or len(token) > 128:
            return None
        auth = get_auth(request.registry)
        row = request.dbsession.execute(
            select(ApiToken, User)
            .join(User, ApiToken.user_id == User.id)
            .where(ApiToken.token_hash == digest(token))
        ).one_or_none()
        if row is None:
            return None
        api_token, user = row
        if api_token.expires_at <= auth.clock() or not user.is_active:
            return None
        return Identity(user=user, via="token", token_id=api_token.id)

    def userid(self, identity: Identity) -> str:
        return str(identity.user.id)

    def principals(self, request: Request, identity: Identity) -> list[str]:
        user = identity.user
        return [
            Authenticated,
            f"user:{user.id}",
            *(f"group:{group.name}" for group in user.groups),
        ]

    def remember(self, request: Request, userid: str, **kw: Any) -> list[tuple[str, str]]:
        """Log ``userid`` in: the session continues under a new id."""
        session = request.session
        if isinstance(session, DatabaseSession):
            session.rotate(int(userid))
        return []

    def forget(self, request: Request, **kw: Any) -> list[tuple[str, str]]:
        """Log out: the session is deleted, server-side, and its cookie cleared."""
        request.session.invalidate()
        return []


def request_user(request: Request) -> User | None:
    """``request.user``: the logged-in user, or None.

    Computed from ``request.identity``, which the core's security policy
    computes at most once per request, and only when asked for.
    """
    identity = request.identity
    return identity.user if isinstance(identity, Identity) else None


def user_menu(request: Request) -> UserMenu:
    """The forms layout's user menu: who is logged in, or a way to log in.

    Logged-in users see their name, linking to their account, and a logout
    button. Anonymous visitors get a login link that brings them back to
    the page they were on (the auth pages themselves excepted, where
    coming back makes no sense).
    """
    from pyramidion_forms import UserMenu

    user = request_user(request)
    if user is not None:
        return UserMenu(
            user.display_name,
            logout_url=request.route_url("auth.logout"),
            account_url=request.route_url("auth.account"),
        )
    route = getattr(request, "matched_route", None)
    if (route is not None and route.name.startswith("auth.")) or request.method != "GET":
        return UserMenu(None, login_url=request.route_url("auth.login"))
    query = {"came_from": request.path_qs}
    return UserMenu(None, login_url=request.route_url("auth.login", _query=query))


def token_authenticated(request: Request) -> bool:
    """Whether the request proved who it is with a valid API token.

    The CSRF exemption: browsers never attach an Authorization header on
    their own, so a forged cross-site request cannot carry one. A missing,
    wrong or expired token is not exempt.
    """
    if bearer_token(request) is None:
        return False
    identity = request.identity
    return isinstance(identity, Identity) and identity.via == "token"


# -- throttling ----------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """An attempt refused by the throttle; retry after ``retry_after`` seconds."""

    retry_after: int


@dataclass(frozen=True)
class ThrottleKey:
    key: str
    limit: int
    #: Failures allowed before each attempt must wait; None: no waiting.
    free: int | None = None


class LoginThrottle:
    """Counts failed logins per account and per client address.

    Every counted attempt is written with
    :func:`pyramidion.db.independent_session`, so it is committed at once,
    whatever happens to the request, and every process sees it.
    """

    def __init__(self, settings: AuthSettings) -> None:
        self.window = settings.throttle_window
        self.free = settings.throttle_free_attempts
        self.account_limit = settings.throttle_account_limit
        self.address_limit = settings.throttle_address_limit

    def login_keys(self, email: str, address: str | None) -> list[ThrottleKey]:
        return [
            ThrottleKey(
                f"account:{digest(normalize_email(email))}", self.account_limit, self.free
            ),
            ThrottleKey(f"address:{(address or 'unknown')[:80]}", self.address_limit),
        ]

    def attempt(
        self, registry: Registry, keys: list[ThrottleKey], now: datetime.datetime
    ) -> Refusal | None:
        """Refuse the attempt, or count it as a failure until :meth:`succeeded`.

        Counting before the password is checked means that parallel guesses
        cannot all slip in under the limit.
        """
        with independent_session(registry) as session:
            rows = {
                row.key: row
                for row in session.scalars(
                    select(ThrottleCounter).where(ThrottleCounter.key.in_([k.key for k in keys]))
                )
            }
            refusals = [self._refusal(rows.get(k.key), k, now) for k in keys]
            longest = max((r.retry_after for r in refusals if r is not None), default=None)
            if longest is not None:
                return Refusal(longest)
            for key in keys:
                if increment(session, key.key, now, now - self.window) > key.limit:
                    return Refusal(self._seconds(self.window))
        return None

    def succeeded(self, registry: Registry, keys: list[ThrottleKey]) -> None:
        """Forget the account's failures and take back the address's provisional one."""
        account, *others = keys
        with independent_session(registry) as session:
            session.execute(delete(ThrottleCounter).where(ThrottleCounter.key == account.key))
            for key in others:
                session.execute(
                    update(ThrottleCounter)
                    .where(ThrottleCounter.key == key.key, ThrottleCounter.failures > 0)
                    .values(failures=ThrottleCounter.failures - 1)
                )

    def count(self, registry: Registry, key: str, limit: int, now: datetime.datetime) -> bool:
        """Count one use of ``key``; whether it is within ``limit`` per window."""
        with independent_session(registry) as session:
            return increment(session, key, now, now - self.window) <= limit

    def _refusal(
        self, row: ThrottleCounter | None, key: ThrottleKey, now: datetime.datetime
    ) -> Refusal | None:
        if row is None:
            return None
        window_end = row.window_started_at + self.window
        if now >= window_end:
            return None
        if row.failures >= key.limit:
            return Refusal(self._seconds(window_end - now))
        if key.free is not None and row.failures >= key.free:
            delay = datetime.timedelta(seconds=2 ** min(row.failures - key.free, 30))
            ready_at = min(row.last_failure_at + delay, window_end)
            if now < ready_at:
                return Refusal(self._seconds(ready_at - now))
        return None

    @staticmethod
    def _seconds(delta: datetime.timedelta) -> int:
        return max(1, math.ceil(delta.total_seconds()))


def increment(
    session: Session, key: str, now: datetime.datetime, cutoff: datetime.datetime
) -> int:
    """Add one failure to ``key`` atomically; returns the count in the window.

    One INSERT ... ON CONFLICT DO UPDATE, so concurrent processes never
    lose a count; a window that started before ``cutoff`` starts again.
    """
    table = ThrottleCounter.__table__
    insert: Any
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    expired = table.c.window_started_at <= cutoff
    statement = (
        insert(table)
        .values(key=key, failures=1, window_started_at=now, last_failure_at=now)
        .on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "failures": case((expired, 1), else_=table.c.failures + 1),
                "window_started_at": case((expired, now), else_=table.c.window_started_at),
                "last_failure_at": now,
            },
        )
        .returning(table.c.failures)
    )
    return int(session.execute(statement).scalar_one())


# -- logging in ----------------------------------------------------------------


@dataclass(frozen=True)
class LoginOutcome:
    """What :func:`authenticate` decided."""

    user_id: int | None = None
    refusal: Refusal | None = None
    unverified: bool = False


def client_address(request: Request) -> str | None:
    """The address throttling counts by: ``REMOTE_ADDR``, never a header a client sets."""
    address: str | None = request.environ.get("REMOTE_ADDR")
    return address


def authenticate(request: Request, email: str, password: str) -> LoginOutcome:
    """Check an email and password, counting failures in the throttle.

    Returns the user's id on success. An unknown email, a wrong password,
    an inactive account and an over-long password are the same failure,
    and take the same time. Does not use ``request.dbsession``, so a
    failure leaves the request's transaction untouched.
    """
    auth = get_auth(request.registry)
    keys = auth.throttle.login_keys(email, client_address(request))
    refusal = auth.throttle.attempt(request.registry, keys, auth.clock())
    if refusal is not None:
        log.info("login refused by the throttle for %s seconds", refusal.retry_after)
        return LoginOutcome(refusal=refusal)
    with independent_session(request.registry) as session:
        row = session.execute(
            select(User.id, User.password_hash, User.is_active, User.email_verified_at).where(
                User.email == normalize_email(email)
            )
        ).one_or_none()
    password_hash = row.password_hash if row is not None else None
    matches = auth.passwords.verify(password_hash, password)
    if row is None or not matches or not row.is_active:
        log.info("login failed")
        return LoginOutcome()
    auth.throttle.succeeded(request.registry, keys)
    if auth.settings.require_email_verification and row.email_verified_at is None:
        log.info("login of user %s refused: email not verified", row.id)
        return LoginOutcome(unverified=True)
    return LoginOutcome(user_id=row.id)


def log_in(request: Request, user: User, password: str) -> None:
    """Start a logged-in session for ``user`` (new session id), rehashing
    the password if the hashing parameters changed since it was stored."""
    auth = get_auth(request.registry)
    if user.password_hash is None or auth.passwords.needs_rehash(user.password_hash):
        user.password_hash = auth.passwords.hash(password)
        log.info("password of user %s rehashed with the current parameters", user.id)
    remember(request, str(user.id))
    log.info("user %s logged in", user.id)


# -- accounts ------------------------------------------------------------------


class AccountError(ValueError):
    """A request about an account that cannot be done, with a sentence saying why."""


def find_user(dbsession: Session, email: str) -> User | None:
    return dbsession.scalars(select(User).where(User.email == normalize_email(email))).first()


def ensure_group(dbsession: Session, name: str, description: str = "") -> Group:
    group = dbsession.scalars(select(Group).where(Group.name == name)).first()
    if group is None:
        group = Group(name=name, description=description)
        dbsession.add(group)
        dbsession.flush()
    return group


def create_user(
    registry: Registry,
    dbsession: Session,
    *,
    email: str,
    password: str | None,
    display_name: str = "",
    admin: bool = False,
    verified: bool = True,
) -> User:
    """Create an account; raises :class:`AccountError` for a taken email or weak password."""
    auth = get_auth(registry)
    address = normalize_email(email)
    if "@" not in address or len(address) > 254:
        raise AccountError(f"'{email}' is not an email address.")
    if find_user(dbsession, address) is not None:
        raise AccountError(f"An account for {address} already exists.")
    if password is not None:
        problem = auth.passwords.problem(password, email=address)
        if problem:
            raise AccountError(f"Password refused: {problem}")
    now = auth.clock()
    user = User(
        email=address,
        display_name=display_name.strip() or address.split("@", 1)[0],
        password_hash=auth.passwords.hash(password) if password is not None else None,
        password_changed_at=now if password is not None else None,
        email_verified_at=now if verified else None,
    )
    if admin:
        user.groups.append(ensure_group(dbsession, ADMIN_GROUP, "May do everything"))
    dbsession.add(user)
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
    settings = get_auth(registry).settings
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
    auth = get_auth(registry)
    problem = auth.passwords.problem(password, email=user.email)
    if problem:
        raise AccountError(problem)
    user.password_hash = auth.passwords.hash(password)
    user.password_changed_at = auth.clock()
    dbsession.flush()
    revoke_sessions(dbsession, user.id, keep=keep)
    dbsession.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    dbsession.execute(
        delete(OneTimeToken).where(
            OneTimeToken.user_id == user.id, OneTimeToken.purpose == "reset"
        )
    )
    log.info("password of user %s changed; other sessions ended, API tokens revoked", user.id)


# -- one-time tokens (reset, verification) ---------------------------------------


def issue_one_time_token(
    registry: Registry, dbsession: Session, user: User, purpose: Literal["reset", "verify"]
) -> str:
    """A new single-use token for ``user``; only its digest is stored."""
    auth = get_auth(registry)
    lifetime = (
        auth.settings.reset_token_lifetime
        if purpose == "reset"
        else auth.settings.verification_token_lifetime
    )
    token = new_secret()
    now = auth.clock()
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
    if row is None or row.used_at is not None or row.expires_at <= get_auth(registry).clock():
        return None
    return row


# -- API tokens ------------------------------------------------------------------


def create_api_token(
    registry: Registry,
    dbsession: Session,
    user: User,
    name: str,
    lifetime: datetime.timedelta | None = None,
) -> tuple[ApiToken, str]:
    """A new API token for ``user``: the row and the token, shown once."""
    auth = get_auth(registry)
    longest = auth.settings.api_token_lifetime
    lifetime = min(lifetime or longest, longest)
    token = "pyr_" + new_secret()
    now = auth.clock()
    row = ApiToken(
        user_id=user.id,
        name=name.strip()[:100] or "token",
        token_hash=digest(token),
        hint=token[:8],
        created_at=now,
        expires_at=now + lifetime,
    )
    dbsession.add(row)
    dbsession.flush()
    log.info("user %s created API token %s", user.id, row.id)
    return row, token


def api_tokens_of(dbsession: Session, user: User) -> list[ApiToken]:
    return list(
        dbsession.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
        )
    )


def token_json(token: ApiToken, now: datetime.datetime) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "hint": token.hint,
        "created_at": token.created_at.isoformat() + "Z",
        "expires_at": token.expires_at.isoformat() + "Z",
        "expired": token.expires_at <= now,
    }


# -- mail ------------------------------------------------------------------------


def make_mailer(settings: AuthSettings, *, development: bool) -> Any:
    """The pyramid_mailer mailer the ``mail_delivery`` setting chooses."""
    delivery = settings.mail_delivery
    if delivery == "auto":
        delivery = "files" if development else "smtp"
    if delivery == "files":
        return _LazyDebugMailer(settings.mail_directory)
    from pyramid_mailer.mailer import Mailer

    return Mailer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password,
        tls=settings.smtp_tls,
        default_sender=settings.mail_sender,
    )


@dataclass
class _LazyDebugMailer:
    """pyramid_mailer's DebugMailer, whose directory is made at the first email."""

    directory: str
    _mailer: Any = field(default=None, init=False)

    def send_immediately(self, message: Message, fail_silently: bool = False) -> None:
        if self._mailer is None:
            from pyramid_mailer.mailer import DebugMailer

            self._mailer = DebugMailer(self.directory)
        self._mailer.send_immediately(message, fail_silently=fail_silently)


def send_mail(request: Request, to: str, subject: str, body: str) -> None:
    """Send an email once the request's transaction has committed.

    Nothing is sent when the request fails, so a reset link never points
    at a token that was rolled back.
    """
    from pyramid_mailer.message import Message

    auth = get_auth(request.registry)
    message = Message(
        subject=subject, sender=auth.settings.mail_sender, recipients=[to], body=body
    )

    def after_commit(committed: bool) -> None:
        if committed:
            try:
                auth.mailer.send_immediately(message)
            except Exception:
                log.exception("could not send the email %r", subject)

    request.tm.get().addAfterCommitHook(after_commit)


# -- redirects -------------------------------------------------------------------


def safe_came_from(request: Request, came_from: str | None) -> str | None:
    """``came_from`` if it is a path on this site, else None.

    Only a path that starts with one ``/`` qualifies: absolute URLs (even
    to this host), scheme-relative ``//evil``, backslashes that browsers
    read as slashes, and control characters are all refused.
    """
    if not came_from or len(came_from) > 2000:
        return None
    if not came_from.startswith("/") or came_from.startswith("//"):
        return None
    if "\\" in came_from or any(ord(c) < 32 or ord(c) == 127 for c in came_from):
        return None
    parts = urlsplit(came_from)
    if parts.scheme or parts.netloc:
        return None
    return came_from


def purge_expired(registry: Registry, dbsession: Session) -> dict[str, int]:
    """Delete what can no longer be used, and say how many rows of each.

    Sessions past their idle or absolute timeout, one-time tokens that are
    used or expired, API tokens past their expiry, and throttle counters
    whose window has passed (they no longer slow or refuse anyone). Runs in
    the caller's transaction; times come from the add-on's clock.
    """
    auth = get_auth(registry)
    settings = auth.settings
    now = auth.clock()
    statements = {
        "sessions": delete(ServerSession).where(
            or_(
                ServerSession.last_seen_at < now - settings.session_idle_timeout,
                ServerSession.created_at < now - settings.session_absolute_timeout,
            )
        ),
        "one-time tokens": delete(OneTimeToken).where(
            or_(OneTimeToken.expires_at <= now, OneTimeToken.used_at.is_not(None))
        ),
        "API tokens": delete(ApiToken).where(ApiToken.expires_at <= now),
        "throttle counters": delete(ThrottleCounter).where(
            ThrottleCounter.window_started_at < now - settings.throttle_window
        ),
    }
    return {
        name: int(getattr(dbsession.execute(statement), "rowcount", 0) or 0)
        for name, statement in statements.items()
    }
