"""Error pages in the site's layout for browsers, problem+json for API clients."""

from __future__ import annotations

import json

import pytest

from pyramidion.testing import MakeApp, PyramidionTestApp

ERRORS = [
    ("/formstest/no/such/page", 404, "Not Found"),
    ("/formstest/authors/new", 403, "Forbidden"),
    ("/formstest/fail/429", 429, "Too Many Requests"),
    ("/formstest/fail/500", 500, "Internal Server Error"),
]


@pytest.mark.parametrize(("path", "status", "title"), ERRORS)
def test_a_browser_gets_the_error_in_the_site_layout(
    testapp: PyramidionTestApp, path: str, status: int, title: str
) -> None:
    page = testapp.get(path, headers={"Accept": "text/html"}, status=status)

    assert page.content_type == "text/html"
    assert page.text.startswith("<!DOCTYPE html>")
    assert page.html.title.text == f"{title} · Pyramidion"
    assert page.html.select_one("main h1").text == title
    # The navigation of every page, and a way home.
    assert page.html.select_one("a.navbar-brand").text == "Pyramidion"
    assert "Contact" in [a.text for a in page.html.select("nav a.nav-link")]
    home = page.html.select_one('a[data-error-page="home"]')
    assert home["href"] == "http://localhost/"
    assert page.headers["X-Request-Id"] in page.html.select_one("main code").text
    assert page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"
    assert "Traceback" not in page.text


@pytest.mark.parametrize(("path", "status", "title"), ERRORS)
def test_an_api_client_still_gets_problem_json(
    testapp: PyramidionTestApp, path: str, status: int, title: str
) -> None:
    response = testapp.get(path, headers={"Accept": "application/json"}, status=status)

    assert response.content_type == "application/problem+json"
    assert json.loads(response.text)["title"] == title


def test_a_throttled_page_keeps_its_retry_after(testapp: PyramidionTestApp) -> None:
    page = testapp.get("/formstest/fail/429", headers={"Accept": "text/html"}, status=429)

    assert page.headers["Retry-After"] == "60"


def test_without_forms_the_core_serves_a_plain_valid_page(make_pyramidion_app: MakeApp) -> None:
    app = PyramidionTestApp(make_pyramidion_app(addons=[]))

    page = app.get("/no/such/page", headers={"Accept": "text/html"}, status=404)

    assert page.text.startswith("<!DOCTYPE html>")
    assert page.html.select_one("main h1").text == "Not Found"
    assert page.html.select_one("main a")["href"] == "/"
    assert page.html.select_one("a.navbar-brand") is None


def test_a_refused_host_gets_the_plain_page_without_its_name(make_pyramidion_app: MakeApp) -> None:
    app = PyramidionTestApp(make_pyramidion_app({"pyramidion.allowed_hosts": "localhost"}))

    page = app.get("/formstest/contact", headers={"Host": "evil.example"}, status=400)

    assert "evil.example" not in page.text
    assert page.html.select_one("main h1").text == "Bad Request"
