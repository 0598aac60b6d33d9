"""The auth add-on's resources over the API: the current user and API tokens.

The auth add-on cannot register them itself: ``api`` requires ``auth``, so
auth declaring ``after=("api",)`` would be a cycle. They live here and use
only auth's public names. ``/auth/api/me`` and ``/auth/api/tokens`` keep
working beside them.

- ``GET /me``: who is asking; ``PATCH /me`` ``{"display_name"}``.
- ``GET /tokens``: the user's tokens (never the tokens themselves);
  ``POST /tokens`` ``{"name", "days", "scope"}``: 201 with the new token,
  shown once. Only a logged-in session may create tokens: the permission
  (``auth.credentials.edit``) is denied to token-authenticated requests, so
  a leaked token cannot mint itself successors.
- ``DELETE /tokens/{id}``: revoke one of the user's tokens (204).
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

import colander
from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound
from pyramid.response import Response
from sqlalchemy import delete

from pyramidion import column_value
from pyramidion_auth.interfaces import Clock
from pyramidion_auth.models import (
    CREDENTIALS_PERMISSION,
    TOKEN_SCOPES,
    WRITE_SCOPE,
    ApiToken,
    User,
)
from pyramidion_auth.tokens import api_tokens_of, create_api_token, token_json

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request

__all__ = ["includeme"]


# -- schemas --------------------------------------------------------------------


class MeSchema(colander.Schema):  # type: ignore[misc]
    """``PATCH /me``: what a user may change about themselves here."""

    display_name = colander.SchemaNode(
        colander.String(), validator=colander.Length(min=1, max=200)
    )


class UserOut(colander.Schema):  # type: ignore[misc]
    id = colander.SchemaNode(colander.Integer())
    email = colander.SchemaNode(colander.String())
    display_name = colander.SchemaNode(colander.String())
    groups = colander.SchemaNode(
        colander.Sequence(), colander.SchemaNode(colander.String(), name="group")
    )


class NewTokenSchema(colander.Schema):  # type: ignore[misc]
    """``POST /tokens``: ``scope`` is write unless the client asks for read."""

    name = colander.SchemaNode(colander.String(), validator=colander.Length(min=1, max=100))
    days = colander.SchemaNode(
        colander.Integer(), missing=None, validator=colander.Range(min=1, max=3650)
    )
    scope = colander.SchemaNode(
        colander.String(), missing=WRITE_SCOPE, validator=colander.OneOf(TOKEN_SCOPES)
    )


def _token_fields() -> list[colander.SchemaNode]:
    return [
        colander.SchemaNode(colander.Integer(), name="id"),
        colander.SchemaNode(colander.String(), name="name"),
        colander.SchemaNode(colander.String(), name="hint"),
        colander.SchemaNode(
            colander.String(), name="scope", validator=colander.OneOf(TOKEN_SCOPES)
        ),
        colander.SchemaNode(colander.String(), name="created_at"),
        colander.SchemaNode(colander.String(), name="expires_at"),
        colander.SchemaNode(colander.Boolean(), name="expired"),
    ]


def token_out() -> colander.SchemaNode:
    """A token as the API shows it (never the token itself)."""
    node = colander.SchemaNode(colander.Mapping(), name="token")
    for child in _token_fields():
        node.add(child)
    return node


def new_token_out() -> colander.SchemaNode:
    """A new token, with the token itself (shown only in this answer)."""
    node = token_out()
    node.add(
        colander.SchemaNode(colander.String(), name="token"),
    )
    return node


def token_list_out() -> colander.SchemaNode:
    node = colander.SchemaNode(colander.Mapping())
    node.add(colander.SchemaNode(colander.Sequence(), token_out(), name="tokens"))
    return node


# -- contexts -------------------------------------------------------------------


def current_user(request: Request) -> User:
    """Context of ``/me`` and ``/tokens``: the logged-in user (anonymous: 401)."""
    user: User | None = request.user
    if user is None:
        # The API's exception view answers an anonymous refusal with 401.
        raise HTTPForbidden()
    return user


def owned_token(request: Request) -> User:
    """Context of ``/tokens/{id}``: the user, once the token is known to be theirs.

    Someone else's token is answered 404, exactly like one that does not exist.
    """
    user = current_user(request)
    key = column_value(ApiToken.__table__.c.id, request.matchdict["id"])
    token = None if key is None else request.dbsession.get(ApiToken, key)
    if token is None or token.user_id != user.id:
        raise HTTPNotFound()
    return user


# -- views ----------------------------------------------------------------------


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "display_name": user.display_name,
        "groups": [group.name for group in user.groups],
    }


def get_me(context: User, request: Request) -> dict[str, Any]:
    """The authenticated user."""
    return user_json(context)


def patch_me(context: User, request: Request) -> dict[str, Any]:
    """Change the authenticated user's display name."""
    context.display_name = request.api_input["display_name"].strip() or context.display_name
    return user_json(context)


def list_tokens(context: User, request: Request) -> dict[str, Any]:
    """The user's API tokens, oldest first."""
    now = request.find_service(Clock).now()
    return {"tokens": [token_json(t, now) for t in api_tokens_of(request.dbsession, context)]}


def create_token(context: User, request: Request) -> dict[str, Any]:
    """Create an API token (a logged-in session only); the token is shown once."""
    data = request.api_input
    days = data.get("days")
    row, token = create_api_token(
        request.registry,
        request.dbsession,
        context,
        data["name"],
        datetime.timedelta(days=days) if days else None,
        scope=data["scope"],
    )
    return {**token_json(row, request.find_service(Clock).now()), "token": token}


def revoke_token(context: User, request: Request) -> Response:
    """Revoke one of the user's tokens; it stops working at once."""
    key = column_value(ApiToken.__table__.c.id, request.matchdict["id"])
    request.dbsession.execute(
        delete(ApiToken).where(ApiToken.id == key, ApiToken.user_id == context.id)
    )
    return Response(status=204)


def includeme(config: Configurator) -> None:
    """Add the operations ``/me`` and ``/tokens`` (see the module), and 403
    to every unsafe operation of the document: auth refuses them to a
    read-scoped token, whatever the operation's own permission."""
    config.add_api_error(
        403,
        "Forbidden: the client may not do this (a read-scoped API token is refused every change).",
        methods=("POST", "PUT", "PATCH", "DELETE"),
    )
    tags = ("account",)
    config.add_api_view(
        get_me,
        "/me",
        "GET",
        factory=current_user,
        response_schema=UserOut,
        permission="view",
        tags=tags,
    )
    config.add_api_view(
        patch_me,
        "/me",
        "PATCH",
        factory=current_user,
        request_schema=MeSchema,
        response_schema=UserOut,
        permission="auth.account.edit",
        tags=tags,
    )
    config.add_api_view(
        list_tokens,
        "/tokens",
        "GET",
        factory=current_user,
        response_schema=token_list_out(),
        permission="auth.account.edit",
        tags=tags,
    )
    config.add_api_view(
        create_token,
        "/tokens",
        "POST",
        factory=current_user,
        request_schema=NewTokenSchema,
        response_schema=new_token_out(),
        status=201,
        permission=CREDENTIALS_PERMISSION,
        tags=tags,
        description="Only a logged-in session may create tokens; a request "
        "authenticated by an API token is refused (403).",
    )
    config.add_api_view(
        revoke_token,
        "/tokens/{id}",
        "DELETE",
        factory=owned_token,
        status=204,
        permission="auth.account.edit",
        tags=tags,
    )
