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
<link rel="stylesheet" href="{static}/vendor/swagger-ui-{version}/swagger-ui.css">
<link rel="stylesheet" href="{static}/docs.css">
</head>
<body>
<main>
<noscript><p>The interactive documentation needs JavaScript. The API's description
is at <a href="{spec}">{spec}</a> (OpenAPI 3.1, JSON).</p></noscript>
<div id="swagger-ui" data-spec-url="{spec}" data-csrf-url="{csrf_url}"></div>
</main>
<script src="{static}/vendor/swagger-ui-{version}/swagger-ui-bundle.js"></script>
<script src="{static}/docs.js"></script>
</body>
</html>
"""


#: The Swagger UI release vendored in ``static/vendor/`` (npm's
#: ``swagger-ui-dist``, pinned in the project's package.json).
SWAGGER_UI_VERSION = "5.35.0"


def docs_policy(policy: str) -> str:
    """The site's Content-Security-Policy with inline styles allowed.

    Swagger UI's React components add ``<style>`` elements and style
    attributes as they render (swagger-api/swagger-ui#10655), which
    ``style-src 'self'`` blocks; scripts stay as strict as on every other
    page (the initializer is a file of its own). The page renders only
    the generated document, so the relaxation is scoped to it.
    """
    directives = [d.strip() for d in policy.split(";") if d.strip()]
    for index, directive in enumerate(directives):
        if directive.split()[0].lower() == "style-src":
            if "'unsafe-inline'" not in directive:
                directives[index] = f"{directive} 'unsafe-inline'"
            break
    else:
        directives.append("style-src 'self' 'unsafe-inline'")
    return "; ".join(directives)


def docs_page(request: Request) -> Response:
    """``GET /api/v1/docs``: Swagger UI over the document, from this package's files.

    Answered with its own Content-Security-Policy (:func:`docs_policy`),
    which the core's security headers then leave alone.
    """
    import html

    from pyramidion import app_state, get_settings

    from .settings import ApiSettings

    settings = get_settings(request.registry, ApiSettings)
    core = app_state(request.registry).core
    static = request.static_url("pyramidion_api:static/").rstrip("/")
    page = _PAGE.format(
        title=html.escape(settings.title),
        static=html.escape(static),
        version=SWAGGER_UI_VERSION,
        spec=html.escape(request.route_url("api.openapi")),
        csrf_url=html.escape(request.route_url("pyramidion.csrf_token")),
    )
    response = Response(body=page.encode(), content_type="text/html", charset="utf-8")
    response.headers["Content-Security-Policy"] = docs_policy(core.content_security_policy)
    return response
