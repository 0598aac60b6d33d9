"""Security on by default: a default permission, ACLs, pluggable identity.

Every view needs the ``view`` permission unless it says otherwise; a view is
public only when it declares ``permission=PUBLIC``. Permissions are decided
by the ACL of the context (``__acl__``), walking up the resource tree.

Without an identity source everyone is anonymous (principal
``system.Everyone``). The auth add-on registers one with
``config.set_identity_source(source)``; the source returns the identity and
the principals it implies (user, groups, ``system.Authenticated``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pyramid.authorization import ACLHelper, Everyone
from pyramid.security import NO_PERMISSION_REQUIRED

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request

__all__ = [
    "ADMIN_PRINCIPAL",
    "DEFAULT_PERMISSION",
    "PUBLIC",
    "IdentitySource",
    "SecurityPolicy",
    "csrf_check_required",
]

#: Declare a view public: ``config.add_view(..., permission=PUBLIC)``.
PUBLIC = NO_PERMISSION_REQUIRED

#: The permission every view requires unless it names its own.
DEFAULT_PERMISSION = "view"

#: Members of the admin group may do everything, on every context.
ADMIN_PRINCIPAL = "group:admin"

#: environ key where the policy records the user id for the access log.
USER_ID_ENVIRON_KEY = "pyramidion.user_id"


@runtime_checkable
class IdentitySource(Protocol):
    """Who is asking: implemented by an authentication add-on."""

    def identity(self, request: Request) -> Any | None:
        """The identity of the request, or None when anonymous."""

    def userid(self, identity: Any) -> str | None:
        """A stable id for the identity, for logs and ``authenticated_userid``."""

    def principals(self, request: Request, identity: Any) -> list[str]:
        """Principals beyond ``system.Everyone`` the identity has."""

    def remember(self, request: Request, userid: str, **kw: Any) -> list[tuple[str, str]]:
        """Headers that make later requests carry ``userid``."""

    def forget(self, request: Request, **kw: Any) -> list[tuple[str, str]]:
        """Headers that end the identity."""


#: Request attributes holding the identity and the principals, once worked out.
_IDENTITY_KEY = "_pyramidion_identity"
_PRINCIPALS_KEY = "_pyramidion_principals"


def _drop_identity(request: Request) -> None:
    """Forget the request's identity and principals: the next check works them out again."""
    request.__dict__.pop(_IDENTITY_KEY, None)
    request.__dict__.pop(_PRINCIPALS_KEY, None)


class SecurityPolicy:
    """The Pyramid 2 security policy the core installs.

    Identity is computed at most once per request (and only when something
    asks), then permission checks use the context's ACL. The principals the
    identity implies are worked out once per request too, at the first
    check, and every later check of the request (the view's own, each
    navigation entry's) uses them. ``remember`` and ``forget`` drop both,
    so the next check works them out again from the new identity; anything
    else that changes what the source would answer (a group granted during
    the request) shows from the next request on.
    """

    def __init__(self, source: IdentitySource | None) -> None:
        self.source = source
        self.helper = ACLHelper()

    def identity(self, request: Request) -> Any | None:
        if self.source is None:
            return None
        cache = request.__dict__
        if _IDENTITY_KEY not in cache:
            identity = self.source.identity(request)
            cache[_IDENTITY_KEY] = identity
            if identity is not None:
                userid = self.source.userid(identity)
                if userid is not None:
                    request.environ[USER_ID_ENVIRON_KEY] = userid
        return cache[_IDENTITY_KEY]

    def authenticated_userid(self, request: Request) -> str | None:
        identity = self.identity(request)
        if identity is None or self.source is None:
            return None
        return self.source.userid(identity)

    def effective_principals(self, request: Request) -> list[str]:
        return list(self._principals(request))

    def permits(self, request: Request, context: Any, permission: str) -> Any:
        return self.helper.permits(context, self._principals(request), permission)

    def _principals(self, request: Request) -> tuple[str, ...]:
        """The request's principals, worked out at the first call of the request."""
        principals: tuple[str, ...] | None = request.__dict__.get(_PRINCIPALS_KEY)
        if principals is None:
            identity = self.identity(request)
            if identity is None or self.source is None:
                principals = (Everyone,)
            else:
                principals = (Everyone, *self.source.principals(request, identity))
            request.__dict__[_PRINCIPALS_KEY] = principals
        return principals

    def remember(self, request: Request, userid: str, **kw: Any) -> list[tuple[str, str]]:
        if self.source is None:
            return []
        _drop_identity(request)
        return self.source.remember(request, userid, **kw)

    def forget(self, request: Request, **kw: Any) -> list[tuple[str, str]]:
        if self.source is None:
            return []
        _drop_identity(request)
        return self.source.forget(request, **kw)


def set_identity_source(config: Configurator, source: IdentitySource) -> None:
    """Directive: ``config.set_identity_source(source)``.

    Installs the security policy with ``source`` as who-is-asking, through
    ``config.set_security_policy``: two add-ons setting an identity source,
    or one setting it while another sets a security policy of its own,
    conflict at start-up.
    """
    if not isinstance(source, IdentitySource):
        raise TypeError(f"{source!r} does not implement pyramidion.security.IdentitySource")
    config.set_security_policy(SecurityPolicy(source))
    intr = config.introspectable(
        "pyramidion identity source", None, repr(source), "pyramidion identity source"
    )
    intr["source"] = source
    config.action(None, introspectables=(intr,))


#: Registry attribute holding the declared permissions.
_PERMISSIONS = "pyramidion_permissions"


def declare_permission(config: Configurator, name: str, description: str) -> None:
    """Directive: declare a permission that the calling add-on checks.

    (Pyramid's own ``add_permission`` records only a name; this keeps a
    description people can read.)

    ``config.declare_permission("blog.post.edit", "Edit any post")``. Declaring
    is documentation that tools and the auth add-on's admin pages read;
    the same permission may be declared by several add-ons (the first
    description is kept).
    """
    if not name or not isinstance(name, str):
        raise ValueError(f"permission name {name!r} must be a non-empty string")

    def register() -> None:
        permissions = declared_permissions(config.registry)
        permissions.setdefault(name, description)

    intr = config.introspectable("pyramidion permissions", name, name, "permission")
    intr["description"] = description
    config.action(None, register, introspectables=(intr,))


def declared_permissions(registry: Any) -> dict[str, str]:
    """Every declared permission with its description, by name."""
    permissions: dict[str, str] | None = getattr(registry, _PERMISSIONS, None)
    if permissions is None:
        permissions = {}
        setattr(registry, _PERMISSIONS, permissions)
    return permissions


#: Registry attribute holding the CSRF exemptions, by name.
_CSRF_EXEMPTIONS = "pyramidion_csrf_exemptions"


def add_csrf_exemption(
    config: Configurator, name: str, predicate: Callable[[Request], bool]
) -> None:
    """Directive: ``config.add_csrf_exemption(name, predicate)``.

    The core checks a CSRF token on every unsafe request. An add-on that
    authenticates requests with credentials a browser never attaches on
    its own (an ``Authorization: Bearer`` header the client sets itself)
    exempts exactly those requests: ``predicate(request)`` returns True
    when the request was authenticated that way. It must return False for
    every other request, including one whose credentials are missing,
    wrong or expired, so that such requests are still checked.

    A request is exempt when any registered predicate says so. Two
    exemptions with the same name conflict at start-up.
    """
    if not name or not isinstance(name, str):
        raise ValueError(f"CSRF exemption name {name!r} must be a non-empty string")
    predicate = config.maybe_dotted(predicate)
    if not callable(predicate):
        raise TypeError(f"CSRF exemption {name!r}: {predicate!r} is not callable")

    def register() -> None:
        exemptions = getattr(config.registry, _CSRF_EXEMPTIONS, None)
        if exemptions is None:
            exemptions = {}
            setattr(config.registry, _CSRF_EXEMPTIONS, exemptions)
        exemptions[name] = predicate

    intr = config.introspectable("pyramidion csrf exemptions", name, name, "CSRF exemption")
    intr["predicate"] = predicate
    config.action(("pyramidion.csrf_exemption", name), register, introspectables=(intr,))


def csrf_check_required(request: Request) -> bool:
    """Whether the CSRF check applies: True unless an exemption claims the request.

    The core passes this to Pyramid as the default CSRF options' callback,
    which Pyramid calls for unsafe methods only.
    """
    exemptions: dict[str, Callable[[Request], bool]] = getattr(
        request.registry, _CSRF_EXEMPTIONS, {}
    )
    return not any(predicate(request) for predicate in exemptions.values())


def includeme(config: Configurator) -> None:
    """Install the default security: anonymous policy, default permission.

    Registers the ``set_identity_source``, ``declare_permission`` and
    ``add_csrf_exemption`` directives and declares the core's default
    ``view`` permission.
    """
    config.set_security_policy(SecurityPolicy(None))
    config.set_default_permission(DEFAULT_PERMISSION)
    config.add_directive("set_identity_source", set_identity_source)
    config.add_directive("declare_permission", declare_permission, action_wrap=False)
    config.add_directive("add_csrf_exemption", add_csrf_exemption, action_wrap=False)
    config.declare_permission(DEFAULT_PERMISSION, "See pages that are not public")
