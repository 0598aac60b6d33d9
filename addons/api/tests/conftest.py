"""Fixtures for the API's tests: an app with ``api`` and ``apitest`` (in
``example/``: a model with a resource and views of its own). Users and
logging in come from the auth add-on's pytest plugin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pyramidion.testing import install_test_distribution

EXAMPLE = Path(__file__).resolve().parent / "example"


@pytest.fixture(scope="session")
def apitest_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``apitest`` add-on, installed for the rest of the session."""
    site = tmp_path_factory.mktemp("apitest-site")
    install_test_distribution(
        site,
        source=EXAMPLE,
        distribution="pyramidion-api-example",
        addons={"apitest": "pyramidion_api_example:addon"},
    )
    return site


@pytest.fixture(scope="session")
def pyramidion_addons(apitest_site: Path) -> list[str]:
    return ["apitest", "api"]


@pytest.fixture(scope="session")
def pyramidion_extra_settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from pyramidion_auth.testing import AUTH_TEST_SETTINGS

    return {
        **AUTH_TEST_SETTINGS,
        "auth.mail_directory": str(tmp_path_factory.mktemp("mail")),
    }


@pytest.fixture
def token_for(testapp: Any, dbsession: Any, tm: Any) -> Any:
    """``token_for(user)``: the ``Authorization`` header of a new API token of ``user``."""
    from pyramidion_auth.tokens import create_api_token

    def make(user: Any) -> dict[str, str]:
        _row, token = create_api_token(testapp.app.registry, dbsession, user, "tests")
        tm.commit()
        return {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
def make_note(dbsession: Any, tm: Any) -> Any:
    """``make_note(author, title=..., **columns)``: a committed note."""
    from pyramidion_api_example.models import Note

    def make(author: Any, title: str = "A note", **columns: Any) -> Note:
        note = Note(author_id=author.id, title=title, **columns)
        dbsession.add(note)
        dbsession.flush()
        tm.commit()
        return note

    return make


@pytest.fixture
def queries(db_connection: Any) -> Any:
    """The SQL statements run on the test's connection while the test runs."""
    from sqlalchemy import event

    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            statements.append(statement)

    event.listen(db_connection, "before_cursor_execute", record)
    yield statements
    event.remove(db_connection, "before_cursor_execute", record)


@pytest.fixture
def documented(testapp: Any) -> Any:
    """``documented(response)``: fails unless the OpenAPI document lists the
    response's status for its operation and its body matches the schema
    documented for it (as Schemathesis checks, on the tests' own requests)."""
    import re

    from jsonschema import Draft202012Validator

    document = testapp.get("/api/v1/openapi.json").json
    components = document["components"]["schemas"]

    def inline(schema: Any) -> Any:
        if isinstance(schema, dict):
            if "$ref" in schema:
                return inline(components[schema["$ref"].rsplit("/", 1)[1]])
            return {key: inline(value) for key, value in schema.items()}
        if isinstance(schema, list):
            return [inline(item) for item in schema]
        return schema

    templates = [
        (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path)
        for path in document["paths"]
    ]

    def check(response: Any) -> Any:
        path = response.request.path
        method = response.request.method.lower()
        matches = [template for pattern, template in templates if pattern.match(path)]
        # A literal path (/notes/{id}/publish) wins over a template it also matches.
        assert matches, f"{path} is not documented"
        template = min(matches, key=lambda t: t.count("{"))
        operation = document["paths"][template].get(method)
        assert operation is not None, f"{method.upper()} {template} is not documented"
        documented_status = operation["responses"].get(str(response.status_int))
        assert documented_status is not None, (
            f"{method.upper()} {template} answered {response.status_int}, which is not "
            f"documented ({', '.join(operation['responses'])})"
        )
        content = documented_status.get("content")
        if not content:
            assert not response.body, f"{response.status_int} should have no body"
            return response
        assert response.content_type in content, (
            f"{response.content_type} is not documented for {response.status_int}"
        )
        schema = inline(content[response.content_type]["schema"])
        errors = list(Draft202012Validator(schema).iter_errors(response.json))
        assert not errors, [e.message for e in errors]
        return response

    return check
