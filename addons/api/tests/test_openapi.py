"""The OpenAPI document: generated from the registered operations, valid OpenAPI 3.1."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate


def test_the_document_is_valid_openapi_3_1(testapp: Any) -> None:
    response = testapp.get("/api/v1/openapi.json", status=200)
    assert response.content_type == "application/json"
    document = response.json
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) >= {
        "/api/v1/notes",
        "/api/v1/notes/{id}",
        "/api/v1/notes/{id}/publish",
        "/api/v1/tags",
        "/api/v1/tags/{id}",
        "/api/v1/ping",
    }
