"""The API add-on's settings, read from ``api.*`` keys."""

from __future__ import annotations

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
