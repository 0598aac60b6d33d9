from __future__ import annotations

import time
from typing import Any

from pyramidion_jobs import job

from .models import Effect


@job("jobstest.record")
def record(request: Any, value: str) -> None:
    request.dbsession.add(
        Effect(job_key=request.job.key, value=value, attempt=request.job.attempt)
    )


@job("jobstest.flaky", max_attempts=4)
def flaky(request: Any, value: str, failures: int) -> None:
    """Fails on its first ``failures`` attempts, then records ``value``."""
    if request.job.attempt <= failures:
        raise RuntimeError(f"attempt {request.job.attempt} fails on purpose")
    record(request, value)


@job("jobstest.always_fails", max_attempts=3)
def always_fails(request: Any) -> None:
    raise ConnectionRefusedError("the mail server said no")


@job("jobstest.slow", time_limit=3)
def slow(request: Any, value: str, seconds: float) -> None:
    time.sleep(seconds)
    record(request, value)
