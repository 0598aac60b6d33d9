"""Form and JSON schemas of the auth pages.

Password fields carry no length rule of their own: the password policy in
:mod:`pyramidion_auth.passwords` decides, so that the form and the
commands refuse the same passwords with the same reasons.
"""

from __future__ import annotations

import colander
import deform

from .models import READ_SCOPE, TOKEN_SCOPES, WRITE_SCOPE

#: Longer than any email address (RFC 5321 allows 254 characters).
EMAIL_MAX = 254
#: A generous limit on what is read from a password field, before hashing;
#: the byte limit setting is checked after.
PASSWORD_FIELD_MAX = 4096


def _password(title: str, *, confirm: bool = False) -> colander.SchemaNode:
    widget = deform.widget.CheckedPasswordWidget() if confirm else deform.widget.PasswordWidget()
    return colander.SchemaNode(
        colander.String(),
        title=title,
        widget=widget,
        validator=colander.Length(max=PASSWORD_FIELD_MAX),
        preparer=None,
    )


def valid_address(node: colander.SchemaNode, value: str) -> None:
    """Colander validator: one email address (see ``accounts.check_email``)."""
    from .accounts import AccountError, check_email

    try:
        check_email(value)
    except AccountError:
        raise colander.Invalid(
            node, "Enter one email address, such as name@example.com."
        ) from None


def _email(title: str = "Email", *, checked: bool = False) -> colander.SchemaNode:
    length = colander.Length(max=EMAIL_MAX)
    return colander.SchemaNode(
        colander.String(),
        title=title,
        validator=colander.All(length, valid_address) if checked else length,
        widget=deform.widget.TextInputWidget(
            attributes={"type": "email", "autocomplete": "username"}
        ),
    )


class LoginSchema(colander.Schema):  # type: ignore[misc]
    email = _email()
    password = _password("Password")
    came_from = colander.SchemaNode(
        colander.String(),
        missing="",
        widget=deform.widget.HiddenWidget(),
        validator=colander.Length(max=2000),
    )


class ChangePasswordSchema(colander.Schema):  # type: ignore[misc]
    current_password = _password("Current password")
    new_password = _password("New password", confirm=True)


class ResetRequestSchema(colander.Schema):  # type: ignore[misc]
    email = _email(checked=True)


class ResetSchema(colander.Schema):  # type: ignore[misc]
    new_password = _password("New password", confirm=True)


class RegisterSchema(colander.Schema):  # type: ignore[misc]
    email = _email(checked=True)
    display_name = colander.SchemaNode(
        colander.String(), title="Your name", validator=colander.Length(min=1, max=200)
    )
    password = _password("Password", confirm=True)


class ConfirmSchema(colander.Schema):  # type: ignore[misc]
    """A form with only a button (logout, verification)."""


#: The scopes as the token form offers them.
SCOPE_CHOICES = (
    (READ_SCOPE, "Read: may only read (GET)"),
    (WRITE_SCOPE, "Read and write: may do whatever you may, except create tokens"),
)


class NewTokenSchema(colander.Schema):  # type: ignore[misc]
    name = colander.SchemaNode(
        colander.String(), title="Name", validator=colander.Length(min=1, max=100)
    )
    # Read is preselected: a person choosing gets least privilege unless
    # they ask for more.
    scope = colander.SchemaNode(
        colander.String(),
        title="Scope",
        default=READ_SCOPE,
        validator=colander.OneOf(TOKEN_SCOPES),
        widget=deform.widget.RadioChoiceWidget(values=SCOPE_CHOICES),
    )
    days = colander.SchemaNode(
        colander.Integer(),
        title="Valid for (days)",
        missing=None,
        validator=colander.Range(min=1, max=3650),
    )


class NewTokenJsonSchema(colander.Schema):  # type: ignore[misc]
    """``POST /auth/api/tokens``: ``{"name": ..., "days": ..., "scope": ...}``.

    ``scope`` defaults to ``"write"``: clients written before scopes
    existed keep getting the tokens they asked for.
    """

    name = colander.SchemaNode(colander.String(), validator=colander.Length(min=1, max=100))
    scope = colander.SchemaNode(
        colander.String(), missing=WRITE_SCOPE, validator=colander.OneOf(TOKEN_SCOPES)
    )
    days = colander.SchemaNode(
        colander.Integer(), missing=None, validator=colander.Range(min=1, max=3650)
    )
