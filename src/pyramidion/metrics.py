"""Prometheus metrics at ``/metrics``, when ``pyramidion.metrics`` is on.

With prometheus_client (the ``metrics`` extra). Exposed:

- ``pyramidion_requests_total{route, method, status}`` and
  ``pyramidion_request_duration_seconds{route, status}`` (a histogram), by
  route name (``(none)`` when no route matched), from a tween just inside
  the request log's;
- ``pyramidion_db_connections_in_use`` and
  ``pyramidion_db_connections_opened_total``, from SQLAlchemy's pool events;
- ``pyramidion_request_retries_total{cause}``: each attempt pyramid_retry
  starts again (its ``IBeforeRetry`` event), and
  ``pyramidion_transaction_conflicts_total``: those caused by the database
  refusing a transaction that ran into another (serialization failure,
  deadlock);
- ``pyramidion_login_failures_total``, which add-ons increment with
  :func:`count_login_failure`.

``/metrics`` is not public: it answers requests that carry
``Authorization: Bearer <pyramidion.metrics_token>`` when that setting is
set, and otherwise only requests from the loopback address (a Prometheus
on the same host, or a sidecar); everyone else gets 403. With
``PROMETHEUS_MULTIPROC_DIR`` in the environment (several processes on one
machine), prometheus_client's multiprocess mode writes each process's
values there and a scrape of any process reports them all.
"""

from __future__ import annotations

import hmac
import importlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyramid.httpexceptions import HTTPForbidden
from pyramid.response import Response
from sqlalchemy import event

from .db import is_conflict
from .errors import SettingsError
from .security import PUBLIC
from .state import app_state, get_database

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.registry import Registry
    from pyramid.request import Request

__all__ = ["METRICS_PATH", "count_login_failure", "includeme", "metrics_tween_factory"]

Handler = Callable[["Request"], Response]

#: Where the metrics are served.
METRICS_PATH = "/metrics"
LOOPBACK = frozenset({"127.0.0.1", "::1"})
UNMATCHED = "(none)"


@dataclass
class Metrics:
    """The metric objects of one application."""

    registry: Any
    requests: Any
    duration: Any
    connections_in_use: Any
    connections_opened: Any
    retries: Any
    conflicts: Any
    login_failures: Any


def _prometheus() -> Any:
    try:
        return importlib.import_module("prometheus_client")
    except ImportError:
        raise SettingsError(
            "pyramidion.metrics = true needs the prometheus_client package, which "
            "is not installed. Install it (pip install 'pyramidion-core[metrics]') or "
            "set pyramidion.metrics = false."
        ) from None


def _make_metrics(prometheus: Any) -> Metrics:
    # A registry per application, so that building the app twice in one
    # process (tests, pshell) does not register the same names twice.
    registry = prometheus.CollectorRegistry(auto_describe=True)
    return Metrics(
        registry=registry,
        requests=prometheus.Counter(
            "pyramidion_requests_total",
            "Requests answered, by route name, method and status.",
            ["route", "method", "status"],
            registry=registry,
        ),
        duration=prometheus.Histogram(
            "pyramidion_request_duration_seconds",
            "Time to answer a request, by route name and status.",
            ["route", "status"],
            registry=registry,
        ),
        connections_in_use=prometheus.Gauge(
            "pyramidion_db_connections_in_use",
            "Database connections checked out of the pool.",
            registry=registry,
            multiprocess_mode="livesum",
        ),
        connections_opened=prometheus.Counter(
            "pyramidion_db_connections_opened_total",
            "Database connections the pool opened.",
            registry=registry,
        ),
        retries=prometheus.Counter(
            "pyramidion_request_retries_total",
            "Requests run again by pyramid_retry, by the error's type.",
            ["cause"],
            registry=registry,
        ),
        conflicts=prometheus.Counter(
            "pyramidion_transaction_conflicts_total",
            "Transactions the database refused because they ran into another.",
            registry=registry,
        ),
        login_failures=prometheus.Counter(
            "pyramidion_login_failures_total",
            "Failed logins, counted by the add-ons that check passwords.",
            registry=registry,
        ),
    )


def _metrics(registry: Registry) -> Metrics | None:
    found: Metrics | None = registry.__dict__.get("pyramidion_metrics")
    return found


def count_login_failure(request: Request) -> None:
    """Count one failed login in ``pyramidion_login_failures_total``.

    For add-ons that check credentials; does nothing when metrics are off.
    """
    metrics = _metrics(request.registry)
    if metrics is not None:
        metrics.login_failures.inc()


def metrics_tween_factory(handler: Handler, registry: Registry) -> Handler:
    """Count every request and time it, by route name and status."""
    metrics = _metrics(registry)
    if metrics is None:
        return handler

    def metrics_tween(request: Request) -> Response:
        start = time.perf_counter()
        status = "500"
        try:
            response = handler(request)
            status = str(response.status_int)
            return response
        finally:
            route = request.matched_route.name if request.matched_route else UNMATCHED
            metrics.requests.labels(route, request.method, status).inc()
            metrics.duration.labels(route, status).observe(time.perf_counter() - start)

    return metrics_tween


def _before_retry(event_: Any) -> None:
    metrics = _metrics(event_.request.registry)
    if metrics is None:
        return
    exception = event_.exception
    metrics.retries.labels(type(exception).__name__).inc()
    if is_conflict(exception):
        metrics.conflicts.inc()


def _exposition(metrics: Metrics) -> tuple[bytes, str]:
    prometheus = _prometheus()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess = importlib.import_module("prometheus_client.multiprocess")
        registry = prometheus.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = metrics.registry
    return prometheus.generate_latest(registry), prometheus.CONTENT_TYPE_LATEST


def metrics_view(request: Request) -> Response:
    """The metrics, for the holder of the token or for loopback."""
    metrics = _metrics(request.registry)
    assert metrics is not None  # the route exists only when metrics are on
    token = app_state(request.registry).core.metrics_token
    if token:
        given = request.authorization
        allowed = (
            given is not None
            and given.authtype.lower() == "bearer"
            and isinstance(given.params, str)
            and hmac.compare_digest(given.params.encode(), token.encode())
        )
    else:
        allowed = request.remote_addr in LOOPBACK
    if not allowed:
        raise HTTPForbidden(
            "Metrics are served only with the metrics token "
            "(Authorization: Bearer ...) or, when pyramidion.metrics_token is "
            "not set, to the loopback address."
        )
    body, content_type = _exposition(metrics)
    response = Response(body=body)
    response.headers["Content-Type"] = content_type
    response.headers["Cache-Control"] = "no-store"
    return response


def includeme(config: Configurator) -> None:
    """When ``pyramidion.metrics`` is on: the metrics, the request tween,
    the pool listeners, the retry subscriber and the ``/metrics`` route.
    Reads ``pyramidion.metrics`` and ``pyramidion.metrics_token``."""
    if not app_state(config.registry).core.metrics:
        return
    metrics = _make_metrics(_prometheus())
    config.registry.__dict__["pyramidion_metrics"] = metrics

    pool = get_database(config.registry).engine.pool

    def on_checkout(*args: Any) -> None:
        metrics.connections_in_use.inc()

    def on_checkin(*args: Any) -> None:
        metrics.connections_in_use.dec()

    def on_connect(*args: Any) -> None:
        metrics.connections_opened.inc()

    event.listen(pool, "checkout", on_checkout)
    event.listen(pool, "checkin", on_checkin)
    event.listen(pool, "connect", on_connect)

    from pyramid_retry import IBeforeRetry

    config.add_subscriber(_before_retry, IBeforeRetry)
    # Outside the security headers tween, which renders what is raised
    # below it, so a request is counted with the status it is answered with.
    config.add_tween(
        "pyramidion.metrics.metrics_tween_factory",
        under="pyramidion.tweens.request_log_tween_factory",
        over="pyramidion.tweens.security_headers_tween_factory",
    )
    config.add_route("pyramidion.metrics", METRICS_PATH)
    config.add_view(metrics_view, route_name="pyramidion.metrics", permission=PUBLIC)
