from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPBadRequest

from .jobs import record, slow


def send(request: Any) -> dict[str, Any]:
    """Send one job; ``fail=raise`` or ``fail=400`` then ends the request badly."""
    value = request.params.get("value", "x")
    if "seconds" in request.params:
        sent = request.jobs.send(slow, value, float(request.params["seconds"]))
    else:
        sent = request.jobs.send(record, value)
    if request.params.get("fail") == "raise":
        raise RuntimeError("the request fails after sending its job")
    if request.params.get("fail") == "400":
        return HTTPBadRequest()  # type: ignore[return-value]
    return {"job": sent.id}
