"""Typed settings: coercion, defaults, required and secret values, the
environment, and the messages a misconfigured deployment gets."""

from __future__ import annotations

import datetime
import importlib
import logging
from typing import Any

import pytest

import pyramidion
from pyramidion.app import app_state, get_database
from pyramidion.errors import SettingsError
from pyramidion.settings import CoreSettings
from pyramidion.testing import MakeApp, PyramidionTestApp
from tests.distributions import Distributions

SETTINGS = """
import datetime
from dataclasses import dataclass
from typing import Literal

from pyramidion import PUBLIC, setting


@dataclass(frozen=True)
class BlogSettings:
    title: str = setting(doc="The blog's title.")
    api_key: str = setting(doc="Key for the spam checker.", secret=True)
    per_page: int = setting(20, doc="Posts on one page.", min=1, max=200)
    ratio: float = setting(0.5, doc="Share of posts on the front page.")
    comments: bool = setting(True, doc="Whether readers may comment.")
    cache_for: datetime.timedelta = setting(
        datetime.timedelta(minutes=5), doc="How long pages are cached."
    )
    tags: tuple[str, ...] = setting((), doc="Tags offered for new posts.")
    mode: Literal["public", "private"] = setting("public", doc="Who may read.")
    pin: int | None = setting(None, doc="Unlock code.", secret=True)


def home(request):
    return {"route": request.matched_route.name}
"""

INCLUDEME = """
config.add_route("blog.home", "/")
config.add_view(home, route_name="blog.home", renderer="json", permission=PUBLIC)
"""

REQUIRED = {"blog.title": "Notes", "blog.api_key": "k-123"}


@pytest.fixture
def blog(distributions: Distributions) -> Any:
    """The blog add-on's package, installed but not yet enabled."""
    pkg = distributions.addon(
        "blog", preamble=SETTINGS, includeme=INCLUDEME, descriptor="settings=BlogSettings,"
    )
    return importlib.import_module(pkg)


def test_values_are_coerced_into_the_typed_object(blog: Any, make_pyramidion_app: MakeApp) -> None:
    app = make_pyramidion_app(
        {
            "blog.title": "  My notes  ",
            "blog.api_key": "k-123",
            "blog.per_page": "50",
            "blog.ratio": "0.25",
            "blog.comments": "off",
            "blog.cache_for": "2h",
            "blog.tags": "news, travel\n  food",
            "blog.mode": "private",
            "blog.pin": "",
        },
        addons=["blog"],
    )

    assert pyramidion.get_settings(app.registry, blog.BlogSettings) == blog.BlogSettings(
        title="My notes",
        api_key="k-123",
        per_page=50,
        ratio=0.25,
        comments=False,
        cache_for=datetime.timedelta(hours=2),
        tags=("news", "travel", "food"),
        mode="private",
        pin=None,
    )


def test_defaults_apply(blog: Any, make_pyramidion_app: MakeApp) -> None:
    app = make_pyramidion_app(REQUIRED, addons=["blog"])

    parsed = pyramidion.get_settings(app.registry, blog.BlogSettings)
    assert (parsed.per_page, parsed.comments, parsed.cache_for, parsed.tags, parsed.pin) == (
        20,
        True,
        datetime.timedelta(minutes=5),
        (),
        None,
    )


def test_get_settings_of_an_addon_that_is_not_enabled(
    blog: Any, make_pyramidion_app: MakeApp
) -> None:
    app = make_pyramidion_app(addons=[])

    with pytest.raises(LookupError, match="no enabled add-on declares settings BlogSettings"):
        pyramidion.get_settings(app.registry, blog.BlogSettings)
    assert pyramidion.get_settings(app.registry, CoreSettings).development


def test_every_problem_is_reported_at_once(blog: Any, make_pyramidion_app: MakeApp) -> None:
    with pytest.raises(SettingsError) as info:
        make_pyramidion_app(
            {"blog.per_page": "lots", "blog.mode": "secret", "blog.ratio": "x"},
            addons=["blog"],
        )

    lines = str(info.value).splitlines()
    assert lines[0] == "invalid settings for 'blog':"
    assert lines[1:] == [
        "  - blog.title: required, and not set. The blog's title.",
        "  - blog.api_key: required, and not set. Key for the spam checker.",
        "  - blog.per_page = 'lots': \"lots\" is not a number",
        "  - blog.ratio = 'x': \"x\" is not a number",
        "  - blog.mode = 'secret': \"secret\" is not one of public, private",
    ]


def test_range_is_checked(blog: Any, make_pyramidion_app: MakeApp) -> None:
    with pytest.raises(SettingsError) as info:
        make_pyramidion_app({**REQUIRED, "blog.per_page": "0"}, addons=["blog"])

    assert "  - blog.per_page = '0': 0 is less than minimum value 1" in str(info.value)


def test_secrets_are_masked_in_errors(
    blog: Any,
    pyramidion_settings: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = {
        **pyramidion_settings,
        **REQUIRED,
        "pyramidion.addons": "blog",
        "blog.pin": "hunter2-not-a-number",
    }

    with pytest.raises(SystemExit) as info:
        pyramidion.main({}, **settings)

    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("pyramidion: error: invalid settings for 'blog':")
    assert "blog.pin = ********: " in err
    assert "hunter2" not in err


def test_secrets_are_never_logged(
    blog: Any, make_pyramidion_app: MakeApp, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        app = make_pyramidion_app(
            {"blog.title": "Notes", "blog.pin": "271828"},
            addons=["blog"],
            environ={"PYRAMIDION_BLOG__API_KEY": "sk-live-very-secret"},
        )
        PyramidionTestApp(app).get("/blog/")

    assert pyramidion.get_settings(app.registry, blog.BlogSettings).api_key == (
        "sk-live-very-secret"
    )
    assert "setting blog.api_key taken from environment variable PYRAMIDION_BLOG__API_KEY" in (
        caplog.messages
    )
    logged = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    assert "sk-live-very-secret" not in logged
    assert "271828" not in logged


def test_unknown_key_suggests_the_close_spelling(blog: Any, make_pyramidion_app: MakeApp) -> None:
    with pytest.raises(SettingsError) as info:
        make_pyramidion_app({**REQUIRED, "blog.per_pgae": "10"}, addons=["blog"])

    assert (
        str(info.value)
        .splitlines()[1]
        .startswith(
            "  - blog.per_pgae: unknown setting. Did you mean 'per_page'? "
            "Known settings of 'blog': api_key, cache_for, comments, mode, per_page, "
        )
    )


def test_keys_of_addons_not_enabled_are_left_alone(
    blog: Any, make_pyramidion_app: MakeApp
) -> None:
    app = make_pyramidion_app({"blog.per_pgae": "10", "news.anything": "1"}, addons=[])

    assert app_state(app.registry).resolution.names == ()


def test_core_settings_are_checked_too(make_pyramidion_app: MakeApp) -> None:
    with pytest.raises(SettingsError) as info:
        make_pyramidion_app(
            {"pyramidion.environment": "staging", "pyramidion.alowed_hosts": "example.com"}
        )

    lines = str(info.value).splitlines()
    assert lines[0] == "invalid settings for 'pyramidion':"
    assert lines[1].startswith(
        "  - pyramidion.alowed_hosts: unknown setting. Did you mean 'allowed_hosts'?"
    )
    assert lines[2] == (
        "  - pyramidion.environment = 'staging': \"staging\" is not one of development, production"
    )


def test_environment_overrides_the_ini(
    blog: Any, make_pyramidion_app: MakeApp, tmp_path: Any
) -> None:
    other_db = f"sqlite:///{tmp_path / 'other.sqlite'}"
    app = make_pyramidion_app(
        {**REQUIRED, "blog.per_page": "10"},
        addons=[],
        environ={
            "PYRAMIDION_ADDONS": "blog",
            "PYRAMIDION_BLOG__PER_PAGE": "50",
            "PYRAMIDION_SQLALCHEMY__URL": other_db,
            "PYRAMIDION_TEST_DATABASE_URL": "postgresql://ignored/by-the-app",
            "HOME": "/root",
        },
    )

    state = app_state(app.registry)
    assert state.resolution.names == ("blog",)
    assert pyramidion.get_settings(app.registry, blog.BlogSettings).per_page == 50
    assert str(get_database(app.registry).engine.url) == other_db
    assert state.env_overrides == {
        "pyramidion.addons": "PYRAMIDION_ADDONS",
        "blog.per_page": "PYRAMIDION_BLOG__PER_PAGE",
        "sqlalchemy.url": "PYRAMIDION_SQLALCHEMY__URL",
    }


@pytest.mark.parametrize(
    ("override", "served", "not_served"),
    [
        (None, "/blog/", "/journal/"),
        ("/journal", "/journal/", "/blog/"),
        ("/journal/", "/journal/", "/blog/"),
    ],
)
def test_route_prefix(
    blog: Any,
    make_pyramidion_app: MakeApp,
    override: str | None,
    served: str,
    not_served: str,
) -> None:
    settings = dict(REQUIRED)
    if override is not None:
        settings["blog.route_prefix"] = override
    testapp = PyramidionTestApp(make_pyramidion_app(settings, addons=["blog"]))

    assert testapp.get(served).json == {"route": "blog.home"}
    testapp.get(not_served, status=404)


def test_an_empty_value_says_how_to_get_the_default(make_pyramidion_app: MakeApp) -> None:
    with pytest.raises(SettingsError) as info:
        make_pyramidion_app({"pyramidion.csrf_cookie_name": "  "})
    assert (
        "pyramidion.csrf_cookie_name is set but empty. Give it a value, or remove the "
        "line to use the default ('csrf_token')."
    ) in str(info.value)
