"""The admin tests run an app with ``admin`` and ``admintest`` (in ``example/``),
whose models ``Thing`` and ``Part`` the admin registers."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from pyramidion.testing import install_test_distribution

EXAMPLE = Path(__file__).resolve().parent / "example"


@pytest.fixture(scope="session")
def admintest_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``admintest`` add-on, installed for the rest of the session."""
    site = tmp_path_factory.mktemp("admintest-site")
    install_test_distribution(
        site,
        source=EXAMPLE,
        distribution="pyramidion-admin-example",
        addons={"admintest": "pyramidion_admin_example:addon"},
    )
    return site


@pytest.fixture(scope="session")
def pyramidion_addons(admintest_site: Path) -> list[str]:
    return ["admin", "admintest"]


@pytest.fixture(scope="session")
def pyramidion_extra_settings() -> dict[str, Any]:
    from pyramidion_auth.testing import AUTH_TEST_SETTINGS

    return {**AUTH_TEST_SETTINGS, "admin.page_size": "5"}


@pytest.fixture
def make_things(dbsession: Any, tm: Any) -> Callable[..., list[Any]]:
    """``make_things(count, **columns)``: committed things named ``thing 000``...,
    created a minute apart."""
    from pyramidion_admin_example.models import Thing

    def make(count: int, *, start: int = 0, **columns: Any) -> list[Any]:
        base = datetime.datetime(2026, 1, 1, 12, 0)
        things = [
            Thing(
                name=columns.get("name", f"thing {start + i:03d}"),
                code=columns.get("code", f"C{start + i:03d}"),
                created_at=base + datetime.timedelta(minutes=start + i),
                **{k: v for k, v in columns.items() if k not in ("name", "code")},
            )
            for i in range(count)
        ]
        dbsession.add_all(things)
        dbsession.flush()
        tm.commit()
        return things

    return make


@pytest.fixture
def admin_grant(testapp: Any, dbsession: Any, tm: Any) -> Callable[[str, Iterable[str]], None]:
    """``admin_grant(group, permissions)``: committed grants."""
    from pyramidion_admin.services import grant

    def give(group: str, permissions: Iterable[str]) -> None:
        grant(dbsession, group, permissions)
        tm.commit()

    return give
