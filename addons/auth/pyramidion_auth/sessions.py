"""Server-side sessions: the row in ``auth_sessions``, the cookie with its id."""

from __future__ import annotations

import datetime
import json
import secrets
import time
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from pyramid.interfaces import ISession
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session
from zope.interface import implementer

from pyramidion import CoreSettings, get_settings

from .interfaces import Clock
from .models import Group, Membership, ServerSession, User
from .services import auth_settings, find
from .tokens import digest, new_secret

if TYPE_CHECKING:
    from pyramid.registry import Registry
    from pyramid.request import Request
    from pyramid.response import Response

__all__ = [
    "DatabaseSession",
    "SessionUser",
    "end_sessions",
    "revoke_sessions",
    "session_factory",
]

#: Session keys under which flash messages are kept, one per queue.
_FLASH_PREFIX = "_f_"


class SessionUser(NamedTuple):
    """What a session's query reads of its user: enough for the identity,
    the security policy's principals and the layout's user menu, so that a
    page that never reads ``request.user`` needs no ORM ``User``."""

    id: int
    is_active: bool
    display_name: str
    #: The names of the user's groups, sorted.
    groups: tuple[str, ...]


_sessions = ServerSession.__table__.c
_users = User.__table__.c
_memberships = Membership.__table__.c
_groups = Group.__table__.c

#: The session's columns with what :class:`SessionUser` holds of its user,
#: one row per group of the user (one row with no group for a user without
#: any, or a session without a user), by the digest of the cookie
#: (``digest``). Built once: SQLAlchemy caches what it compiles, but a
#: statement built per request is built, and its cache key computed, per
#: request.
#:
#: It selects table columns, not the mapped classes' attributes: a
#: statement of plain columns runs as Core, without the ORM's compile step
#: and result processing, and makes no ORM object. The session's row is
#: used by this class only (an ORM object per request cost more than the
#: rare ``UPDATE`` that :meth:`DatabaseSession._save` sends), and the
#: ``User`` is loaded by primary key only when something reads
#: ``request.user``; most pages need only its id, its groups' names and the
#: name the user menu shows.
_LOAD_SESSION = (
    select(
        _sessions.id,
        _sessions.user_id,
        _sessions.data,
        _sessions.created_at,
        _sessions.last_seen_at,
        _users.is_active,
        _users.display_name,
        _groups.name,
    )
    .select_from(
        ServerSession.__table__.outerjoin(User.__table__, _users.id == _sessions.user_id)
        .outerjoin(Membership.__table__, _memberships.user_id == _users.id)
        .outerjoin(Group.__table__, _groups.id == _memberships.group_id)
    )
    .where(_sessions.id == bindparam("digest"))
)


class _SessionConfig(NamedTuple):
    """What every session of an application reads of its configuration."""

    clock: Clock
    cookie_name: str
    #: Whether the cookie is marked Secure (outside development).
    secure: bool
    idle_timeout: datetime.timedelta
    absolute_timeout: datetime.timedelta
    #: How long after the last refresh of a session's last-seen time the
    #: next request refreshes it. Refreshing it on every request would
    #: write on every request; a tenth of the idle timeout (at most five
    #: minutes) keeps the idle timeout accurate enough.
    refresh_interval: datetime.timedelta


#: Registry attribute holding the application's :class:`_SessionConfig`.
_SESSION_CONFIG = "pyramidion_auth_session_config"


def _session_config(registry: Registry) -> _SessionConfig:
    """The :class:`_SessionConfig` of the application, worked out at its
    first session and kept: the settings are parsed once and the clock is
    a singleton service (see :func:`.services.find`), so neither changes
    while the application runs."""
    config: _SessionConfig | None = getattr(registry, _SESSION_CONFIG, None)
    if config is None:
        settings = auth_settings(registry)
        config = _SessionConfig(
            clock=find(registry, Clock),
            cookie_name=settings.session_cookie_name,
            secure=not get_settings(registry, CoreSettings).development,
            idle_timeout=settings.session_idle_timeout,
            absolute_timeout=settings.session_absolute_timeout,
            refresh_interval=min(
                settings.session_idle_timeout / 10, datetime.timedelta(minutes=5)
            ),
        )
        setattr(registry, _SESSION_CONFIG, config)
    return config


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
        self._config = _session_config(request.registry)
        self._cookie_value: str | None = None
        #: The id of the session's row, once it has one.
        self._row_id: str | None = None
        self._obsolete_ids: set[str] = set()
        self._scheduled = False
        self._dirty = False
        self._outcome: Literal["none", "kept", "removed"] = "none"
        self.user_id: int | None = None
        #: What the session's query read of its user (:class:`SessionUser`),
        #: when the session was loaded logged in; what ``user_id`` names
        #: after a login or logout in this request is not read here.
        self.loaded_user: SessionUser | None = None
        now = self._config.clock.now()
        self._created: float | None = time.time()
        self.new = True
        self._created_at = now
        cookie = request.cookies.get(self._config.cookie_name)
        if cookie and len(cookie) <= 128:
            self._load(cookie, now)

    @property
    def _request(self) -> Request:
        request = self._request_ref()
        if request is None:
            raise RuntimeError("this session outlived the request it belongs to")
        return request

    @property
    def created(self) -> float:
        """When the session began, in seconds since the epoch (``ISession``)."""
        if self._created is None:
            self._created = self._created_at.replace(tzinfo=datetime.UTC).timestamp()
        return self._created

    def _load(self, cookie: str, now: datetime.datetime) -> None:
        config = self._config
        # What the identity, the principals and the user menu need of the
        # session's user comes in the same query (see _LOAD_SESSION).
        rows = self._request.dbsession.execute(_LOAD_SESSION, {"digest": digest(cookie)}).all()
        if not rows:
            return
        row_id, user_id, data, created_at, last_seen_at, is_active, display_name, _ = rows[0]
        if now - last_seen_at > config.idle_timeout or now - created_at > config.absolute_timeout:
            self._obsolete_ids.add(row_id)
            self._schedule()
            return
        self._row_id = row_id
        self._cookie_value = cookie
        self.new = False
        self.user_id = user_id
        if user_id is not None:
            self.loaded_user = SessionUser(
                user_id,
                bool(is_active),
                display_name,
                tuple(sorted(row[7] for row in rows if row[7] is not None)),
            )
        self._created_at = created_at
        # Worked out from _created_at when read (rarely).
        self._created = None
        super().update(json.loads(data))
        if now - last_seen_at > config.refresh_interval:
            self._schedule()

    # ISession

    def invalidate(self) -> None:
        """End the session: its row is deleted and its cookie cleared.

        Anything stored afterwards goes into a new session with a new id.
        """
        if self._row_id is not None:
            self._obsolete_ids.add(self._row_id)
        self._row_id = None
        self._cookie_value = None
        self.user_id = None
        self.loaded_user = None
        self.new = True
        self._created_at = self._config.clock.now()
        self._created = time.time()
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
        now = self._config.clock.now()
        if self._row_id is not None:
            values: dict[str, Any] = {"last_seen_at": now, "user_id": self.user_id}
            if self._dirty:
                values["data"] = json.dumps(dict(self))
            dbsession.execute(
                update(ServerSession).where(ServerSession.id == self._row_id).values(values)
            )
            self._outcome = "kept"
        elif self.user_id is not None or len(self):
            self._cookie_value = new_secret()
            self._row_id = digest(self._cookie_value)
            dbsession.add(
                ServerSession(
                    id=self._row_id,
                    user_id=self.user_id,
                    data=json.dumps(dict(self)),
                    created_at=self._created_at,
                    last_seen_at=now,
                )
            )
            self._outcome = "kept"
        elif self._obsolete_ids:
            self._outcome = "removed"
        dbsession.flush()

    def _set_cookie(self, request: Request, response: Response) -> None:
        # Only a committed session gets a cookie: when the transaction was
        # aborted, _save never ran and the old cookie (if any) stays valid.
        if self._outcome == "kept" and self._cookie_value is not None:
            response.set_cookie(
                self._config.cookie_name,
                self._cookie_value,
                httponly=True,
                samesite="Lax",
                secure=self._config.secure,
                path="/",
            )
        elif self._outcome == "removed":
            response.delete_cookie(self._config.cookie_name, path="/")


def session_factory(request: Request) -> DatabaseSession:
    """The session factory the add-on sets with ``config.set_session_factory``."""
    return DatabaseSession(request)


def revoke_sessions(
    dbsession: Session, user_id: int, *, keep: DatabaseSession | None = None
) -> int:
    """End every session of ``user_id`` except ``keep``; returns how many."""
    statement = delete(ServerSession).where(ServerSession.user_id == user_id)
    if keep is not None and keep._row_id is not None:
        statement = statement.where(ServerSession.id != keep._row_id)
    result = dbsession.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


def end_sessions(
    dbsession: Session, ids: Iterable[str], *, keep: DatabaseSession | None = None
) -> int:
    """End the sessions whose ids (rows of ``auth_sessions``) are ``ids``,
    except ``keep`` (the caller's own, which the request is about to save);
    returns how many ended. Their cookies stop working in every process."""
    wanted = set(ids)
    if keep is not None and keep._row_id is not None:
        wanted.discard(keep._row_id)
    if not wanted:
        return 0
    result = dbsession.execute(delete(ServerSession).where(ServerSession.id.in_(wanted)))
    return int(getattr(result, "rowcount", 0) or 0)
