"""What the public readiness endpoint tells anyone who asks."""

from __future__ import annotations

import logging

import pytest

from pyramidion.app import get_database, make_app
from pyramidion.testing import PyramidionTestApp


def test_public_readiness_names_the_problem_but_not_the_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = make_app(
        {"sqlalchemy.url": "postgresql+psycopg://someone:s3cret@127.0.0.1:1/nowhere_db"},
        environ={},
    )
    try:
        with caplog.at_level(logging.WARNING, logger="pyramidion.error"):
            response = PyramidionTestApp(app).get("/readyz?database=required", status=503)
            lenient = PyramidionTestApp(app).get("/readyz", status=200)
    finally:
        get_database(app.registry).engine.dispose()

    assert response.json["status"] == "unavailable"
    (problem,) = response.json["problems"]
    assert "database is unreachable" in problem
    assert "sqlalchemy.url" in problem
    for secret in ("someone", "s3cret", "127.0.0.1", ":1/", "nowhere_db", "psycopg", "Error"):
        assert secret not in response.text
        assert secret not in lenient.text
    # The database is every process's: by default, reported without failing.
    assert lenient.json["status"] == "ready"
    assert lenient.json["database"] == "unavailable"
    assert lenient.json["warnings"] == [problem]
    logged = [r.getMessage() for r in caplog.records if "not ready" in r.getMessage()]
    assert len(logged) == 1  # once, not on every probe
    assert "someone:***@127.0.0.1:1/nowhere_db" in logged[0]
    assert "s3cret" not in logged[0]


def test_readiness_can_require_the_database_for_every_probe() -> None:
    app = make_app(
        {
            "sqlalchemy.url": "postgresql+psycopg://someone@127.0.0.1:1/nowhere_db",
            "pyramidion.readiness_requires_database": "true",
            "pyramidion.readiness_timeout": "1",
        },
        environ={},
    )
    try:
        response = PyramidionTestApp(app).get("/readyz", status=503)
    finally:
        get_database(app.registry).engine.dispose()

    assert response.json["status"] == "unavailable"
    assert response.json["database"] == "unavailable"
    assert response.headers["Retry-After"] == "5"
