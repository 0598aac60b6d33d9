"""Prometheus metrics at /metrics: what a scrape shows, and who may scrape."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import webtest
from prometheus_client.parser import text_string_to_metric_families
from pyramid.router import Router

from pyramidion.app import get_database, make_app
from tests import metrics_app

LOOPBACK = {"REMOTE_ADDR": "127.0.0.1"}
AppMaker = Callable[..., webtest.TestApp]


@pytest.fixture
def make(tmp_path: Path) -> Iterator[AppMaker]:
    apps: list[Router] = []
    url = f"sqlite:///{tmp_path / 'app.sqlite'}"

    def build(**settings: str) -> webtest.TestApp:
        app = make_app(
            {
                "sqlalchemy.url": url,
                "pyramidion.addons": "tests.metrics_app",
                "pyramidion.metrics": "true",
                **settings,
            },
            environ={},
        )
        apps.append(app)
        with get_database(app.registry).engine.begin() as connection:
            connection.execute(
                sa.text(
                    "CREATE TABLE IF NOT EXISTS metric_rows (id INTEGER PRIMARY KEY, note TEXT)"
                )
            )
        return webtest.TestApp(app, extra_environ=LOOPBACK)

    yield build
    for app in apps:
        get_database(app.registry).engine.dispose()


def scrape(
    app: webtest.TestApp, **kw: object
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = app.get("/metrics", **kw)
    assert response.content_type == "text/plain"
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_requests_are_counted_and_timed_by_route_and_status(make: AppMaker) -> None:
    app = make()
    app.get("/page")
    app.get("/page")
    app.get("/nowhere", status=404)

    samples = scrape(app)

    page = (("method", "GET"), ("route", "m.page"), ("status", "200"))
    assert samples[("pyramidion_requests_total", page)] == 2
    missing = (("method", "GET"), ("route", "(none)"), ("status", "404"))
    assert samples[("pyramidion_requests_total", missing)] == 1
    timed = (("route", "m.page"), ("status", "200"))
    assert samples[("pyramidion_request_duration_seconds_count", timed)] == 2


def test_login_failures_pool_and_retries(make: AppMaker) -> None:
    app = make()
    app.post("/login", status=401)
    metrics_app.flaky_failures[0] = 1
    response = app.post("/flaky", {"note": "mine"})

    samples = scrape(app)

    assert response.text == "done"
    assert metrics_app.flaky_failures == [0]
    assert samples[("pyramidion_login_failures_total", ())] == 1
    retried = (("cause", "ConnectionResetError"),)
    assert samples[("pyramidion_request_retries_total", retried)] == 1
    assert samples[("pyramidion_transaction_conflicts_total", ())] == 0
    assert (
        sum(v for (name, _), v in samples.items() if name == "pyramidion_request_retries_total")
        == 1
    )
    assert samples[("pyramidion_db_connections_opened_total", ())] >= 1
    assert samples[("pyramidion_db_connections_in_use", ())] == 0


def test_metrics_are_served_to_loopback_only_without_a_token(make: AppMaker) -> None:
    app = make()

    response = app.get("/metrics", extra_environ={"REMOTE_ADDR": "203.0.113.7"}, status=403)

    assert "pyramidion_requests_total" not in response.text


def test_with_a_token_the_token_is_required(make: AppMaker) -> None:
    app = make(**{"pyramidion.metrics_token": "s3cret-token"})

    app.get("/metrics", status=403)
    app.get("/metrics", headers={"Authorization": "Bearer wrong"}, status=403)
    samples = scrape(
        app,
        headers={"Authorization": "Bearer s3cret-token"},
        extra_environ={"REMOTE_ADDR": "203.0.113.7"},
    )

    assert ("pyramidion_login_failures_total", ()) in samples


def test_off_by_default(tmp_path: Path) -> None:
    app = make_app({"sqlalchemy.url": f"sqlite:///{tmp_path / 'a.sqlite'}"}, environ={})
    try:
        webtest.TestApp(app, extra_environ=LOOPBACK).get("/metrics", status=404)
    finally:
        get_database(app.registry).engine.dispose()


def _run(code: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


SERVE = """
    import sys
    import webtest
    from pyramidion.app import make_app

    app = make_app(
        {{"sqlalchemy.url": "sqlite:///{db}", "pyramidion.addons": "tests.metrics_app",
          "pyramidion.metrics": "true"}},
        environ={{}},
    )
    test = webtest.TestApp(app, extra_environ={{"REMOTE_ADDR": "127.0.0.1"}})
    for _ in range({count}):
        test.get("/page")
    if {scrape}:
        sys.stdout.write(test.get("/metrics").text)
"""


def test_several_processes_report_together(tmp_path: Path) -> None:
    directory = tmp_path / "prometheus"
    directory.mkdir()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(directory)}
    root = Path(__file__).resolve().parent.parent
    db = tmp_path / "m.sqlite"

    for count in (2, 3):
        done = _run(SERVE.format(db=db, count=count, scrape=False), env, root)
        assert done.returncode == 0, done.stderr
    scraped = _run(SERVE.format(db=db, count=0, scrape=True), env, root)

    assert scraped.returncode == 0, scraped.stderr
    line = 'pyramidion_requests_total{method="GET",route="m.page",status="200"} 5.0'
    assert line in scraped.stdout


def test_without_prometheus_client_the_setting_is_a_clear_error(tmp_path: Path) -> None:
    # A prometheus_client that cannot be imported, first on the path.
    shadow = tmp_path / "shadow"
    (shadow / "prometheus_client").mkdir(parents=True)
    (shadow / "prometheus_client" / "__init__.py").write_text("raise ImportError('gone')\n")
    code = f"""
        from pyramidion.app import make_app
        from pyramidion.errors import SettingsError
        try:
            make_app({{"sqlalchemy.url": "sqlite:///{tmp_path / "x.sqlite"}",
                      "pyramidion.metrics": "true"}}, environ={{}})
        except SettingsError as exc:
            print(exc)
    """
    env = {"PYTHONPATH": os.pathsep.join([str(shadow), os.environ.get("PYTHONPATH", "")])}

    done = _run(code, env, tmp_path)

    assert done.stdout.strip() == (
        "pyramidion.metrics = true needs the prometheus_client package, which is "
        "not installed. Install it (pip install 'pyramidion-core[metrics]') or set "
        "pyramidion.metrics = false."
    )
