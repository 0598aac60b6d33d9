"""The cross-cutting security suite runs against an app with every bundled
add-on (and the demo blog) enabled, and walks its route table, so a route
any add-on adds is covered without a test naming it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pyramid.interfaces import IExceptionResponse
from pyramid.router import Router
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from pyramidion.db import metadata
from pyramidion.discovery import discover_addons
from pyramidion.testing import PyramidionTestApp
from pyramidion_auth.accounts import create_user

PASSWORD = "correct horse battery staple"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Headers every response carries, whatever produced it.
SECURITY_HEADERS = (
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Referrer-Policy",
    "Content-Security-Policy",
    "X-Request-ID",
)


@pytest.fixture(scope="session")
def pyramidion_addons() -> list[str]:
    installed = discover_addons()
    return [name for name in ("auth", "forms", "storage", "blog", "api") if name in installed]


@pytest.fixture(scope="session")
def pyramidion_extra_settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return {
        "auth.argon2_memory_cost": "19456",
        "auth.argon2_time_cost": "2",
        "auth.argon2_parallelism": "1",
        # A clock the throttle tests stop (auth_clock), so they never
        # depend on how busy the machine is.
        "auth.clock": "pyramidion_auth.clock:ManualClock",
        "auth.allow_registration": "true",
        "auth.mail_directory": str(tmp_path_factory.mktemp("mail")),
        "storage.local_root": str(tmp_path_factory.mktemp("files")),
    }


@dataclass(frozen=True)
class RouteView:
    """One view of one route, as the introspector lists it."""

    route: str
    pattern: str
    methods: tuple[str, ...] | None
    permission: str | None
    require_csrf: bool | None

    def path(self) -> str:
        """A concrete path for the pattern: every placeholder filled with '1'."""
        path = re.sub(r"\{[^}]*\}", "1", self.pattern)
        path = re.sub(r"\*\w+$", "x", path)
        return path if path.startswith("/") else "/" + path

    @property
    def unsafe_methods(self) -> list[str]:
        if self.methods is None:
            return ["POST"]
        return sorted(UNSAFE.intersection(self.methods))


def route_views(app: Router) -> list[RouteView]:
    """Every view reachable through a route, from the introspector."""
    introspector = app.registry.introspector
    routes = {
        item["introspectable"]["name"]: item["introspectable"]
        for item in introspector.get_category("routes")
    }
    found = []
    for item in introspector.get_category("views"):
        view = item["introspectable"]
        route = routes.get(view["route_name"])
        if route is None or view["exception_only"]:
            continue
        if route["static"]:
            continue
        permissions = [
            r["value"] for r in introspector.related(view) if r.category_name == "permissions"
        ]
        methods = view["request_methods"]
        found.append(
            RouteView(
                route=route["name"],
                pattern=route["pattern"],
                methods=(methods,) if isinstance(methods, str) else methods,
                permission=permissions[0] if permissions else None,
                require_csrf=view["require_csrf"],
            )
        )
    return found


def all_views(app: Router) -> Iterator[dict[str, Any]]:
    """Every view that a request (not only an exception) can reach."""
    for item in app.registry.introspector.get_category("views"):
        view = item["introspectable"]
        context = view["context"]
        if view["exception_only"]:
            continue
        if context is not None and (
            (isinstance(context, type) and issubclass(context, BaseException))
            or context is IExceptionResponse
        ):
            continue
        yield view


#: Tables a refused request writes to by design: the API's rate limits
#: (and the login throttle) count refused requests too.
COUNTER_TABLES = frozenset({"auth_throttle_counters"})


def row_counts(connection: Connection) -> dict[str, int]:
    """Rows in every table the app maps, counters excepted."""
    counts = {}
    for table in metadata.sorted_tables:
        if table.name in COUNTER_TABLES:
            continue
        try:
            with connection.begin_nested():
                counts[table.name] = connection.execute(
                    select(func.count()).select_from(table)
                ).scalar_one()
        except Exception:  # a table of a test add-on that is not created here
            continue
    return counts


@pytest.fixture
def admin_app(testapp: PyramidionTestApp, dbsession: Session, tm: Any) -> PyramidionTestApp:
    """``testapp`` logged in as an administrator, through the login form."""
    email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    create_user(testapp.app.registry, dbsession, email=email, password=PASSWORD, admin=True)
    tm.commit()
    page = testapp.get("/auth/login")
    form = page.forms["login"]
    form["email"] = email
    form["password"] = PASSWORD
    form.submit("submit", status=303)
    return testapp


@pytest.fixture(params=["logged out", "logged in"])
def client(request: pytest.FixtureRequest, testapp: PyramidionTestApp) -> PyramidionTestApp:
    """``testapp`` as a visitor, then as a logged-in administrator."""
    if request.param == "logged in":
        return request.getfixturevalue("admin_app")  # type: ignore[no-any-return]
    return testapp
