"""Configuring the API: optional use, scanned views, settings, conflicts."""

from __future__ import annotations

from typing import Any

import pytest

from pyramidion import AddonConflict, PyramidionError
from pyramidion.testing import PyramidionTestApp


def test_an_add_on_that_offers_an_api_works_without_the_api_add_on(
    make_pyramidion_app: Any, db_connection: Any
) -> None:
    app = make_pyramidion_app(addons=["apitest"], connection=db_connection)
    client = PyramidionTestApp(app)
    assert "api" not in app.registry.pyramidion.resolution
    client.get("/api/v1/notes", headers={"Accept": "application/json"}, status=404)
    client.get("/api/v1/openapi.json", headers={"Accept": "application/json"}, status=404)


def test_scanned_views_and_common_errors(make_pyramidion_app: Any, db_connection: Any) -> None:
    app = make_pyramidion_app(
        addons=["apitest", "api", "pyramidion_api_example.extra"], connection=db_connection
    )
    client = PyramidionTestApp(app)
    csrf = client.csrf_headers()
    echoed = client.post_json("/api/v1/echo", {"words": ["a", "b"]}, headers=csrf, status=201)
    assert echoed.json == {"words": ["a", "b"]}
    refused = client.post_json("/api/v1/echo", {"words": []}, headers=csrf, status=422)
    assert set(refused.json["errors"]) == {"words"}
    assert client.get("/api/v1/clock").json == {"time": "12:00"}

    document = client.get("/api/v1/openapi.json").json
    echo = document["paths"]["/api/v1/echo"]["post"]
    assert echo["summary"] == "Say the words back"
    assert set(echo["responses"]) == {"201", "400", "403", "413", "415", "422", "429", "503"}
    words = echo["requestBody"]["content"]["application/json"]["schema"]["properties"]["words"]
    assert words == {
        "type": "array",
        "items": {"type": "string", "title": "Word"},
        "minItems": 1,
        "maxItems": 3,
        "title": "Words",
    }
    clock = document["paths"]["/api/v1/clock"]["get"]
    assert clock["tags"] == ["time"]
    assert "503" in document["paths"]["/api/v1/notes/{id}"]["delete"]["responses"]
    assert "403" not in clock["responses"]

    # A client that states no preference gets JSON even from the core's 500 page.
    failed = client.get("/api/v1/boom", headers={"Accept": "*/*"}, status=500)
    assert failed.content_type == "application/problem+json"
    assert "a bug" not in failed.text


def test_the_version_and_prefix_are_settings(make_pyramidion_app: Any, db_connection: Any) -> None:
    app = make_pyramidion_app(
        {"api.version": "v2", "api.route_prefix": "/rest"}, connection=db_connection
    )
    client = PyramidionTestApp(app)
    document = client.get("/rest/v2/openapi.json").json
    assert "/rest/v2/notes/{id}" in document["paths"]
    assert document["info"]["version"] == "v2"
    missing = client.get("/rest/v2/nothing", headers={"Accept": "text/html"}, status=404)
    assert missing.content_type == "application/problem+json"
    # Outside the API, browsers still get pages.
    page = client.get("/nothing", headers={"Accept": "text/html"}, status=404)
    assert page.content_type == "text/html"


def test_two_resources_of_one_name_conflict(make_pyramidion_app: Any) -> None:
    with pytest.raises(AddonConflict, match=r"pyramidion_api\.resource"):
        make_pyramidion_app(addons=["apitest", "api", "pyramidion_api_example.conflicting"])


def test_an_undeclared_column_is_a_sentence(make_pyramidion_app: Any) -> None:
    with pytest.raises(PyramidionError, match="filters= names nope, which are not columns"):
        make_pyramidion_app(addons=["apitest", "api", "pyramidion_api_example.misconfigured"])
