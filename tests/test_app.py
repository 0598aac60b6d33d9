"""Assembling the app: the factory, and conflicts between add-ons at start-up."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from pyramid.config import Configurator
from pyramid.router import Router

import pyramidion
from pyramidion import PUBLIC
from pyramidion.app import app_state, get_database
from pyramidion.errors import AddonConflict, AddonImportError, ConfigurationError
from pyramidion.testing import MakeApp, PyramidionTestApp
from tests.conftest import Notes
from tests.distributions import Distributions


def test_main_builds_the_app(
    distributions: Distributions, pyramidion_settings: dict[str, str]
) -> None:
    distributions.addon("blog")

    app = pyramidion.main({}, **{**pyramidion_settings, "pyramidion.addons": "blog"})

    assert isinstance(app, Router)
    assert app_state(app.registry).resolution.names == ("blog",)


def test_missing_database_url(
    pyramidion_settings: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    settings = {k: v for k, v in pyramidion_settings.items() if k != "sqlalchemy.url"}

    with pytest.raises(ConfigurationError, match=r"^sqlalchemy.url is not set\."):
        pyramidion.make_app(settings, environ={})
    with pytest.raises(SystemExit) as info:
        pyramidion.main({}, **settings)

    assert info.value.code == 2
    assert capsys.readouterr().err.startswith(
        "pyramidion: error: sqlalchemy.url is not set. Add it to the [app:main] section"
    )


def claimant(distributions: Distributions, name: str, includeme: str) -> str:
    return distributions.addon(name, includeme=includeme)


def test_two_addons_claiming_one_route_name(
    distributions: Distributions, make_pyramidion_app: MakeApp
) -> None:
    for name in ("blog", "news"):
        distributions.addon(name, includeme='config.add_route("home", "/")')

    with pytest.raises(AddonConflict) as info:
        make_pyramidion_app(addons=["blog", "news"])

    message = str(info.value)
    first = message.splitlines()[0]
    assert first.startswith("route name 'home' is claimed more than once: by add-on ")
    assert "add-on 'blog' (" in first
    assert "add-on 'news' (" in first
    assert "Rename it in one of them, or disable one of the add-ons." in message


def test_two_addons_mounting_one_traversal_name(
    distributions: Distributions, make_pyramidion_app: MakeApp
) -> None:
    for name in ("blog", "news"):
        distributions.addon(
            name,
            preamble="def child(request):\n    return object()\n",
            includeme='config.add_traversal_child("articles", child)',
        )

    with pytest.raises(AddonConflict) as info:
        make_pyramidion_app(addons=["blog", "news"])

    first = str(info.value).splitlines()[0]
    assert first.startswith("traversal name 'articles' is claimed more than once: by ")
    assert "add-on 'blog' (" in first
    assert "add-on 'news' (" in first


MODELS = """
from sqlalchemy.orm import Mapped, mapped_column

from pyramidion.db import Base


class Thing(Base):
    __tablename__ = {table!r}

    id: Mapped[int] = mapped_column(primary_key=True)
"""


def addon_with_table(distributions: Distributions, name: str, table: str) -> None:
    distributions.addon(
        name,
        descriptor="models='{pkg}.models',",
        files={"models.py": MODELS.format(table=table)},
    )


def test_addon_mapping_another_addons_table(
    distributions: Distributions, make_pyramidion_app: MakeApp
) -> None:
    addon_with_table(distributions, "blog", distributions.table("blog", "posts"))
    stolen = distributions.table("blog", "comments")
    addon_with_table(distributions, "news", stolen)
    news = distributions.package_name("news")

    with pytest.raises(AddonConflict) as info:
        make_pyramidion_app(addons=["blog", "news"])

    assert str(info.value) == (
        f"add-on 'news' maps {news}.models.Thing to table '{stolen}', which "
        "belongs to add-on 'blog' (tables named 'blog_...'). Two add-ons cannot "
        "claim the same table; rename it with the prefix 'news_'."
    )


def test_addon_mapping_an_unprefixed_table(
    distributions: Distributions, make_pyramidion_app: MakeApp
) -> None:
    table = f"things_{distributions.token}"
    addon_with_table(distributions, "blog", table)
    blog = distributions.package_name("blog")

    with pytest.raises(AddonConflict) as info:
        make_pyramidion_app(addons=["blog"])

    assert str(info.value) == (
        f"add-on 'blog' maps {blog}.models.Thing to table '{table}', which does "
        f"not start with 'blog_'. Rename the table to 'blog_{table}'."
    )


def test_two_addons_defining_the_same_table(
    distributions: Distributions, make_pyramidion_app: MakeApp
) -> None:
    table = distributions.table("blog", "posts")
    addon_with_table(distributions, "blog", table)
    addon_with_table(distributions, "news", table)

    with pytest.raises(AddonConflict) as info:
        make_pyramidion_app(addons=["blog", "news"])

    news = distributions.package_name("news")
    assert str(info.value) == (
        f"add-on 'news' defines table '{table}' in {news}.models, but add-on "
        "'blog' (tables named 'blog_...') already defines it. Two add-ons cannot "
        "claim the same table; rename it with the prefix 'news_'."
    )


def test_includeme_that_is_not_importable(
    distributions: Distributions, make_pyramidion_app: MakeApp
) -> None:
    distributions.addon("blog", descriptor="")
    pkg = distributions.package_name("blog")
    init = distributions.root / pkg / "__init__.py"
    init.write_text(init.read_text().replace(":includeme'", ":include_me'"))

    with pytest.raises(AddonImportError) as info:
        make_pyramidion_app(addons=["blog"])

    assert str(info.value).startswith(
        f"the includeme of add-on 'blog' (pyramidion-test-blog 1.0), "
        f"'{pkg}:include_me', could not be imported: "
    )


def test_pyramidion_embeds_into_an_existing_pyramid_app(
    notes: Notes, pyramidion_database_url: str
) -> None:
    """An existing application keeps its own views and gains the add-ons."""

    def hello(request: Any) -> dict[str, str]:
        return {"hello": "from the host app"}

    with Configurator(
        settings={
            "sqlalchemy.url": pyramidion_database_url,
            "pyramidion.addons": "notes",
            "pyramidion.environment": "development",
        }
    ) as config:
        config.include("pyramidion")
        config.add_route("host.hello", "/hello")
        config.add_view(hello, route_name="host.hello", renderer="json", permission=PUBLIC)
        app = config.make_wsgi_app()

    testapp = PyramidionTestApp(app)
    assert testapp.get("/hello").json == {"hello": "from the host app"}
    assert testapp.get("/notes/ping").json == {"pong": True}
    # The host's views get the core's plumbing too.
    assert testapp.get("/hello").headers["X-Content-Type-Options"] == "nosniff"
    get_database(app.registry).engine.dispose()


def test_request_methods_of_addons_work_beside_the_cores(
    distributions: Distributions, make_pyramidion_app: MakeApp
) -> None:
    distributions.addon(
        "greeter",
        preamble="""
        from pyramidion import PUBLIC

        calls = []

        def greeting(request):
            calls.append(1)
            return "hello " + request.params.get("name", "you")

        def shout(request, text):
            return text.upper()

        def view(request):
            first = request.greeting
            second = request.greeting
            return {
                "greeting": first,
                "same": first is second,
                "shout": request.shout(first),
                "request_id": request.request_id,
                "has_tm": request.tm is not None,
            }
        """,
        includeme="""
        config.add_request_method(greeting, "greeting", reify=True)
        config.add_request_method(shout, "shout")
        config.add_route("greeter.hello", "/hello")
        config.add_view(view, route_name="greeter.hello", renderer="json", permission=PUBLIC)
        """,
    )
    app = make_pyramidion_app(addons=["greeter"])

    body = PyramidionTestApp(app).get("/greeter/hello", {"name": "ada"}).json
    assert body["greeting"] == "hello ada"
    assert body["same"] is True
    assert body["shout"] == "HELLO ADA"
    assert len(body["request_id"]) == 32
    assert body["has_tm"] is True


@pytest.mark.parametrize(("setting", "frozen"), [("true", True), ("false", False)])
def test_the_first_app_of_a_process_freezes_what_start_up_made(
    tmp_path: Path, setting: str, frozen: bool
) -> None:
    # In a process of its own: what a test run has frozen is the test run's.
    script = textwrap.dedent(
        f"""
        import gc
        from pyramidion import make_app

        def build():
            return make_app(
                {{
                    "sqlalchemy.url": "sqlite:///{tmp_path / "app.sqlite"}",
                    "pyramidion.addons": "auth forms storage blog",
                    "pyramidion.gc_freeze": "{setting}",
                    "storage.local_root": "{tmp_path / "files"}",
                }},
                environ={{}},
            )

        app = build()
        first = gc.get_freeze_count()
        # What the first app holds is out of the collector's reach.
        tracked = {{id(o) for o in gc.get_objects()}}
        registry = id(app.registry)
        build()
        print(first, gc.get_freeze_count(), registry in tracked)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )

    first, second, registry_tracked = result.stdout.split()
    if frozen:
        assert int(first) > 10_000
        # The second app of the process freezes nothing more (frozen objects
        # that are freed leave the count).
        assert int(second) <= int(first)
        assert registry_tracked == "False"
    else:
        assert first == second == "0"
        assert registry_tracked == "True"


def test_alembic_is_imported_by_the_first_readiness_check_not_at_start_up(
    tmp_path: Path,
) -> None:
    """Alembic (about 10 MB resident with Mako) reads the version graph for
    /readyz and the migration commands; a process that serves pages loads it
    only once something asks for those."""
    script = textwrap.dedent(
        f"""
        import sys
        from webob import Request
        from pyramidion import make_app

        app = make_app(
            {{
                "sqlalchemy.url": "sqlite:///{tmp_path / "app.sqlite"}",
                "pyramidion.addons": "auth forms storage blog",
                "storage.local_root": "{tmp_path / "files"}",
            }},
            environ={{}},
        )
        def alembic():
            return any(name.split(".")[0] == "alembic" for name in sys.modules)
        built = alembic()
        ready = Request.blank("/readyz", environ={{"HTTP_HOST": "localhost"}}).get_response(app)
        print(built, ready.status_code, "pending" in ready.text, alembic())
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )

    # A fresh database: the readiness check reads the version graph and
    # reports the pending migrations, which takes Alembic.
    assert result.stdout.split() == ["False", "503", "True", "True"]
