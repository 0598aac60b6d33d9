"""The jobs add-on's clock: the time jobs are sent, claimed and retried at.

Registered in the application's registry so that tests can move time by
hand (``registry.registerUtility(fake_clock, IJobClock)``) instead of
sleeping through retry waits and leases.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from zope.interface import Interface

from .models import utcnow

if TYPE_CHECKING:
    from pyramid.registry import Registry

__all__ = ["Clock", "IJobClock", "get_clock"]

Clock = Callable[[], datetime.datetime]


class IJobClock(Interface):  # type: ignore[misc]
    """The registry key of the jobs add-on's clock (a ``Clock``)."""


def get_clock(registry: Registry) -> Clock:
    """The registered clock, or the real one (UTC)."""
    return cast(Clock, registry.queryUtility(IJobClock, default=utcnow))
