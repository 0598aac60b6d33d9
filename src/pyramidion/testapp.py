"""The WebTest client of the test kit: :class:`PyramidionTestApp`.

A module of its own because it needs WebTest (the ``testing`` extra), which
the pytest plugin in :mod:`pyramidion.testing` must not need to load.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import webtest

from . import app_state
from .web import CSRF_TOKEN_PATH

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

        Asked of the app as a page's script would (``GET /csrf-token``), so
        it is right whatever the app stores it in: the core's CSRF cookie,
        or the server-side session (with ``auth``), where asking starts a
        session when the client has none. Log in first when the token is
        for a logged-in request: login issues a new token.
        """
        response = self.get(CSRF_TOKEN_PATH, headers={"Accept": "application/json"})
        return str(response.json["csrf_token"])

    def csrf_headers(self) -> dict[str, str]:
        """Headers that carry the CSRF token: ``{"X-CSRF-Token": ...}``."""
        return {"X-CSRF-Token": self.csrf_token()}
