"""The interactive docs: Swagger UI from the package's own files, under the site's CSP."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pyramidion_api.docs import SWAGGER_UI_VERSION

ROOT = Path(__file__).resolve().parents[3]


def test_the_docs_page_loads_swagger_ui_from_this_site_only(testapp: Any) -> None:
    page = testapp.get("/api/v1/docs", status=200)
    assert page.content_type == "text/html"
    html = page.text
    assert 'data-spec-url="http://localhost/api/v1/openapi.json"' in html
    # No inline script, and nothing from another site.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources
    assert all(url.startswith("http://localhost/") for url in sources), sources

    policy = page.headers["Content-Security-Policy"]
    directives = {d.split()[0]: d for d in (p.strip() for p in policy.split(";")) if d}
    assert directives["style-src"] == "style-src 'self' 'unsafe-inline'"
    assert "script-src" not in directives  # scripts: default-src 'self', as everywhere
    assert directives["default-src"] == "default-src 'self'"
    assert directives["frame-ancestors"] == "frame-ancestors 'none'"

    types = {
        "docs.js": "text/javascript",
        "docs.css": "text/css",
        f"swagger-ui-{SWAGGER_UI_VERSION}/swagger-ui-bundle.js": "text/javascript",
        f"swagger-ui-{SWAGGER_UI_VERSION}/swagger-ui.css": "text/css",
    }
    assets = [url for url in sources if "/api/v1/docs/static/" in url]
    assert len(assets) == len(types)
    for url in assets:
        asset = testapp.get(url, status=200)
        name = url.split("/static/", 1)[1].removeprefix("vendor/")
        expected = types[name]
        assert asset.content_type in (expected, "application/javascript")
        assert asset.body


def test_other_pages_keep_the_strict_policy(testapp: Any) -> None:
    policy = testapp.get("/api/v1/openapi.json").headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy


def test_the_vendored_swagger_ui_is_the_one_package_json_pins() -> None:
    pins = json.loads((ROOT / "package.json").read_text())["devDependencies"]
    assert pins["swagger-ui-dist"] == SWAGGER_UI_VERSION
    vendored = (
        ROOT / "addons/api/pyramidion_api/static/vendor" / f"swagger-ui-{SWAGGER_UI_VERSION}"
    )
    assert (vendored / "LICENSE").is_file()
    installed = ROOT / "node_modules/swagger-ui-dist/swagger-ui-bundle.js"
    if installed.is_file():
        assert (vendored / "swagger-ui-bundle.js").read_bytes() == installed.read_bytes()
