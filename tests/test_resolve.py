"""Resolving the ini's add-on list into an ordered set, and every way it fails."""

from __future__ import annotations

import itertools
import logging

import pytest

import pyramidion
from pyramidion.app import CORE_VERSION, app_state
from pyramidion.discovery import discover_addons
from pyramidion.errors import (
    AddonImportError,
    AddonNotFound,
    DependencyCycle,
    MissingRequirement,
    VersionConflict,
)
from pyramidion.resolve import resolve_addons
from pyramidion.testing import MakeApp, PyramidionTestApp
from tests.distributions import Distributions

RECORD_INCLUDE = 'config.registry.setdefault("included", []).append({name!r})'


def install_graph(distributions: Distributions) -> None:
    """base <- accounts <- blog (blog also after media); media and zeta alone."""
    for name, requires, after in [
        ("base", (), ()),
        ("accounts", ("base",), ()),
        ("blog", ("accounts",), ("media",)),
        ("media", (), ()),
        ("zeta", (), ()),
    ]:
        distributions.addon(
            name, requires=requires, after=after, includeme=RECORD_INCLUDE.format(name=name)
        )


def test_requirements_are_pulled_in_and_reported(
    distributions: Distributions,
    make_pyramidion_app: MakeApp,
    caplog: pytest.LogCaptureFixture,
) -> None:
    install_graph(distributions)
    with caplog.at_level(logging.INFO, logger="pyramidion"):
        app = make_pyramidion_app(addons=["blog"])

    resolution = app_state(app.registry).resolution
    assert resolution.names == ("base", "accounts", "blog")
    assert resolution["blog"].reason == "listed in pyramidion.addons"
    assert resolution["accounts"].reason == "required by blog"
    assert resolution["base"].reason == "required by accounts"
    assert resolution.dependents("base") == ("accounts", "blog")
    assert "add-on accounts 1.0 (pyramidion-test-accounts) enabled: required by blog" in (
        caplog.messages
    )


def test_include_order_is_the_graph_not_the_ini(
    distributions: Distributions, make_pyramidion_app: MakeApp
) -> None:
    install_graph(distributions)
    installed = discover_addons()
    expected = ("base", "accounts", "media", "blog", "zeta")

    for ordering in itertools.permutations(["zeta", "blog", "media", "blog"]):
        resolution = resolve_addons(ordering, installed, core_version=CORE_VERSION)
        assert resolution.names == expected, ordering

    app = make_pyramidion_app({"pyramidion.addons": "zeta\n  media blog,"})
    assert app.registry["included"] == list(expected)


def test_unknown_addon_lists_installed_and_suggests_spelling(
    distributions: Distributions, make_pyramidion_app: MakeApp
) -> None:
    distributions.addon("blog")

    with pytest.raises(AddonNotFound) as info:
        make_pyramidion_app(addons=["blgo"])

    message = str(info.value)
    assert message.startswith("pyramidion.addons names add-on 'blgo', but no installed")
    assert "Did you mean 'blog'?" in message
    assert "Installed add-ons: " in message
    assert "blog (pyramidion-test-blog 1.0)" in message


def test_main_prints_the_message_and_exits_2(
    distributions: Distributions,
    pyramidion_settings: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    distributions.addon("blog")
    settings = {**pyramidion_settings, "pyramidion.addons": "blgo"}

    with pytest.raises(SystemExit) as info:
        pyramidion.main({}, **settings)

    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("pyramidion: error: pyramidion.addons names add-on 'blgo'")
    assert "Did you mean 'blog'?" in err
    assert "Traceback" not in err


def test_missing_requirement_names_who_needs_it(
    distributions: Distributions, make_pyramidion_app: MakeApp
) -> None:
    distributions.addon("blog", requires=["accounts>=1"])

    with pytest.raises(MissingRequirement) as info:
        make_pyramidion_app(addons=["blog"])

    message = str(info.value)
    assert message.startswith(
        "add-on 'blog' (pyramidion-test-blog) requires add-on 'accounts', which is not installed."
    )
    assert "or remove 'blog' from pyramidion.addons" in message


@pytest.mark.parametrize(
    ("kind", "verb"), [("requires", "is required by"), ("after", "must come before (after=)")]
)
def test_cycle_prints_the_path(
    distributions: Distributions, make_pyramidion_app: MakeApp, kind: str, verb: str
) -> None:
    # alpha -> beta -> gamma -> alpha, plus an innocent bystander.
    distributions.addon("alpha", **{kind: ["gamma"]})
    distributions.addon("beta", **{kind: ["alpha"]})
    distributions.addon("gamma", **{kind: ["beta"]})
    distributions.addon("delta")

    with pytest.raises(DependencyCycle) as info:
        make_pyramidion_app(addons=["alpha", "beta", "gamma", "delta"])

    message = str(info.value)
    assert message.startswith("the add-on graph has a cycle: ")
    first_line = message.splitlines()[0]
    path = first_line.split(": ", 1)[1].split(" -> ")
    assert path[0] == path[-1]
    assert sorted(path[:-1]) == ["alpha", "beta", "gamma"]
    assert f"'gamma' {verb} 'alpha'" in message
    assert "delta" not in message


def test_requires_range_conflict(
    distributions: Distributions, make_pyramidion_app: MakeApp
) -> None:
    distributions.addon("accounts", version="1.4")
    distributions.addon("blog", requires=["accounts>=2,<3"])

    with pytest.raises(VersionConflict) as info:
        make_pyramidion_app(addons=["blog"])

    assert str(info.value).startswith(
        "add-on 'blog' requires accounts<3,>=2, but 'accounts' 1.4 is installed "
        "(distribution pyramidion-test-accounts)."
    )


def test_core_range_conflict(distributions: Distributions, make_pyramidion_app: MakeApp) -> None:
    distributions.addon("blog", version="0.3", core=">=99")

    with pytest.raises(VersionConflict) as info:
        make_pyramidion_app(addons=["blog"])

    assert str(info.value).startswith(
        f"add-on 'blog' (pyramidion-test-blog 0.3) works with Pyramidion >=99, "
        f"but Pyramidion {CORE_VERSION} is installed."
    )


def test_addon_that_fails_to_import_names_distribution_and_cause(
    distributions: Distributions, make_pyramidion_app: MakeApp
) -> None:
    distributions.addon("blog", preamble="import pt_no_such_module_anywhere")
    # Installed but not enabled: nobody imports it, so nothing breaks.
    make_pyramidion_app(addons=[])

    with pytest.raises(AddonImportError) as info:
        make_pyramidion_app(addons=["blog"])

    message = str(info.value)
    assert message.startswith(
        "add-on 'blog' (distribution pyramidion-test-blog 1.0) could not be imported"
    )
    assert "ModuleNotFoundError: No module named 'pt_no_such_module_anywhere'" in message


def test_entry_point_naming_something_else(
    distributions: Distributions, make_pyramidion_app: MakeApp
) -> None:
    pkg = distributions.package_name("blog")
    distributions.distribution(
        "pyramidion-test-blog",
        files={f"{pkg}/__init__.py": "addon = {'name': 'blog'}\n"},
        entry_points={"blog": f"{pkg}:addon"},
    )

    with pytest.raises(AddonImportError) as info:
        make_pyramidion_app(addons=["blog"])

    assert str(info.value) == (
        f"the entry point 'blog = {pkg}:addon' of distribution "
        "pyramidion-test-blog names a dict, not a pyramidion.Addon descriptor."
    )


PLAIN_INCLUDEME = """
from pyramidion import PUBLIC


def includeme(config):
    config.add_route("plain.hello", "/plain")
    config.add_view(
        lambda request: {"plain": True},
        route_name="plain.hello",
        renderer="json",
        permission=PUBLIC,
    )
"""


@pytest.mark.parametrize("setting", ["pyramidion.addons", "pyramid.includes"])
def test_plain_pyramid_packages_still_load(
    distributions: Distributions, make_pyramidion_app: MakeApp, setting: str
) -> None:
    pkg = distributions.package_name("plain")
    distributions.distribution(
        "plain-pyramid-package", files={f"{pkg}/__init__.py": PLAIN_INCLUDEME}
    )

    app = PyramidionTestApp(make_pyramidion_app({setting: pkg}))

    assert app.get("/plain").json == {"plain": True}


def test_dotted_name_that_is_not_importable(make_pyramidion_app: MakeApp) -> None:
    with pytest.raises(AddonNotFound) as info:
        make_pyramidion_app(addons=["no_such.package"])

    assert str(info.value).startswith(
        "pyramidion.addons names 'no_such.package', which is neither an installed "
        "add-on nor an importable Python package."
    )


def test_a_missing_package_in_pyramid_includes_is_one_sentence(
    make_pyramidion_app: MakeApp,
) -> None:
    with pytest.raises(AddonImportError) as info:
        make_pyramidion_app({"pyramid.includes": "pyramidion_no_such_package"})
    assert str(info.value) == (
        "pyramid.includes names a package that cannot be imported: "
        "ModuleNotFoundError: No module named 'pyramidion_no_such_package'\n"
        "Install it, or remove it from pyramid.includes."
    )
