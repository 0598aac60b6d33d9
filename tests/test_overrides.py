"""Asset overrides: a dependent overrides what it depends on, the integrator
overrides everything, and missing files fall through to the original."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyramidion.app import app_state
from pyramidion.errors import ConfigurationError
from pyramidion.overrides import INTEGRATOR, override_report
from pyramidion.testing import MakeApp, PyramidionTestApp
from tests.distributions import Distributions

SERVE_STATIC = """
from pyramidion import PUBLIC
config.add_static_view("static", "{pkg}:static/", permission=PUBLIC)
"""


@pytest.fixture
def themed(distributions: Distributions) -> tuple[str, str]:
    """``base`` serves two static files; ``theme`` requires it and overrides one."""
    base = distributions.addon(
        "base",
        includeme=SERVE_STATIC,
        files={"static/hello.txt": "from base\n", "static/other.txt": "other from base\n"},
    )
    theme = distributions.addon(
        "theme",
        requires=["base"],
        files={"overrides/base/static/hello.txt": "from theme\n"},
    )
    return base, theme


def fetch(app: object, path: str) -> str:
    return PyramidionTestApp(app).get(path).text


def test_an_addon_serves_its_own_assets(make_pyramidion_app: MakeApp, themed: object) -> None:
    app = make_pyramidion_app(addons=["base"])
    assert fetch(app, "/base/static/hello.txt") == "from base\n"


def test_a_dependent_overrides_what_it_depends_on(
    make_pyramidion_app: MakeApp, themed: object
) -> None:
    app = make_pyramidion_app(addons=["theme"])
    assert fetch(app, "/base/static/hello.txt") == "from theme\n"
    # A file the overriding layer lacks falls through to the original.
    assert fetch(app, "/base/static/other.txt") == "other from base\n"


def test_the_order_of_the_ini_does_not_change_the_winner(
    make_pyramidion_app: MakeApp, themed: object
) -> None:
    for names in (["base", "theme"], ["theme", "base"]):
        app = make_pyramidion_app(addons=names)
        assert fetch(app, "/base/static/hello.txt") == "from theme\n"


def test_the_integrator_overrides_everything(
    make_pyramidion_app: MakeApp, themed: object, tmp_path: Path
) -> None:
    site = tmp_path / "integrator" / "base" / "static"
    site.mkdir(parents=True)
    (site / "hello.txt").write_text("from the integrator\n")
    app = make_pyramidion_app(
        {"pyramidion.overrides": str(tmp_path / "integrator")}, addons=["theme"]
    )
    assert fetch(app, "/base/static/hello.txt") == "from the integrator\n"
    assert fetch(app, "/base/static/other.txt") == "other from base\n"

    report = {entry.asset: entry.providers for entry in override_report(app_state(app.registry))}
    base_pkg = app_state(app.registry).resolution["base"].addon.package
    assert report == {f"{base_pkg}:static/hello.txt": (INTEGRATOR, "theme")}


def test_an_integrator_directory_that_does_not_exist_stops_start_up(
    make_pyramidion_app: MakeApp, themed: object, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(ConfigurationError) as info:
        make_pyramidion_app({"pyramidion.overrides": str(missing)}, addons=["base"])
    assert f"pyramidion.overrides = {missing}: {missing} is not a directory." in str(info.value)


def test_overrides_of_an_addon_that_is_not_enabled_are_ignored(
    make_pyramidion_app: MakeApp, distributions: Distributions
) -> None:
    distributions.addon("lonely", files={"overrides/absent/static/x.txt": "x\n"})
    app = make_pyramidion_app(addons=["lonely"])
    assert override_report(app_state(app.registry)) == []
