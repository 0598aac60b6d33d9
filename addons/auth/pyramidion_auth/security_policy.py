"""Who is asking: the identity source the add-on gives the core's security
policy (session or API token), ``request.user``, the CSRF exemption of
token-authenticated requests, the scope of read-only tokens, and the
layout's user menu.

The lookups a request pays for are :meth:`AuthIdentitySource.session_identity`
(the session's own query) and :meth:`AuthIdentitySource.token_identity`, one
query each; the ORM ``User`` (``request.user``) is one query more, only in the
requests that read it.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from pyramid.authorization import Authenticated
from sqlalchemy import Select, bindparam, inspect, select
from sqlalchemy.orm.attributes import set_committed_value

from .models import BEARER_PRINCIPAL, READ_SCOPE, ApiToken, Group, Membership, ServerSession, User
from .services import current_time
from .sessions import DatabaseSession, SessionUser
from .tokens import digest

if TYPE_CHECKING:
    from pyramid.registry import Registry
    from pyramid.request import Request
    from pyramid.response import Response
    from sqlalchemy.orm import Session

    from pyramidion_forms import UserMenu

__all__ = [
    "AuthIdentitySource",
    "Identity",
    "bearer_token",
    "no_store",
    "request_user",
    "requester_key",
    "token_authenticated",
    "token_scope_tween_factory",
    "user_menu",
]


#: A user and the user's groups, one row per group (one row with None for
#: a user in none), by the user's id (``user_id``), in the order of
#: ``User.groups``. The groups are joined as plain entities rather than
#: eagerly loaded (``joinedload(User.groups)``), whose collection handling
#: and the ``unique()`` it requires cost more; :attr:`Identity.user` fills
#: the collection. Pages that read ``request.user`` often show its groups
#: (the account page, the API's ``me``): a lazy load would be a query more.
_USER_WITH_GROUPS = (
    select(User, Group)
    .outerjoin(Membership, Membership.user_id == User.id)
    .outerjoin(Group, Group.id == Membership.group_id)
    .where(User.id == bindparam("user_id"))
    .order_by(Group.name)
)


class Identity:
    """Who is asking: the user, and how they proved it.

    Made with the user, or with the user's id (and the names of the user's
    groups, and the name to show, as read with the session or the token),
    in which case the user is loaded, with the user's groups, when
    ``identity.user`` is first read: permissions need only the id and the
    group names, the user menu only the name, and most requests never read
    the user.
    """

    __slots__ = (
        "_dbsession",
        "_display_name",
        "_user",
        "groups",
        "scope",
        "token_id",
        "user_id",
        "via",
    )

    def __init__(
        self,
        user: User | None,
        via: Literal["session", "token"],
        token_id: int | None = None,
        scope: str | None = None,
        groups: tuple[str, ...] | None = None,
        *,
        user_id: int | None = None,
        dbsession: Session | None = None,
        display_name: str | None = None,
    ) -> None:
        if user is not None:
            user_id = user.id
        elif user_id is None or dbsession is None:
            raise TypeError("Identity needs a user, or a user_id and the dbsession to load it")
        self._user = user
        self._dbsession = dbsession
        self._display_name = display_name
        self.user_id: int = user_id
        self.via = via
        self.token_id = token_id
        #: The token's scope (``"read"`` or ``"write"``); None for a session.
        self.scope = scope
        #: The names of the user's groups when they were read with the
        #: identity; None when ``user.groups`` holds them.
        self.groups = groups

    @property
    def user(self) -> User:
        """The user, loaded on first use when the identity was made with its
        id, with the user's groups (``user.groups``) in the same query."""
        if self._user is None:
            assert self._dbsession is not None  # checked in __init__
            rows = self._dbsession.execute(_USER_WITH_GROUPS, {"user_id": self.user_id}).all()
            if not rows:
                raise LookupError(f"user {self.user_id} was deleted during the request")
            user: User = rows[0][0]
            if "groups" in inspect(user).unloaded:
                set_committed_value(user, "groups", [row[1] for row in rows if row[1] is not None])
            self._user = user
        return self._user

    @property
    def display_name(self) -> str:
        """The user's name as pages show it.

        The user's own, once the user is loaded (a view may have changed
        it); before that, the one read with the identity, if it was; else
        the user is loaded for it.
        """
        if self._user is None and self._display_name is not None:
            return self._display_name
        return self.user.display_name

    def __repr__(self) -> str:
        return f"Identity(user_id={self.user_id!r}, via={self.via!r}, scope={self.scope!r})"


@functools.cache
def _token_statement() -> Select[int, str, datetime.datetime, int, bool, str | None]:
    """The SELECT of a token by its digest (``:token_hash``): the token's id,
    scope and expiry, its user's id and whether the user is active, and the
    names of the user's groups, one row per group (one row, with None, for
    a user in none).

    The group names come with the token, as the groups do with a session:
    principals need them on every request, and a lazy load would be a
    query of its own. They are read as names, by plain outer joins:
    principals need only the names, and SQLAlchemy's joined eager loading
    of ``User.groups`` made a Group object per group, and the collection,
    on every request. The token and the user are read as plain columns
    too: nothing changes the token during the request, and the user, a
    dozen columns made into an ORM object, is loaded only if a view reads
    ``request.user`` (:class:`Identity`). The statement is built once:
    building it again for every request, and computing its cache key,
    cost more than running it.
    """
    return (
        select(
            ApiToken.id,
            ApiToken.scope,
            ApiToken.expires_at,
            ApiToken.user_id,
            User.is_active,
            Group.name,
        )
        .join(User, ApiToken.user_id == User.id)
        .outerjoin(Membership, Membership.user_id == User.id)
        .outerjoin(Group, Group.id == Membership.group_id)
        .where(ApiToken.token_hash == bindparam("token_hash"))
    )


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or None.

    An empty string when the header says Bearer but carries nothing.
    """
    # Read from the environ: request.headers would translate the name
    # (and be made, on a request that reads no other header).
    header = str(request.environ.get("HTTP_AUTHORIZATION", ""))
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
            identity = self.token_identity(request, token)
        else:
            identity = self.session_identity(request)
        if identity is not None:
            # What an authenticated request sees is that user's: no shared
            # or browser cache may keep it (a new API token, account pages).
            request.add_response_callback(no_store)
        return identity

    def session_identity(self, request: Request) -> Identity | None:
        """The active user the request's session is logged in as, or None."""
        session = request.session
        user_id = getattr(session, "user_id", None)
        if user_id is None:
            return None
        # Loading the session read what the identity needs of its user (the
        # principals' group names, the user menu's name): no query, and no
        # ORM User unless something reads request.user.
        loaded: SessionUser | None = getattr(session, "loaded_user", None)
        if loaded is not None and loaded.id == user_id:
            if not loaded.is_active:
                return None
            return Identity(
                None,
                "session",
                groups=loaded.groups,
                user_id=user_id,
                dbsession=request.dbsession,
                display_name=loaded.display_name,
            )
        # Logged in during this request: the session was loaded without
        # this user.
        user = request.dbsession.get(User, user_id)
        if user is None or not user.is_active:
            return None
        return Identity(user=user, via="session")

    def token_identity(self, request: Request, token: str) -> Identity | None:
        """The active user a valid, unexpired API token belongs to, or None."""
        if not token or len(token) > 128:
            return None
        rows = request.dbsession.execute(_token_statement(), {"token_hash": digest(token)}).all()
        if not rows:
            return None
        token_id, scope, expires_at, user_id, active, _ = rows[0]
        # The clock is found through the registry: the request's service
        # container, made on first use, would cost more than the lookup.
        if expires_at <= current_time(request.registry) or not active:
            return None
        return Identity(
            None,
            "token",
            token_id=token_id,
            scope=scope,
            groups=tuple(sorted(row[5] for row in rows if row[5] is not None)),
            user_id=user_id,
            dbsession=request.dbsession,
        )

    def userid(self, identity: Identity) -> str:
        return str(identity.user_id)

    def principals(self, request: Request, identity: Identity) -> list[str]:
        groups = identity.groups
        if groups is None:
            groups = tuple(group.name for group in identity.user.groups)
        principals = [
            Authenticated,
            f"user:{identity.user_id}",
            *(f"group:{name}" for name in groups),
        ]
        if identity.via == "token":
            principals.append(BEARER_PRINCIPAL)
        return principals

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


def no_store(request: Request, response: Response) -> None:
    """Response callback: the response must not be stored by any cache.

    The header is edited as text: WebOb's ``response.cache_control`` object
    refers to its response and back, a reference cycle per request.
    """
    dropped = ("no-store", "public", "max-age")
    kept = [
        directive.strip()
        for directive in response.headers.get("Cache-Control", "").split(",")
        if directive.strip() and directive.split("=")[0].strip().lower() not in dropped
    ]
    response.headers["Cache-Control"] = ", ".join([*kept, "no-store"])


def requester_key(request: Request) -> str | None:
    """Who is asking, as a counter's key, found without ``request.dbsession``.

    ``token:<id>`` for a valid, unexpired API token of an active user,
    ``user:<id>`` for a session cookie logged in to an active user, None
    for anyone else. A wrong token or cookie gives None, so random values
    buy no counter of their own.

    For counters written (in a transaction of their own) before the
    request's transaction begins, such as the API's rate limits: it reads
    in a short transaction of its own, so the request's session, begun
    later, sees the counter's commit. (On SQLite, a transaction that read
    before another committed may not write after.) Session timeouts are
    not checked: an expired cookie still names its user, which suffices
    to count by.
    """
    from pyramidion import independent_session

    from .services import auth_settings

    token = bearer_token(request)
    cookie = None
    if token is None:
        cookie = request.cookies.get(auth_settings(request.registry).session_cookie_name)
    secret = token if token is not None else cookie
    if not secret or len(secret) > 128:
        return None
    with independent_session(request.registry) as session:
        if token is not None:
            found = session.execute(
                select(ApiToken.id, ApiToken.expires_at)
                .join(User, ApiToken.user_id == User.id)
                .where(ApiToken.token_hash == digest(token), User.is_active.is_(True))
            ).first()
            if found is None or found.expires_at <= current_time(request.registry):
                return None
            return f"token:{found.id}"
        user_id = session.scalar(
            select(ServerSession.user_id)
            .join(User, ServerSession.user_id == User.id)
            .where(ServerSession.id == digest(secret), User.is_active.is_(True))
        )
    return None if user_id is None else f"user:{user_id}"


def request_user(request: Request) -> User | None:
    """``request.user``: the logged-in user, or None.

    Computed from ``request.identity``, which the core's security policy
    computes at most once per request, and only when asked for.
    """
    identity = request.identity
    return identity.user if isinstance(identity, Identity) else None


@functools.cache
def _user_menu_class() -> type[UserMenu]:
    """The forms add-on's ``UserMenu``, imported at the first page that shows it.

    Imported on every call, it went through the forms package's lazy
    ``__getattr__`` and ``importlib.import_module`` on every page.
    """
    from pyramidion_forms import UserMenu

    return UserMenu


#: Registry attribute holding the paths of the logout and account pages
#: under the application URL.
_MENU_PATHS = "pyramidion_auth_menu_paths"


def _menu_paths(request: Request) -> tuple[str, str]:
    """The logout and account pages' paths under the application URL.

    Worked out at the first page and kept: the routes are this add-on's,
    without placeholders or pregenerators, so their paths depend on the
    configuration only (the route prefix included), and the request gives
    only the application URL in front.
    """
    paths: tuple[str, str] | None = getattr(request.registry, _MENU_PATHS, None)
    if paths is None:
        paths = (
            str(request.route_url("auth.logout", _app_url="")),
            str(request.route_url("auth.account", _app_url="")),
        )
        setattr(request.registry, _MENU_PATHS, paths)
    return paths


def user_menu(request: Request) -> UserMenu:
    """The forms layout's user menu: who is logged in, or a way to log in.

    Logged-in users see their name, linking to their account, and a logout
    button. Anonymous visitors get a login link that brings them back to
    the page they were on (the auth pages themselves excepted, where
    coming back makes no sense).
    """
    UserMenu = _user_menu_class()
    identity = request.identity
    if isinstance(identity, Identity):
        logout_path, account_path = _menu_paths(request)
        # One application URL for both links: Pyramid works it out again
        # for every URL made without ``_app_url``.
        app_url = request.application_url
        return UserMenu(
            identity.display_name,
            logout_url=app_url + logout_path,
            account_url=app_url + account_path,
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


#: The methods a read-scoped token may use (RFC 9110's safe methods).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

#: What a read-scoped token is told when it tries to change something.
READ_SCOPE_REFUSAL = (
    "This API token has the read scope: it may only read (GET, HEAD, OPTIONS). "
    "To change things, use a token with the write scope."
)


def token_scope_tween_factory(
    handler: Callable[[Request], Response], registry: Registry
) -> Callable[[Request], Response]:
    """Tween: a read-scoped API token is refused every unsafe method.

    It sits under pyramid_tm (the token is looked up in the request's
    transaction) and over every route and view, so the scope holds on
    every path, whichever add-on made it, public or not, the core's own
    included, without a view or an ACL having to say so. The refusal is
    a 403 problem+json naming the scope; the client learns that its
    token's scope, not its user's rights, is the obstacle. A request
    without a bearer header pays one header lookup.
    """

    def token_scope_tween(request: Request) -> Response:
        if request.method not in SAFE_METHODS and bearer_token(request) is not None:
            identity = request.identity
            if isinstance(identity, Identity) and identity.scope == READ_SCOPE:
                from pyramidion import problem_response

                return problem_response(
                    request, 403, "Forbidden", READ_SCOPE_REFUSAL, scope=READ_SCOPE
                )
        return handler(request)

    return token_scope_tween
