"""The auth add-on: accounts, login, sessions, permissions and API tokens.

Enable it with ``pyramidion.addons = auth`` (it requires ``forms``, whose
layout its pages use), run ``pyramidion db upgrade`` and create the first
administrator::

    pyramidion auth create-user development.ini admin@example.com --admin

What it gives an application:

- **Identity.** An identity source for the core's security policy.
  Principals: ``user:<id>``, ``group:<name>`` for each group and
  ``system.Authenticated``. Members of the ``admin`` group may do
  everything (the core's root ACL). ``request.user`` is the logged-in
  :class:`~pyramidion_auth.models.User` or None, loaded at most once per
  request and only when something asks.
- **Sessions.** ``request.session`` is a server-side session in
  ``auth_sessions`` (flash messages work); the cookie holds only a random
  id, HttpOnly, SameSite=Lax and Secure outside development. The id
  changes at login; logout and password changes delete sessions in the
  database, so a copied cookie stops working in every process. Idle and
  absolute timeouts are settings. A request that never touches
  ``request.session`` or the identity costs no query.
- **Passwords.** Argon2id (m=64 MiB, t=3, p=4 by default, never below
  OWASP's m=19 MiB, t=2), rehashed at login when the parameters change;
  a minimum length, a byte limit checked before hashing and a list of the
  10,000 most common passwords refused.
- **Who is logged in, on every page.** The add-on sets the forms
  layout's user menu (``config.set_user_menu``): every page of every
  add-on shows the user's name, linking to their account, and a logout
  button, or a login link that comes back to the page.
- **Log in first.** An anonymous browser that lacks a permission is sent
  to the login page and back; an anonymous API client gets 401
  (problem+json); a logged-in user still gets 403.
- **Pages** under ``/auth`` in the forms layout: login, logout (POST),
  change password, password reset by email, registration (off unless
  ``auth.allow_registration``), email verification (when
  ``auth.require_email_verification``), and API tokens. Messages never
  say whether an email is registered; ``came_from`` only leads to paths
  on this site.
- **Throttling.** Failed logins per (account, client address), per
  address, and per account from addresses it never logged in from are
  counted in the database (committed at once, shared by all processes):
  after ``throttle_free_attempts`` each attempt must wait longer, after a
  limit they are refused with 429 and ``Retry-After`` until the window
  has passed. The owner at a known address is never locked out by
  attempts elsewhere. Registrations and reset requests are limited per
  address; password hashing runs at most ``max_concurrent_hashes`` at once.
- **API tokens.** ``Authorization: Bearer <token>`` authenticates JSON
  clients; tokens are stored as SHA-256, expire, are named, and are
  listed and revoked by their owner (``/auth/api/tokens`` and
  ``/auth/tokens``). Each token has a scope: ``write`` may do whatever
  its user may, ``read`` is refused every unsafe method (403) on every
  route. Requests authenticated by a valid token, and only those, are
  exempt from CSRF.
- **Commands.** ``pyramidion auth create-user CONFIG EMAIL [--admin]
  [--password-stdin]``, ``pyramidion auth set-password CONFIG EMAIL
  --password-stdin``, ``pyramidion auth create-token CONFIG EMAIL NAME
  [--scope read|write] [--days N]``, ``pyramidion auth list-users CONFIG``,
  ``pyramidion auth ensure-admin CONFIG [--base-url URL]`` (creates an
  admin from ``auth.initial_admin_email`` / ``_password`` when there is
  none, generating and printing a password if none is set; idempotent),
  ``pyramidion auth add-to-group CONFIG EMAIL GROUP``,
  ``pyramidion auth remove-from-group CONFIG EMAIL GROUP``,
  ``pyramidion auth list-groups CONFIG [GROUP]``.
- **A Python API for users and groups** in :mod:`pyramidion_auth.accounts`
  (``create_user``, ``find_user``, ``add_to_group``, ...) and **pytest
  fixtures** that create users and log them in (:mod:`pyramidion_auth.testing`).

Other add-ons check permissions as usual (``permission="blog.edit"`` on a
view, ``__acl__`` on contexts) and declare them with
``config.declare_permission``; they read the user with ``request.user``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyramidion import Addon, Command

from .commands import (
    create_token_arguments,
    create_user_arguments,
    ensure_admin_arguments,
    list_groups_arguments,
    membership_arguments,
    set_password_arguments,
)
from .settings import AuthSettings

if TYPE_CHECKING:
    from pyramid.config import Configurator

__all__ = ["AuthSettings", "addon", "includeme"]


def includeme(config: Configurator) -> None:
    """Wire the auth add-on into the app.

    Reads every ``auth.*`` setting (see :class:`AuthSettings`) and the
    core's ``pyramidion.environment``. Registers the add-on's services
    (clock, password hasher, throttle, mailer: see
    :mod:`pyramidion_auth.interfaces`) with pyramid_services, the identity source, the
    session factory, ``request.user``, the CSRF exemption for requests
    authenticated by an API token, the tween that refuses unsafe methods
    to read-scoped tokens, the permission ``auth.account.edit``,
    the routes and views of :mod:`pyramidion_auth.routes`, an "Account"
    navigation entry and the layout's user menu (name and logout button,
    or a login link). With the ``jobs`` add-on enabled, declares the jobs
    of :mod:`pyramidion_auth.jobs` (mail after commit, the periodic purge).
    """
    from .jobs import jobs_enabled
    from .security_policy import (
        AuthIdentitySource,
        request_user,
        token_authenticated,
        user_menu,
    )
    from .services import register_services
    from .sessions import session_factory

    register_services(config)
    config.set_identity_source(AuthIdentitySource())
    config.set_session_factory(session_factory)
    config.add_request_method(request_user, "user", property=True)
    config.add_csrf_exemption("auth.api_token", token_authenticated)
    # Inside the transaction, before routing: a read-scoped token is
    # refused for its scope on every path, public ones and the core's
    # own included.
    config.add_tween(
        "pyramidion_auth.security_policy.token_scope_tween_factory",
        under=("pyramidion.idempotency.record_tween_factory", "pyramid_tm.tm_tween_factory"),
        over="pyramid.tweens.excview_tween_factory",
    )
    config.declare_permission("auth.account.edit", "See and revoke one's own API tokens")
    config.declare_permission(
        "auth.credentials.edit",
        "Change one's own password and create API tokens (never with an API token)",
    )
    config.include(".routes")
    config.set_user_menu(user_menu)
    if jobs_enabled(config.registry):
        config.include(".jobs")


addon = Addon(
    name="auth",
    title="Accounts, login, server-side sessions, permissions and API tokens",
    includeme="pyramidion_auth:includeme",
    requires=("forms",),
    # With jobs enabled, its directives exist when auth declares its jobs.
    after=("jobs",),
    settings=AuthSettings,
    models="pyramidion_auth.models",
    migrations="pyramidion_auth:migrations",
    install="pyramidion_auth.commands:install",
    commands=(
        Command(
            name="create-user",
            help="Create an account; prompts for its password unless --password-stdin.",
            handler="pyramidion_auth.commands:create_user_command",
            arguments=create_user_arguments,
        ),
        Command(
            name="set-password",
            help="Set an account's password (read from standard input), end its sessions "
            "and revoke its API tokens.",
            handler="pyramidion_auth.commands:set_password_command",
            arguments=set_password_arguments,
        ),
        Command(
            name="ensure-admin",
            help="Create an admin account when there is none (auth.initial_admin_email "
            "and _password); prints how to log in.",
            handler="pyramidion_auth.commands:ensure_admin_command",
            arguments=ensure_admin_arguments,
        ),
        Command(
            name="create-token",
            help="Create an API token for an account and print it once "
            "(--scope read, the default, or write).",
            handler="pyramidion_auth.commands:create_token_command",
            arguments=create_token_arguments,
        ),
        Command(
            name="list-users",
            help="List every account with its groups.",
            handler="pyramidion_auth.commands:list_users_command",
        ),
        Command(
            name="add-to-group",
            help="Make an account a member of a group (created if missing).",
            handler="pyramidion_auth.commands:add_to_group_command",
            arguments=membership_arguments,
        ),
        Command(
            name="remove-from-group",
            help="End an account's membership of a group.",
            handler="pyramidion_auth.commands:remove_from_group_command",
            arguments=membership_arguments,
        ),
        Command(
            name="list-groups",
            help="List the groups with their member counts, or one group's members.",
            handler="pyramidion_auth.commands:list_groups_command",
            arguments=list_groups_arguments,
        ),
        Command(
            name="purge",
            help="Delete expired sessions, used or expired one-time and API tokens, "
            "and throttle counters whose window has passed (run it daily, e.g. from cron; "
            "with the jobs add-on enabled the job auth.purge does).",
            handler="pyramidion_auth.commands:purge_command",
        ),
    ),
)
