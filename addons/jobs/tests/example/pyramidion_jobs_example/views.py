from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPBadRequest

from .jobs import record, slow
from .models import Effect


def send(request: Any) -> dict[str, Any]:
    """Send one job; ``fail=raise`` or ``fail=400`` then ends the request badly.

    ``send=0`` writes a row of the request's own instead of sending a job,
    and ``send=both`` does both: the benchmark's request without and with
    a job.
    """
    value = request.params.get("value", "x")
    mode = request.params.get("send", "1")
    if mode in ("0", "both"):
        request.dbsession.add(Effect(job_key="request", value=value, attempt=0))
        request.dbsession.flush()
    sent = None
    if mode != "0":
        if "seconds" in request.params:
            sent = request.jobs.send(slow, value, float(request.params["seconds"]))
        else:
            sent = request.jobs.send(record, value)
    if request.params.get("fail") == "raise":
        raise RuntimeError("the request fails after sending its job")
    if request.params.get("fail") == "400":
        return HTTPBadRequest()  # type: ignore[return-value]
    return {"job": sent.id if sent is not None else None}


def mail(request: Any) -> dict[str, Any]:
    """Send an email through the auth add-on (when it is enabled), then
    ``fail=raise`` ends the request with an error."""
    from pyramidion_auth.mail import send_mail

    send_mail(request, request.params["to"], "A test", "Sent by jobstest.\n")
    if request.params.get("fail") == "raise":
        raise RuntimeError("the request fails after sending its email")
    return {"sent": True}
