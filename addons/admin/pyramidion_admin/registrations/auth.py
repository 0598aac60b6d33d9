"""The auth add-on's models in the admin.

Registered by the admin (auth cannot declare ``after=("admin",)``: the
admin requires auth). Every change goes through auth's Python API, so the
admin keeps auth's rules: a deactivated account's sessions end at once and
its API tokens are refused, the last active admin stays one, secrets are
never shown.

- **Users** (``/admin/auth/user/``): email, name, active, groups; search by
  email or name; filter on active, creation time and group (typed: its id
  or part of its name). Actions: activate,
  deactivate, send a password reset, end sessions, revoke API tokens. A
  user's groups are set on ``/admin/auth/user/<id>/groups``, linked from
  the user's page as "Groups".
- **Groups** with their members and the admin permissions they hold;
  **API tokens** (the hint only, never the
  token; revoke); **sessions** of logged-in users (end them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import colander
import deform
import sqlalchemy as sa
from pyramid.events import BeforeRender
from pyramid.httpexceptions import HTTPNotFound
from pyramid.response import Response

from pyramidion_auth.accounts import (
    AccountError,
    activate_user,
    deactivate_user,
    groups_of,
    list_groups,
    send_password_reset,
    set_groups,
)
from pyramidion_auth.models import ADMIN_GROUP, ApiToken, Group, ServerSession, User
from pyramidion_auth.sessions import DatabaseSession, end_sessions, revoke_sessions
from pyramidion_auth.tokens import revoke_api_token, revoke_api_tokens
from pyramidion_forms import FormError, FormView, flash

from ..history import record_change
from ..models import AdminGrant
from ..options import admin_site
from ..resources import ObjectContext, view_permission

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request

__all__ = [
    "UserGroupsView",
    "activate_users",
    "deactivate_users",
    "end_selected_sessions",
    "end_user_sessions",
    "groups_link",
    "includeme",
    "revoke_tokens",
    "revoke_user_tokens",
    "send_password_resets",
]


def _count(number: int, one: str, many: str | None = None) -> str:
    return f"{number} {one if number == 1 else (many or one + 's')}"


def _own_session(request: Request) -> DatabaseSession | None:
    # The caller's own session is about to be saved by this request; ending
    # it under the request would fail that save, so it is always kept.
    session = request.session
    return session if isinstance(session, DatabaseSession) else None


def _sentence(done: str, refused: list[str]) -> str:
    return " ".join([done, *refused])


def deactivate_users(request: Request, users: Sequence[User]) -> str:
    """Action: the accounts stop working at once (sessions end, tokens refused).

    The administrator's own account and the last active admin are left
    active, and the message says so.
    """
    me = request.user
    changed = 0
    refused: list[str] = []
    for user in users:
        if me is not None and user.id == me.id:
            refused.append(f"Your own account ({user.email}) stays active.")
            continue
        try:
            changed += deactivate_user(request.dbsession, user)
        except AccountError as error:
            refused.append(str(error))
    return _sentence(f"{_count(changed, 'user')} deactivated.", refused)


def activate_users(request: Request, users: Sequence[User]) -> str:
    """Action: the accounts may log in again; unexpired API tokens work again."""
    changed = sum(activate_user(request.dbsession, user) for user in users)
    return f"{_count(changed, 'user')} activated."


def send_password_resets(request: Request, users: Sequence[User]) -> str:
    """Action: email each active account a single-use link to choose a new password."""
    sent = sum(send_password_reset(request, user) for user in users)
    skipped = len(users) - sent
    message = f"Password reset link sent to {_count(sent, 'user')}."
    if skipped:
        message += f" {_count(skipped, 'inactive user')} got none."
    return message


def end_user_sessions(request: Request, users: Sequence[User]) -> str:
    """Action: every session of the users ends (the administrator's current one excepted)."""
    keep = _own_session(request)
    ended = sum(revoke_sessions(request.dbsession, user.id, keep=keep) for user in users)
    return f"{_count(ended, 'session')} ended."


def revoke_user_tokens(request: Request, users: Sequence[User]) -> str:
    """Action: every API token of the users stops working."""
    revoked = sum(revoke_api_tokens(request.dbsession, user.id) for user in users)
    return f"{_count(revoked, 'API token')} revoked."


def revoke_tokens(request: Request, tokens: Sequence[ApiToken]) -> str:
    """Action: the selected API tokens stop working."""
    for token in tokens:
        revoke_api_token(request.dbsession, token)
    return f"{_count(len(tokens), 'API token')} revoked."


def end_selected_sessions(request: Request, sessions: Sequence[ServerSession]) -> str:
    """Action: the selected sessions end (the administrator's current one excepted)."""
    ended = end_sessions(request.dbsession, [s.id for s in sessions], keep=_own_session(request))
    return f"{_count(ended, 'session')} ended."


def _action(
    name: str, label: str, handler: Callable[..., str], *, destructive: bool = False
) -> dict[str, Any]:
    return {"name": name, "label": label, "handler": handler, "destructive": destructive}


class UserGroupsView(FormView):
    """``/admin/auth/user/<id>/groups``: the groups a user is a member of.

    Ticks for the existing groups and a field for a new one; saving makes
    the user a member of exactly those (:func:`~pyramidion_auth.accounts.set_groups`),
    recorded in the history. Taking the last active admin out of ``admin``
    is refused with the reason.
    """

    title = "Groups"
    submit_title = "Save groups"

    @property
    def user(self) -> User:
        obj = self.context.obj
        if not isinstance(obj, User):
            raise HTTPNotFound()
        return obj

    def __call__(self) -> Response:
        self.user  # noqa: B018 (a row of another model has no groups page: 404)
        return super().__call__()

    def get_schema(self) -> Any:
        names = [group.name for group, _members in list_groups(self.request.dbsession)]
        schema = colander.SchemaNode(colander.Mapping())
        schema.add(
            colander.SchemaNode(
                colander.Set(),
                name="groups",
                title="Member of",
                missing=set(),
                validator=colander.ContainsOnly(names),
                widget=deform.widget.CheckboxChoiceWidget(values=[(n, n) for n in names]),
            )
        )
        schema.add(
            colander.SchemaNode(
                colander.String(),
                name="new_group",
                title="Also a member of a new group",
                description="Letters, digits, '.', '_' or '-'; leave empty for none.",
                missing="",
                validator=colander.Length(max=64),
            )
        )
        return schema

    def appstruct(self) -> dict[str, Any]:
        return {"groups": set(groups_of(self.user))}

    def page_values(self) -> dict[str, Any]:
        return {"page_title": f"Groups of {self.user.email}"}

    def on_success(self, appstruct: dict[str, Any]) -> str:
        user = self.user
        wanted = set(appstruct["groups"])
        if appstruct["new_group"].strip():
            wanted.add(appstruct["new_group"].strip())
        before = groups_of(user)
        try:
            added, ended = set_groups(self.request.dbsession, user, wanted)
        except AccountError as error:
            raise FormError(str(error)) from None
        if added or ended:
            record_change(self.request, user, "change", {"groups": [before, groups_of(user)]})
        groups = ", ".join(groups_of(user)) or "no group"
        flash(self.request, f"{user.email} is a member of: {groups}.")
        return str(self.request.resource_url(self.context))


def group_grants(event: BeforeRender) -> None:
    """Subscriber: a group's page in the admin lists the admin permissions
    the group holds, each with what it allows (one more inline section)."""
    context = event.get("context")
    request = event.get("request")
    if request is None or not isinstance(context, ObjectContext):
        return
    group = context.obj
    # The page's own values (BeforeRender's rendering_val) hold its inlines.
    values = event.rendering_val
    if not isinstance(group, Group) or not isinstance(values, dict) or "inlines" not in values:
        return
    described = admin_site(request.registry).permissions()
    if group.name == ADMIN_GROUP:
        rows = [("", None, ["every permission", "The admin group may do everything."])]
    else:
        held = request.dbsession.scalars(
            sa.select(AdminGrant.permission)
            .where(AdminGrant.group_id == group.id)
            .order_by(AdminGrant.permission)
        )
        rows = [
            ("", None, [permission, described.get(permission, "(no registered model)")])
            for permission in held
        ]
    grants = {
        "label": "Admin permissions",
        "columns": ["Permission", "What it allows"],
        "rows": rows,
    }
    values["inlines"] = [*values["inlines"], grants]


def groups_link(event: BeforeRender) -> None:
    """Subscriber: a user's page in the admin links to their groups page,
    for those who may change users (the template's ``object_links``)."""
    context = event.get("context")
    request = event.get("request")
    if not isinstance(context, ObjectContext) or not isinstance(context.obj, User):
        return
    if request is None or not request.has_permission(view_permission("change"), context):
        return
    event["object_links"] = [("Groups", str(request.resource_url(context, "groups")))]


def includeme(config: Configurator) -> None:
    """Register users, groups, API tokens and sessions with the admin, and
    the page of a user's groups."""
    config.add_admin_model(
        User,
        addon="auth",
        list_display=("email", "display_name", "is_active", "groups", "created_at"),
        search_fields=("email", "display_name"),
        # A group is looked up by its id or by text in its name, never
        # chosen from a list of every group.
        list_filter=("is_active", "created_at", "groups"),
        ordering=("email",),
        fields=("email", "display_name"),
        # Activating and deactivating are actions: they end sessions too.
        readonly_fields=(
            "is_active",
            "email_verified_at",
            "password_changed_at",
            "created_at",
            "updated_at",
        ),
        secret_fields=("password_hash",),
        inlines=("groups",),
        actions=[
            _action("deactivate", "Deactivate", deactivate_users, destructive=True),
            _action("activate", "Activate", activate_users),
            _action("send_password_reset", "Send a password reset", send_password_resets),
            _action("end_sessions", "End their sessions", end_user_sessions, destructive=True),
            _action(
                "revoke_tokens", "Revoke their API tokens", revoke_user_tokens, destructive=True
            ),
        ],
    )
    config.add_admin_model(
        Group,
        addon="auth",
        list_display=("name", "description"),
        search_fields=("name", "description"),
        list_filter=(),
        ordering=("name",),
        fields=("name", "description"),
        inlines=("members",),
    )
    config.add_admin_model(
        ApiToken,
        addon="auth",
        label="API token",
        list_display=("name", "hint", "user", "created_at", "expires_at"),
        search_fields=("name",),
        list_filter=("expires_at", "user"),
        ordering=("-created_at",),
        # Tokens are made by their owner, shown once; the admin only revokes.
        fields=(),
        readonly_fields=("name", "hint", "created_at", "expires_at"),
        secret_fields=("token_hash",),
        actions=[_action("revoke", "Revoke", revoke_tokens, destructive=True)],
    )
    config.add_admin_model(
        ServerSession,
        addon="auth",
        name="session",
        label="Session",
        list_display=("user", "created_at", "last_seen_at"),
        search_fields=(),
        list_filter=("last_seen_at", "user"),
        ordering=("-last_seen_at",),
        fields=(),
        readonly_fields=("created_at", "last_seen_at"),
        # The session's data holds its CSRF token and flash messages.
        secret_fields=("data",),
        actions=[_action("end", "End", end_selected_sessions, destructive=True)],
    )
    config.add_subscriber(groups_link, BeforeRender)
    config.add_subscriber(group_grants, BeforeRender)
    config.add_view(
        UserGroupsView,
        context=ObjectContext,
        name="groups",
        permission=view_permission("change"),
    )
