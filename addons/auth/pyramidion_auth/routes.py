"""The auth add-on's routes and views (mounted under ``/auth`` by default)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyramid.httpexceptions import HTTPForbidden

from pyramidion import PUBLIC

from .models import CREDENTIALS_PERMISSION

if TYPE_CHECKING:
    from pyramid.config import Configurator

#: (route name, pattern) of every page and endpoint, for includeme and tests.
ROUTES = (
    ("auth.login", "/login"),
    ("auth.logout", "/logout"),
    ("auth.account", "/account"),
    ("auth.password", "/password"),
    ("auth.reset_request", "/reset"),
    ("auth.reset", "/reset/confirm"),
    ("auth.register", "/register"),
    ("auth.verify", "/verify"),
    ("auth.tokens", "/tokens"),
    ("auth.token_revoke", "/tokens/{id:\\d+}/revoke"),
    ("auth.api.me", "/api/me"),
    ("auth.api.tokens", "/api/tokens"),
    ("auth.api.token", "/api/tokens/{id:\\d+}"),
)

_ACCOUNT_ROUTES = frozenset(
    {"auth.account", "auth.password", "auth.tokens", "auth.token_revoke"}
    | {"auth.api.me", "auth.api.tokens", "auth.api.token"}
)


def includeme(config: Configurator) -> None:
    """Add the routes and their views, and the view that sends anonymous
    browsers to the login page when they lack a permission."""
    from . import views

    # Only for anonymous requests: a logged-in user who lacks a permission
    # gets the core's 403 page.
    config.add_exception_view(
        views.forbidden_anonymous, context=HTTPForbidden, is_authenticated=False
    )

    for name, pattern in ROUTES:
        factory = views.account_factory if name in _ACCOUNT_ROUTES else None
        config.add_route(name, pattern, factory=factory)

    # These forms count attempts in the throttle before their CSRF check:
    # see views.check_csrf_after_throttle.
    config.add_view(
        views.LoginView, route_name="auth.login", permission=PUBLIC, require_csrf=False
    )
    config.add_view(
        views.logout_page,
        route_name="auth.logout",
        request_method=("GET", "HEAD"),
        renderer="pyramidion_auth:templates/logout.pt",
        permission=PUBLIC,
    )
    config.add_view(
        views.logout, route_name="auth.logout", request_method="POST", permission=PUBLIC
    )
    config.add_view(
        views.account_page,
        route_name="auth.account",
        renderer="pyramidion_auth:templates/account.pt",
        permission="view",
    )
    config.add_view(
        views.ChangePasswordView, route_name="auth.password", permission=CREDENTIALS_PERMISSION
    )
    config.add_view(
        views.ResetRequestView,
        route_name="auth.reset_request",
        permission=PUBLIC,
        require_csrf=False,
    )
    config.add_view(views.ResetView, route_name="auth.reset", permission=PUBLIC)
    config.add_view(
        views.RegisterView, route_name="auth.register", permission=PUBLIC, require_csrf=False
    )
    config.add_view(views.VerifyView, route_name="auth.verify", permission=PUBLIC)
    config.add_view(views.TokensView, route_name="auth.tokens", permission=CREDENTIALS_PERMISSION)
    config.add_view(
        views.revoke_token,
        route_name="auth.token_revoke",
        request_method="POST",
        permission="auth.account.edit",
    )
    config.add_view(views.api_me, route_name="auth.api.me", renderer="json", permission="view")
    config.add_view(
        views.api_list_tokens,
        route_name="auth.api.tokens",
        request_method="GET",
        renderer="json",
        permission="auth.account.edit",
    )
    config.add_view(
        views.api_create_token,
        route_name="auth.api.tokens",
        request_method="POST",
        renderer="json",
        permission=CREDENTIALS_PERMISSION,
    )
    config.add_view(
        views.api_revoke_token,
        route_name="auth.api.token",
        request_method="DELETE",
        permission="auth.account.edit",
    )
    # The account link lives in the user menu (config.set_user_menu), which
    # shows it to logged-in users only; a nav entry showed it to everyone.
