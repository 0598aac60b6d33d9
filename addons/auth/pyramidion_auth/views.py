"""The auth pages and JSON endpoints.

Pages are :class:`pyramidion_forms.FormView` subclasses in the forms
layout, so every form carries the CSRF token and an invalid submission is
shown again with status 422. Wording never says whether an email address
has an account.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pyramid.csrf import check_csrf_origin, check_csrf_token, new_csrf_token
from pyramid.httpexceptions import (
    HTTPForbidden,
    HTTPNotFound,
    HTTPSeeOther,
    HTTPTooManyRequests,
    HTTPUnauthorized,
)
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import forget
from sqlalchemy import delete

from pyramidion import column_value, csrf_check_required, problem_response, wants_json
from pyramidion_forms import FormError, FormView, flash, validate_json

from .accounts import (
    AccountError,
    authenticate,
    client_address,
    create_user,
    find_user,
    log_in,
    safe_came_from,
    send_password_reset,
    set_password,
)
from .interfaces import Clock, PasswordHasher, Throttle, ThrottleKey
from .mail import send_mail
from .models import ApiToken, OneTimeToken, User, normalize_email
from .schemas import (
    ChangePasswordSchema,
    ConfirmSchema,
    LoginSchema,
    NewTokenJsonSchema,
    NewTokenSchema,
    RegisterSchema,
    ResetRequestSchema,
    ResetSchema,
)
from .security_policy import bearer_token
from .services import auth_settings
from .sessions import DatabaseSession
from .tokens import (
    api_tokens_of,
    create_api_token,
    digest,
    find_one_time_token,
    issue_one_time_token,
    token_json,
)

#: The one message for an unknown email, a wrong password and an inactive account.
LOGIN_FAILED = "The email address or password is incorrect."

MESSAGE_TEMPLATE = "pyramidion_auth:templates/message.pt"


def account_factory(request: Request) -> User:
    """Route factory of the account pages: the logged-in user is the context.

    Anonymous browsers are sent to the login page (and back afterwards);
    anonymous API clients get 401.
    """
    user: User | None = request.user
    if user is None:
        if wants_json(request) or bearer_token(request) is not None:
            raise HTTPUnauthorized(headers={"WWW-Authenticate": "Bearer"})
        login = request.route_url("auth.login", _query={"came_from": request.path_qs})
        raise HTTPSeeOther(location=login)
    return user


def forbidden_anonymous(exc: HTTPForbidden, request: Request) -> Response:
    """An anonymous request lacks a permission: log in first.

    Browsers are sent to the login page, which brings them back to a page
    they asked for with GET; API clients (JSON, or an ``Authorization:
    Bearer`` header) get 401 as problem+json. Registered only for anonymous
    requests: logged-in users who lack a permission get the core's 403.
    """
    if wants_json(request) or bearer_token(request) is not None:
        response = problem_response(
            request,
            401,
            "Unauthorized",
            "Log in, or send an API token: Authorization: Bearer <token>.",
        )
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    query = {"came_from": request.path_qs} if request.method in ("GET", "HEAD") else {}
    return HTTPSeeOther(location=request.route_url("auth.login", _query=query))


def message_page(
    request: Request,
    title: str,
    text: str,
    *,
    status: int = 200,
    link: tuple[str, str] | None = None,
) -> Response:
    """A page in the layout with a heading, a sentence and an optional link."""
    response = render_to_response(
        MESSAGE_TEMPLATE,
        {"page_title": title, "text": text, "link": link},
        request=request,
    )
    response.status_int = status
    return response


# -- login and logout ------------------------------------------------------------


def check_csrf_after_throttle(request: Request) -> None:
    """The CSRF check of the login, registration and reset forms, made by
    the view once the throttle has counted the attempt.

    The throttle commits its counts on a connection of its own. Checking
    the token reads the session, which begins the request's transaction;
    begun before those counts were committed, that transaction would read
    an older snapshot, which SQLite refuses to write on (and, in the test
    kit, it would hold the counts in a savepoint that a refused attempt
    rolls back). So these views turn Pyramid's check off and make it here:
    a forged request is still refused before it logs in, registers or
    mails anyone.
    """
    if csrf_check_required(request):
        check_csrf_origin(request)
        check_csrf_token(request)


class ThrottledFormView(FormView):
    """A form whose view makes its own CSRF check
    (:func:`check_csrf_after_throttle`): in ``on_success`` once the throttle
    has counted, and here for a submission answered with the form again
    (invalid fields, say), so a forged one is refused all the same."""

    def render(self, form: Any, html: str, *, status: int = 200) -> Response:
        if self.request.method == "POST":
            check_csrf_after_throttle(self.request)
        return super().render(form, html, status=status)


class LoginView(ThrottledFormView):
    """``/auth/login``: email and password; redirects to ``came_from`` on this site."""

    schema = LoginSchema
    template = "pyramidion_auth:templates/login.pt"
    title = "Log in"
    submit_title = "Log in"
    form_options: ClassVar[dict[str, Any]] = {"formid": "login"}

    def appstruct(self) -> dict[str, Any]:
        return {"came_from": safe_came_from(self.request, self.request.GET.get("came_from")) or ""}

    def page_values(self) -> dict[str, Any]:
        return {"allow_registration": auth_settings(self.request.registry).allow_registration}

    def on_success(self, appstruct: dict[str, Any]) -> Response:
        request = self.request
        outcome = authenticate(request, appstruct["email"], appstruct["password"])
        check_csrf_after_throttle(request)
        if outcome.refusal is not None:
            seconds = outcome.refusal.retry_after
            raise HTTPTooManyRequests(
                detail=f"Too many failed logins. Try again in {seconds} seconds.",
                headers={"Retry-After": str(seconds)},
            )
        if outcome.unverified:
            raise FormError(
                "Confirm your email address first: follow the link in the email we sent you."
            )
        if outcome.user_id is None:
            raise FormError(LOGIN_FAILED)
        user = request.dbsession.get(User, outcome.user_id)
        if user is None:  # deleted between the check and now
            raise FormError(LOGIN_FAILED)
        log_in(request, user, appstruct["password"])
        settings = auth_settings(request.registry)
        target = safe_came_from(request, appstruct["came_from"]) or settings.login_redirect
        return HTTPSeeOther(location=target)


def logout_page(request: Request) -> dict[str, Any]:
    """``GET /auth/logout``: a button, since logging out takes a POST."""
    return {"page_title": "Log out"}


def logout(request: Request) -> Response:
    """``POST /auth/logout``: delete the session server-side and clear its
    cookie; the CSRF token changes too."""
    # Who was logged in needs no User: the identity says whether anyone was.
    logged_in = request.identity is not None
    forget(request)
    new_csrf_token(request)
    if logged_in:
        flash(request, "You have logged out.", "info")
    return HTTPSeeOther(location=request.route_url("auth.login"))


# -- the account -----------------------------------------------------------------


def account_page(context: User, request: Request) -> dict[str, Any]:
    """``/auth/account``: who you are, and links to change things."""
    return {"page_title": "Your account", "user": context}


class ChangePasswordView(FormView):
    """``/auth/password``: change your password; your other sessions end and
    your API tokens are revoked."""

    schema = ChangePasswordSchema
    title = "Change password"
    submit_title = "Change password"
    success_message = (
        "Your password has been changed. Other sessions have been logged out "
        "and your API tokens revoked."
    )

    def on_success(self, appstruct: dict[str, Any]) -> str:
        request = self.request
        user: User = self.context
        passwords: PasswordHasher = request.find_service(PasswordHasher)
        if not passwords.verify(user.password_hash, appstruct["current_password"]):
            raise FormError("This is not your current password.", field="current_password")
        session = request.session
        keep = session if isinstance(session, DatabaseSession) else None
        try:
            set_password(request, request.dbsession, user, appstruct["new_password"], keep=keep)
        except AccountError as exc:
            raise FormError(str(exc), field="new_password") from None
        if keep is not None:
            keep.rotate(user.id)
        new_csrf_token(request)
        return str(request.route_url("auth.account"))


# -- password reset --------------------------------------------------------------


RESET_SENT = (
    "If an account uses that address, we have sent it a link to choose a new "
    "password. The link works once, for {minutes} minutes."
)


def check_signup_throttle(request: Request) -> None:
    """Count a registration or reset request from the client's address;
    429 with ``Retry-After`` past ``auth.throttle_signup_limit``."""
    settings = auth_settings(request.registry)
    throttle: Throttle = request.find_service(Throttle)
    key = ThrottleKey(
        f"signup:{(client_address(request) or 'unknown')[:80]}", settings.throttle_signup_limit
    )
    refusal = throttle.count(key, request.find_service(Clock).now())
    if refusal is not None:
        raise HTTPTooManyRequests(
            detail=f"Too many requests from your address. Try again in "
            f"{refusal.retry_after} seconds.",
            headers={"Retry-After": str(refusal.retry_after)},
        )


class ResetRequestView(ThrottledFormView):
    """``/auth/reset``: email me a link to choose a new password."""

    schema = ResetRequestSchema
    title = "Forgot your password?"
    submit_title = "Send me a link"

    def on_success(self, appstruct: dict[str, Any]) -> str:
        request = self.request
        settings = auth_settings(request.registry)
        address = normalize_email(appstruct["email"])
        check_signup_throttle(request)
        # Counted first, outside the request's transaction: see DatabaseThrottle.
        throttle: Throttle = request.find_service(Throttle)
        refusal = throttle.count(
            ThrottleKey(f"reset:{digest(address)}", settings.reset_emails_per_window),
            request.find_service(Clock).now(),
        )
        check_csrf_after_throttle(request)
        user = find_user(request.dbsession, address)
        if refusal is None and user is not None:
            send_password_reset(request, user)
        minutes = int(settings.reset_token_lifetime.total_seconds() // 60)
        flash(request, RESET_SENT.format(minutes=minutes), "info")
        return str(request.route_url("auth.login"))


class _TokenFormView(FormView):
    """A form reached from an emailed link ``?token=...``; a bad link gets a message."""

    purpose: ClassVar[str] = ""

    def one_time_token(self) -> OneTimeToken | None:
        token = self.request.GET.get("token", "")
        return find_one_time_token(
            self.request.registry, self.request.dbsession, token, self.purpose
        )

    def __call__(self) -> Response:
        if self.one_time_token() is None:
            return message_page(
                self.request,
                "This link does not work",
                "It has expired or was already used. Ask for a new one.",
                status=400,
                link=(str(self.request.route_url("auth.reset_request")), "Get a new link"),
            )
        return super().__call__()


class ResetView(_TokenFormView):
    """``/auth/reset/confirm?token=...``: choose a new password (once per link)."""

    schema = ResetSchema
    purpose = "reset"
    title = "Choose a new password"
    submit_title = "Set password"
    success_message = "Your password has been set. Log in with it."

    def on_success(self, appstruct: dict[str, Any]) -> str:
        request = self.request
        row = self.one_time_token()
        if row is None:
            raise FormError("This link has expired or was already used.")
        user = row.user
        try:
            # Also deletes every reset token of the user, this one included.
            set_password(request, request.dbsession, user, appstruct["new_password"])
        except AccountError as exc:
            raise FormError(str(exc), field="new_password") from None
        if user.email_verified_at is None:
            # Following the emailed link proves the address works.
            user.email_verified_at = request.find_service(Clock).now()
        return str(request.route_url("auth.login"))


# -- registration and verification -----------------------------------------------


REGISTERED_LOG_IN = (
    "Thank you. If this address had no account, it has one now: log in with the "
    "password you chose. We have sent an email to the address."
)

REGISTERED_CHECK_EMAIL = (
    "Check your email: we have sent a link to confirm your address. Follow it, then log in."
)


class RegisterView(ThrottledFormView):
    """``/auth/register``: create an account; only when ``auth.allow_registration``."""

    schema = RegisterSchema
    title = "Create an account"
    submit_title = "Create account"

    def __call__(self) -> Response:
        if not auth_settings(self.request.registry).allow_registration:
            raise HTTPNotFound()
        return super().__call__()

    def on_success(self, appstruct: dict[str, Any]) -> str:
        request = self.request
        settings = auth_settings(request.registry)
        address = normalize_email(appstruct["email"])
        passwords: PasswordHasher = request.find_service(PasswordHasher)
        problem = passwords.problem(appstruct["password"], email=address)
        if problem:
            raise FormError(problem, field="password")
        check_signup_throttle(request)
        check_csrf_after_throttle(request)
        existing = find_user(request.dbsession, address)
        verify = settings.require_email_verification
        answer = REGISTERED_CHECK_EMAIL if verify else REGISTERED_LOG_IN
        if existing is not None:
            # The same answer, and the same hashing time, as for a new
            # address: only the address's owner learns, by email, that it
            # already had an account.
            passwords.hash(appstruct["password"])
            send_mail(
                request,
                existing.email,
                "Someone tried to register with your address",
                "Hello,\n\nSomeone, perhaps you, tried to create an account with this "
                "address, which already has one. To get in, reset your password:\n\n"
                f"{request.route_url('auth.reset_request')}\n",
            )
            flash(request, answer, "info")
            return str(request.route_url("auth.login"))
        try:
            user = create_user(
                request.registry,
                request.dbsession,
                email=address,
                password=appstruct["password"],
                display_name=appstruct["display_name"],
                verified=not verify,
            )
        except AccountError as exc:
            raise FormError(str(exc)) from None
        if verify:
            token = issue_one_time_token(request.registry, request.dbsession, user, "verify")
            link = request.route_url("auth.verify", _query={"token": token})
            send_mail(
                request,
                user.email,
                "Confirm your email address",
                f"Hello {user.display_name},\n\nTo confirm your address, open this link:"
                f"\n\n{link}\n",
            )
            flash(request, REGISTERED_CHECK_EMAIL, "info")
            return str(request.route_url("auth.login"))
        send_mail(
            request,
            user.email,
            "Your account is ready",
            f"Hello {user.display_name},\n\nYour account is ready. Log in with the "
            f"password you chose:\n\n{request.route_url('auth.login')}\n",
        )
        flash(request, answer, "info")
        return str(request.route_url("auth.login"))


class VerifyView(_TokenFormView):
    """``/auth/verify?token=...``: confirm an email address with a button
    (a POST, so that mail scanners following links confirm nothing)."""

    schema = ConfirmSchema
    purpose = "verify"
    title = "Confirm your email address"
    submit_title = "Confirm"
    success_message = "Your email address is confirmed. You can log in."

    def on_success(self, appstruct: dict[str, Any]) -> str:
        row = self.one_time_token()
        if row is None:
            raise FormError("This link has expired or was already used.")
        now = self.request.find_service(Clock).now()
        row.used_at = now
        row.user.email_verified_at = now
        return str(self.request.route_url("auth.login"))


# -- API tokens --------------------------------------------------------------------


class TokensView(FormView):
    """``/auth/tokens``: your API tokens, a form for a new one, revoke buttons.

    A new token is shown once, on the page that answers the form; only its
    digest is stored.
    """

    schema = NewTokenSchema
    template = "pyramidion_auth:templates/tokens.pt"
    title = "API tokens"
    submit_title = "Create token"
    new_token: str | None = None

    def page_values(self) -> dict[str, Any]:
        return {
            "tokens": api_tokens_of(self.request.dbsession, self.context),
            "now": self.request.find_service(Clock).now(),
            "new_token": self.new_token,
        }

    def on_success(self, appstruct: dict[str, Any]) -> Response:
        import datetime

        days = appstruct.get("days")
        lifetime = datetime.timedelta(days=days) if days else None
        _row, self.new_token = create_api_token(
            self.request.registry,
            self.request.dbsession,
            self.context,
            appstruct["name"],
            lifetime,
            scope=appstruct["scope"],
        )
        form = self.make_form()
        return self.render(form, form.render())


def _owned_token(request: Request, user: User) -> ApiToken:
    key = column_value(ApiToken.__table__.c.id, request.matchdict["id"])
    token: ApiToken | None = None if key is None else request.dbsession.get(ApiToken, key)
    if token is None or token.user_id != user.id:
        raise HTTPNotFound()
    return token


def revoke_token(context: User, request: Request) -> Response:
    """``POST /auth/tokens/{id}/revoke``: the token stops working at once."""
    token = _owned_token(request, context)
    request.dbsession.delete(token)
    flash(request, f"Token '{token.name}' revoked.", "info")
    return HTTPSeeOther(location=request.route_url("auth.tokens"))


def api_me(context: User, request: Request) -> dict[str, Any]:
    """``GET /auth/api/me``: the authenticated user."""
    return {
        "id": context.id,
        "email": context.email,
        "display_name": context.display_name,
        "groups": [group.name for group in context.groups],
    }


def api_list_tokens(context: User, request: Request) -> dict[str, Any]:
    """``GET /auth/api/tokens``: the user's tokens (never the tokens themselves)."""
    now = request.find_service(Clock).now()
    return {"tokens": [token_json(t, now) for t in api_tokens_of(request.dbsession, context)]}


def api_create_token(context: User, request: Request) -> dict[str, Any]:
    """``POST /auth/api/tokens`` ``{"name", "days", "scope"}``: 201 with the
    token, shown once. ``scope`` is ``"read"`` or ``"write"`` (the default).

    Only a logged-in session may create tokens (the view's permission,
    ``auth.credentials.edit``, is denied to token-authenticated requests),
    so a leaked token cannot mint itself successors.
    """
    import datetime

    data = validate_json(request, NewTokenJsonSchema)
    days = data.get("days")
    row, token = create_api_token(
        request.registry,
        request.dbsession,
        context,
        data["name"],
        datetime.timedelta(days=days) if days else None,
        scope=data["scope"],
    )
    request.response.status_int = 201
    return {"token": token, **token_json(row, request.find_service(Clock).now())}


def api_revoke_token(context: User, request: Request) -> Response:
    """``DELETE /auth/api/tokens/{id}``: 204; the token stops working at once."""
    token = _owned_token(request, context)
    request.dbsession.execute(delete(ApiToken).where(ApiToken.id == token.id))
    return Response(status=204)
