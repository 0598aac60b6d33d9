"""The WebTest client of the test kit: :class:`PyramidionTestApp`.

A module of its own because it needs WebTest (the ``testing`` extra), which
the pytest plugin in :mod:`pyramidion.testing` must not need to load.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import webtest

from . import app_state

if TYPE_CHECKING:
    from pyramid.router import Router

__all__ = ["PyramidionTestApp"]


class PyramidionTestApp(webtest.TestApp):  # type: ignore[misc]
    """A WebTest app that sends ``Host: localhost`` and knows the CSRF rules.

    The core requires a CSRF token on every unsafe request: send
    ``headers=app.csrf_headers()`` or put ``csrf_token=app.csrf_token()``
    in the form.
    """

    def __init__(self, app: Router, **kwargs: Any) -> None:
        extra_environ = {"HTTP_HOST": "localhost", **kwargs.pop("extra_environ", {})}
        super().__init__(app, extra_environ=extra_environ, **kwargs)
        self.pyramidion_registry = app.registry

    @property
    def csrf_cookie_name(self) -> str:
        return app_state(self.pyramidion_registry).core.csrf_cookie_name

    def csrf_token(self) -> str:
        """The CSRF token the app accepts from this client.

        The token is the value of the app's CSRF cookie (double-submit): the
        one the app set, or, before it has set one, a new value this client
        stores as a browser would.
        """
        name = self.csrf_cookie_name
        token: str | None = self.cookies.get(name)
        if not token:
            token = uuid.uuid4().hex
            self.set_cookie(name, token)
        # The cookie jar keeps values as sent, quotes included.
        return token.strip('"')

    def csrf_headers(self) -> dict[str, str]:
        """Headers that carry the CSRF token: ``{"X-CSRF-Token": ...}``."""
        return {"X-CSRF-Token": self.csrf_token()}
