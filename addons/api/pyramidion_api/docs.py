"""Views of the OpenAPI document and of the interactive docs (Swagger UI)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pyramid.response import Response

from .openapi import openapi_document

if TYPE_CHECKING:
    from pyramid.request import Request

__all__ = ["docs_page", "openapi_json"]

_DOCUMENT = "pyramidion_api_document"


def document(request: Request) -> dict[str, Any]:
    """The generated document with this request's server URL (generated once per app)."""
    registry = request.registry
    cached: dict[str, Any] | None = getattr(registry, _DOCUMENT, None)
    if cached is None:
        cached = openapi_document(registry)
        setattr(registry, _DOCUMENT, cached)
    return {**cached, "servers": [{"url": request.application_url}]}


def openapi_json(request: Request) -> Response:
    """``GET /api/v1/openapi.json``: the OpenAPI 3.1 document."""
    body = json.dumps(document(request), indent=1).encode()
    return Response(body=body, content_type="application/json", charset=None)


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}: API documentation</title>
<link rel="stylesheet" href="{static}/vendor/swagger-ui.css">
<link rel="stylesheet" href="{static}/docs.css">
</head>
<body>
<main>
<noscript><p>The interactive documentation needs JavaScript. The API's description
is at <a href="{spec}">{spec}</a> (OpenAPI 3.1, JSON).</p></noscript>
<div id="swagger-ui" data-spec-url="{spec}"></div>
</main>
<script src="{static}/vendor/swagger-ui-bundle.js"></script>
<script src="{static}/docs.js"></script>
</body>
</html>
"""


def docs_page(request: Request) -> Response:
    """``GET /api/v1/docs``: Swagger UI over the document, from this package's files."""
    import html

    from pyramidion import get_settings

    from .settings import ApiSettings

    settings = get_settings(request.registry, ApiSettings)
    static = request.static_url("pyramidion_api:static/").rstrip("/")
    page = _PAGE.format(
        title=html.escape(settings.title),
        static=html.escape(static),
        spec=html.escape(request.route_url("api.openapi")),
    )
    return Response(body=page.encode(), content_type="text/html", charset="utf-8")
