"""The API add-on's settings, read from ``api.*`` keys."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from pyramidion import setting

__all__ = ["ApiSettings"]


@dataclass(frozen=True)
class ApiSettings:
    """Where the API lives and how large its pages are."""

    version: str = setting(
        "v1",
        doc="The version segment of every API path: resources are served at "
        "API_PREFIX/VERSION/... (/api/v1/... by default).",
        min_length=1,
    )
    title: str = setting("API", doc="The title of the generated OpenAPI document.")
    page_size: int = setting(
        20,
        doc="Items on one page of a collection unless the client asks for fewer or more "
        "with ?limit= (or the resource sets its own page_size).",
        min=1,
        max=1000,
    )
    max_page_size: int = setting(
        100,
        doc="Largest ?limit= a client may ask of a collection; larger ones are refused with 400.",
        min=1,
        max=1000,
    )
    cursor_secret: str | None = setting(
        None,
        doc="Key that signs the cursors of collection pages (HMAC-SHA256), so that a "
        "client can neither make one up nor change one: a cursor without its signature "
        "is refused with 400. Every process that serves the API must have the same one. "
        "Unset, each process makes a random key when it starts, and a cursor stops "
        "working when its process restarts or another process answers (the client "
        "starts again from the first page): set it wherever more than one process serves.",
        secret=True,
        min_length=32,
    )
    rate_limit: int = setting(
        600,
        doc="Requests one client may make under the API's base in one window: an API "
        "token, a logged-in user, or an address for anonymous requests. Past it the "
        "API answers 429 with Retry-After until the window ends; 0 turns the limit off. "
        "Counted in the database, so every process shares the count.",
        min=0,
    )
    # setting() is dataclasses.field() with metadata; ruff's RUF009 takes it
    # for a mutable default when the field is a timedelta, which is immutable.
    rate_limit_window: datetime.timedelta = setting(  # noqa: RUF009
        datetime.timedelta(minutes=1),
        doc="The window api.rate_limit counts in (60s, 15m, 1h...); a client's count "
        "starts again when its window ends.",
    )
