"""``jobstest``: an add-on that sends, runs and schedules jobs, for the tests."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from pyramidion import PUBLIC, Addon

if TYPE_CHECKING:
    from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    from . import views

    config.scan(".jobs")
    config.add_periodic_job(
        "jobstest.record", datetime.timedelta(hours=1), name="jobstest.hourly", args=("tick",)
    )
    config.add_route("jobstest.send", "/send")
    config.add_view(views.send, route_name="jobstest.send", permission=PUBLIC, renderer="json")
    config.add_route("jobstest.mail", "/mail")
    config.add_view(views.mail, route_name="jobstest.mail", permission=PUBLIC, renderer="json")


addon = Addon(
    name="jobstest",
    includeme="pyramidion_jobs_example.includeme",
    requires=("jobs",),
    models="pyramidion_jobs_example.models",
    migrations="pyramidion_jobs_example:migrations",
)
