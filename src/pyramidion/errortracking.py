"""Errors to Sentry, when ``pyramidion.sentry_dsn`` is set.

With sentry-sdk (the ``sentry`` extra), imported only when the setting is
set. sentry-sdk's own Pyramid integration reports every request answered
with a 500 (an unhandled error, rendered by the core's error view) with
the request's method, URL and route; its SQLAlchemy integration adds the
statements that ran as breadcrumbs. Not reported: 4xx answers and the 503
of an unavailable database (the log and the metrics count those; an
outage would otherwise send one event per request).

Each event carries the request id as the tag ``request_id`` (the
``X-Request-ID`` the client got and the log line carries) and the
authenticated user's id, never an email address, cookie, or
Authorization header (sentry-sdk's default of sending no personal data
is kept). Secrets are
scrubbed: sentry-sdk's default list of sensitive keys, plus the value of
every setting declared secret and the database password, wherever they
appear in the event.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import SettingsError
from .state import app_state

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.registry import Registry
    from pyramid.request import Request
    from pyramid.response import Response

__all__ = ["includeme", "sentry_tween_factory"]

Handler = Callable[["Request"], "Response"]

#: What replaces a secret found in an event.
FILTERED = "[Filtered]"

#: Secrets shorter than this are not searched for: too likely to match
#: ordinary text.
_SHORTEST_SECRET = 6


def _sentry() -> Any:
    try:
        return importlib.import_module("sentry_sdk")
    except ImportError:
        raise SettingsError(
            "pyramidion.sentry_dsn is set, but the sentry-sdk package is not "
            "installed. Install it (pip install 'pyramidion-core[sentry]') or "
            "remove pyramidion.sentry_dsn."
        ) from None


def scrub(value: Any, secrets: tuple[str, ...]) -> Any:
    """``value`` (an event, or any part of one) with every occurrence of
    ``secrets`` in its strings replaced by :data:`FILTERED`."""
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, FILTERED)
        return value
    if isinstance(value, dict):
        return {k: scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v, secrets) for v in value]
    return value


def _secret_values(registry: Registry) -> tuple[str, ...]:
    from .settings import describe_settings

    state = app_state(registry)
    found: set[str] = set()
    settings = registry.settings
    namespaces: list[tuple[Any, str]] = [(type(state.core), "pyramidion")]
    namespaces += [
        (enabled.addon.settings, enabled.name)
        for enabled in state.resolution.addons
        if enabled.addon.settings is not None
    ]
    for cls, namespace in namespaces:
        for described in describe_settings(cls, namespace):
            if described.get("secret"):
                value = settings.get(described["key"])
                if isinstance(value, str) and len(value) >= _SHORTEST_SECRET:
                    found.add(value)
    from sqlalchemy.engine import make_url

    url = settings.get("sqlalchemy.url")
    if url:
        password = make_url(url).password
        if password and len(password) >= _SHORTEST_SECRET:
            found.add(str(password))
    # The longest first, so that a secret containing another is replaced whole.
    return tuple(sorted(found, key=len, reverse=True))


def sentry_tween_factory(handler: Handler, registry: Registry) -> Handler:
    """Give the events of each request its request id and user id."""
    sentry_sdk = _sentry()

    def sentry_tween(request: Request) -> Response:
        with sentry_sdk.new_scope() as scope:
            scope.set_tag("request_id", request.request_id)

            def add_user(event: dict[str, Any], _hint: Any) -> dict[str, Any]:
                # Only when an event is sent: the identity may cost a query.
                try:
                    user_id = request.authenticated_userid
                except Exception:
                    user_id = None
                if user_id is not None:
                    event["user"] = {"id": str(user_id)}
                return event

            scope.add_event_processor(add_user)
            return handler(request)

    return sentry_tween


def includeme(config: Configurator) -> None:
    """When ``pyramidion.sentry_dsn`` is set: start sentry-sdk with its
    Pyramid and SQLAlchemy integrations, and the tween that tags events.
    Reads ``pyramidion.sentry_dsn``, ``pyramidion.sentry_environment`` and
    ``pyramidion.environment``."""
    core = app_state(config.registry).core
    if not core.sentry_dsn:
        return
    sentry_sdk = _sentry()
    pyramid_integration = importlib.import_module("sentry_sdk.integrations.pyramid")
    sqlalchemy_integration = importlib.import_module("sentry_sdk.integrations.sqlalchemy")
    logging_integration = importlib.import_module("sentry_sdk.integrations.logging")
    secrets = _secret_values(config.registry)

    def before_send(event: dict[str, Any], _hint: Any) -> dict[str, Any]:
        scrubbed: dict[str, Any] = scrub(event, secrets)
        return scrubbed

    sentry_sdk.init(
        dsn=core.sentry_dsn,
        environment=core.sentry_environment or core.environment,
        # sentry-sdk's default sends no personal data (cookies, headers that
        # identify, IP addresses); the tween adds the user id alone.
        before_send=before_send,
        integrations=[
            pyramid_integration.PyramidIntegration(),
            sqlalchemy_integration.SqlalchemyIntegration(),
            # The Pyramid integration reports the errors; the error log's
            # line for the same error would be a second event.
            logging_integration.LoggingIntegration(event_level=None),
        ],
    )
    config.add_tween(
        "pyramidion.errortracking.sentry_tween_factory",
        under="pyramidion.tweens.request_log_tween_factory",
    )
