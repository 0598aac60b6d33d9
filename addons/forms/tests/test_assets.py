"""No JavaScript library with a published advisory is served."""

from __future__ import annotations

from typing import Any

import pytest

from pyramidion.testing import LiveServer, PyramidionTestApp


@pytest.mark.parametrize(
    "path",
    [
        "/forms/deform/scripts/jquery-2.0.3.min.js",
        "/forms/deform/tinymce/tinymce.min.js",
        "/forms/deform/tinymce/plugins/link/plugin.min.js",
        "/forms/deform/scripts/./jquery-2.0.3.min.js",
        "/forms/deform/scripts//jquery-2.0.3.min.js",
    ],
)
def test_deform_libraries_with_advisories_are_not_served(
    testapp: PyramidionTestApp, path: str
) -> None:

    testapp.get(path, status=404)


def test_the_rest_of_deform_is_served(testapp: PyramidionTestApp) -> None:

    assert "deform" in testapp.get("/forms/deform/scripts/deform.js").text
    testapp.get("/forms/deform/css/bootstrap.min.css")


def test_form_pages_load_the_current_jquery(testapp: PyramidionTestApp) -> None:

    page = testapp.get("/formstest/contact")

    scripts = [s["src"] for s in page.html.select("script[src]")]
    assert any(src.endswith("/forms/static/vendor/jquery-3.7.1.min.js") for src in scripts)
    assert not any("jquery-2" in src for src in scripts)
    licence = testapp.get("/forms/static/vendor/jquery-LICENSE.txt")
    assert "OpenJS Foundation" in licence.text


def test_deforms_scripts_run_on_the_vendored_jquery(
    pyramidion_live_server: LiveServer, pyramidion_page: Any
) -> None:
    page = pyramidion_page
    live_server = pyramidion_live_server
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url + "/formstest/contact")

    assert page.evaluate("window.jQuery.fn.jquery") == "3.7.1"
    assert page.evaluate("typeof window.deform.load") == "function"
    assert errors == []
