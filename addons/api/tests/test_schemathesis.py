"""The API as a tester that no one here wrote sees it: Schemathesis, driven
by the OpenAPI document the add-on generates, against a live server.

Schemathesis (its command line, in a subprocess) reads
``/api/v1/openapi.json`` from a waitress server with the demo add-ons on
the test database (SQLite, or the PostgreSQL server that
``PYRAMIDION_TEST_DATABASE_URL`` names), and sends every operation
generated requests with a write-scoped token of a fresh user. Four checks
must hold for every answer: no 5xx, the body matches its documented
schema, the status code is documented, and so is the content type. The
number of examples per operation is bounded so that the run takes a
minute or two; the seed is fixed so that a failure can be replayed
(``st run ... --seed``). The figures (operations, test cases, failures)
are printed in the test output.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pyramidion.testing import LiveServer, own_database

pytestmark = pytest.mark.slow

#: What every answer must satisfy.
CHECKS = (
    "not_a_server_error",
    "response_schema_conformance",
    "status_code_conformance",
    "content_type_conformance",
)
#: Test cases per operation and phase: enough to reach every documented
#: answer of our operations, few enough to keep CI's run short.
MAX_EXAMPLES = 25
SEED = 20261203


@dataclass(frozen=True)
class FuzzReport:
    """What one Schemathesis run found, from its JSON report."""

    operations: int
    test_cases: int
    failures: list[dict[str, Any]]
    errors: list[Any]
    output: str

    def summary(self) -> str:
        found = ", ".join(
            f"{f['code']} {f['title']} x{f['count']} ({'; '.join(f['operations'])})"
            for f in self.failures
        )
        return (
            f"Schemathesis: {self.operations} operations, {self.test_cases} test cases, "
            f"{len(self.failures)} kinds of failure{': ' + found if found else ''}, "
            f"{len(self.errors)} errors"
        )


def run_schemathesis(
    schema_url: str,
    report_dir: Path,
    *,
    headers: dict[str, str] | None = None,
    max_examples: int = MAX_EXAMPLES,
    extra: tuple[str, ...] = (),
) -> FuzzReport:
    """Run ``schemathesis run`` over ``schema_url`` and read its JSON report."""
    report = report_dir / "schemathesis.json"
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        schema_url,
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(max_examples),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--no-color",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        *extra,
    ]
    for name, value in (headers or {}).items():
        command += ["--header", f"{name}: {value}"]
    finished = subprocess.run(
        command, capture_output=True, text=True, timeout=600, check=False, cwd=report_dir
    )
    output = finished.stdout + finished.stderr
    if not report.exists():
        pytest.fail(f"Schemathesis wrote no report (exit {finished.returncode}):\n{output}")
    data = json.loads(report.read_text())
    return FuzzReport(
        operations=data["operations"]["tested"],
        test_cases=data["test_cases"]["generated"],
        failures=data["failures"],
        errors=data["errors"],
        output=output,
    )


# -- the API of the demo add-ons, on the test database -----------------------------


@pytest.fixture(scope="module")
def pyramidion_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of this module's own: the live server commits for real."""
    with own_database(tmp_path_factory) as url:
        yield url


@pytest.fixture(scope="session")
def pyramidion_addons(apitest_site: Path) -> list[str]:
    """The demo blog (with auth, forms, storage) and the example add-on's resources."""
    return ["apitest", "blog", "api"]


@pytest.fixture(scope="session")
def pyramidion_extra_settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from pyramidion_auth.testing import AUTH_TEST_SETTINGS

    return {
        **AUTH_TEST_SETTINGS,
        "auth.mail_directory": str(tmp_path_factory.mktemp("mail")),
        "storage.local_root": str(tmp_path_factory.mktemp("files")),
        # Schemathesis sends a thousand requests a minute with one token: a
        # limit it reaches would leave most operations answering 429.
        "api.rate_limit": "100000",
    }


def database_name(live_server: LiveServer) -> str:
    """The live server's database, as the figures name it: SQLite or PostgreSQL."""
    from pyramidion import get_database

    backend = get_database(live_server.app.registry).engine.url.get_backend_name()
    return {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(backend, backend)


def write_token(live_server: LiveServer) -> str:
    """A new user's write-scoped API token, committed on the live server's database."""
    import uuid

    import transaction
    import zope.sqlalchemy

    from pyramidion import get_database
    from pyramidion_auth.services import create_user
    from pyramidion_auth.testing import AUTH_TEST_PASSWORD
    from pyramidion_auth.tokens import create_api_token

    registry = live_server.app.registry
    manager = transaction.TransactionManager(explicit=True)
    with manager:
        session = get_database(registry).session_factory()
        zope.sqlalchemy.register(session, transaction_manager=manager)
        email = f"fuzz-{uuid.uuid4().hex[:8]}@example.com"
        user = create_user(registry, session, email=email, password=AUTH_TEST_PASSWORD)
        return create_api_token(registry, session, user, "schemathesis", scope="write")[1]


def test_the_api_meets_its_own_document(
    pyramidion_live_server: LiveServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = write_token(pyramidion_live_server)

    found = run_schemathesis(
        f"{pyramidion_live_server.url}/api/v1/openapi.json",
        tmp_path,
        headers={"Authorization": f"Bearer {token}"},
    )

    # Shown in every run's output, not only a failing one's: CI's log keeps
    # the figures (operations, test cases, failures).
    with capsys.disabled():
        print(f"\n{found.summary()} ({database_name(pyramidion_live_server)})")
    assert found.operations > 0, found.output
    assert found.failures == [], found.output
    assert found.errors == [], found.output


# -- the harness itself: a stub API with a bug, which it must find ----------------

STUB_DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "stub", "version": "1"},
    "paths": {
        "/things/{id}": {
            "get": {
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
                ],
                "responses": {
                    "200": {
                        "description": "The thing.",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["id"],
                                    "properties": {"id": {"type": "integer"}},
                                }
                            }
                        },
                    }
                },
            }
        }
    },
}


@pytest.fixture
def stub_api() -> Iterator[str]:
    """A two-route Pyramid app whose item view fails on ids over 1000."""
    from pyramid.config import Configurator

    def thing(request: Any) -> dict[str, int]:
        number = int(request.matchdict["id"])
        if number > 1000:
            raise RuntimeError("the bug the harness must find")
        return {"id": number}

    with Configurator() as config:
        config.add_route("document", "/openapi.json")
        config.add_view(lambda request: STUB_DOCUMENT, route_name="document", renderer="json")
        config.add_route("thing", "/things/{id:-?\\d+}")
        config.add_view(thing, route_name="thing", renderer="json")
        app = config.make_wsgi_app()
    server = LiveServer(app).start()
    try:
        yield server.url
    finally:
        server.stop()


def test_the_harness_reports_a_server_error(stub_api: str, tmp_path: Path) -> None:
    found = run_schemathesis(f"{stub_api}/openapi.json", tmp_path)
    print(found.summary())
    assert found.operations == 1
    assert found.test_cases > 0
    assert "ST101" in {failure["code"] for failure in found.failures}, found.output
