"""The services the auth add-on registers, and how code without a request
finds them.

Each service is a :mod:`~pyramidion_auth.interfaces` protocol registered
with pyramid_services: a view asks ``request.find_service(Throttle)``; a
command or a test with only the registry asks ``find(registry, Throttle)``.
An application swaps an implementation by registering its own for the same
protocol (``config.register_service(MyMailer(), Mailer)``) in a
configuration committed after the add-on's.

The add-on's other modules are split by concern: :mod:`.accounts` (users,
groups, logging in), :mod:`.sessions`, :mod:`.security_policy` (identity),
:mod:`.throttle`, :mod:`.tokens`, :mod:`.mail`, :mod:`.passwords`,
:mod:`.clock` and :mod:`.purge`.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pyramid_services import find_service_factory

from pyramidion import CoreSettings, SettingsError, get_settings

from .interfaces import Clock, Mailer, PasswordHasher, Throttle
from .settings import AuthSettings

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.registry import Registry

__all__ = ["auth_settings", "current_time", "find", "make_throttle", "register_services"]

THROTTLE_URL_SCHEMES = ("redis", "rediss", "unix")


class _RegistryOnly:
    """What pyramid_services' ``find_service_factory`` reads: a ``registry``."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry


def find(registry: Registry, iface: Any) -> Any:
    """The service registered for ``iface``, found without a request.

    The add-on registers its services as singletons, whose factories
    ignore the context and request they are given. (Typed ``Any`` like
    ``request.find_service``: mypy accepts no protocol class where a
    ``type[T]`` is expected.)
    """
    return find_service_factory(_RegistryOnly(registry), iface)(None, None)


def current_time(registry: Registry) -> datetime.datetime:
    """The time by the add-on's clock (naive UTC)."""
    clock: Clock = find(registry, Clock)
    return clock.now()


def auth_settings(registry: Registry) -> AuthSettings:
    """The add-on's parsed settings."""
    return get_settings(registry, AuthSettings)


def make_throttle(settings: AuthSettings, registry: Registry) -> Throttle:
    """The throttle ``auth.throttle_url`` names: the database one when it is
    empty, else the Redis one (whose URL is checked here, at start-up)."""
    from .throttle import DatabaseThrottle

    if not settings.throttle_url:
        return DatabaseThrottle(settings, registry)
    scheme = urlsplit(settings.throttle_url).scheme
    if scheme not in THROTTLE_URL_SCHEMES:
        raise SettingsError(
            f"auth.throttle_url must start with redis://, rediss:// or unix://, "
            f"not {scheme + '://' if scheme else 'no scheme'}."
        )
    try:
        from .redis_throttle import RedisThrottle
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise SettingsError(
            "auth.throttle_url names a Redis server but redis-py is not installed; "
            "install pyramidion-auth[redis]."
        ) from exc
    return RedisThrottle(settings)


def register_services(config: Configurator) -> None:
    """Register the add-on's services, built from its settings.

    The clock is the class ``auth.clock`` names (the system clock unless
    set); the mailer follows ``auth.mail_delivery``.
    """
    from .mail import make_mailer
    from .passwords import Passwords

    registry = config.registry
    settings = auth_settings(registry)
    development = get_settings(registry, CoreSettings).development
    clock_class: Any = config.maybe_dotted(settings.clock)
    clock = clock_class()
    if not callable(getattr(clock, "now", None)):
        raise TypeError(f"auth.clock = {settings.clock}: {clock!r} has no now() method")
    config.register_service(clock, Clock)
    config.register_service(Passwords(settings), PasswordHasher)
    config.register_service(make_throttle(settings, registry), Throttle)
    config.register_service(make_mailer(settings, development=development), Mailer)


def __getattr__(name: str) -> Any:
    # Callers written before the split import create_user from here; the
    # users and groups API now lives in pyramidion_auth.accounts.
    if name == "create_user":
        from .accounts import create_user

        return create_user
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
