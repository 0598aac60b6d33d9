"""Logging helpers: the request id on every line, JSON access-log lines.

Use the formatters from the ini's logging sections (``fileConfig`` cannot
attach filters, so the formatters add the request id themselves)::

    [formatter_generic]
    class = pyramidion.logging.RequestIdFormatter
    format = %(asctime)s %(levelname)-5.5s [%(name)s] [%(request_id)s] %(message)s

    [formatter_json]
    class = pyramidion.logging.JsonFormatter

With ``logging.config.dictConfig``, ``RequestIdFilter`` does the same for any
formatter. Outside a request the id is ``-``.
"""

from __future__ import annotations

import contextvars
import json
import logging
from typing import Any

__all__ = [
    "JsonFormatter",
    "RequestIdFilter",
    "RequestIdFormatter",
    "current_request_id",
]

#: The id of the request being served in this context; the execution
#: policy (pyramidion.web) sets it and resets it around each request.
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar(
    "pyramidion_request_id", default="-"
)

#: LogRecord attributes that are not user-supplied ``extra`` fields.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "request_id"}
)


def current_request_id() -> str:
    """The id of the request being served in this context, or ``-``."""
    return request_id_var.get()


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` so formats can print it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class RequestIdFormatter(logging.Formatter):
    """A plain formatter whose format may use ``%(request_id)s``."""

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id,
    any ``extra`` fields, and the exception text when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id_var.get()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, separators=(",", ":"))
