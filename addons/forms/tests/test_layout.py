"""The layout: navigation from add-ons, permissions on entries, flash, assets."""

from __future__ import annotations

import os
from typing import Any

import pytest
from pyramid.config import Configurator

from pyramidion import AddonConflict
from pyramidion.testing import MakeApp, PyramidionTestApp
from pyramidion_forms.layout import add_nav_item


def nav_titles(response: Any) -> list[str]:
    return [a.text for a in response.html.select("nav a.nav-link")]


def example_client(
    make_app: MakeApp,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    source: str,
    settings: dict[str, str] | None = None,
) -> PyramidionTestApp:
    """A client of forms and formstest with the module ``name`` (``source``,
    written to ``tmp_path``) included as an add-on."""
    (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    return PyramidionTestApp(make_app(settings, addons=["forms", "formstest", name]))


PAGE_MODULE = """
from pathlib import Path


def page(request):
    return {{}}


def includeme(config):
    config.add_route("{route}", "{path}")
    config.add_view(
        page,
        route_name="{route}",
        renderer=str(Path(__file__).parent / "{template}"),
        permission="__no_permission_required__",
    )
"""


def page_module(route: str, path: str, template: str) -> str:
    """The source of a module serving ``path`` with the template file
    ``template``, next to it, and nothing for the template to show."""
    return PAGE_MODULE.format(route=route, path=path, template=template)


def test_a_page_using_the_layout_shows_the_navigation(testapp: PyramidionTestApp) -> None:
    page = testapp.get("/formstest/thanks?id=7")

    # The doctype is above the macro the page uses; without it browsers
    # render in quirks mode.
    assert page.text.startswith("<!DOCTYPE html>\n<html")
    assert page.html.title.text == "Thanks · Pyramidion"
    assert page.html.select_one("a.navbar-brand").text == "Pyramidion"
    assert nav_titles(page) == ["Contact", "Books", "Authors"]
    assert page.html.select_one("main h1").text == "Thanks"
    assert "Message number 7 is on its way." in page.text


def test_the_layout_names_cost_json_responses_nothing(testapp: PyramidionTestApp) -> None:
    # The names come with the .pt renderer, not from an event subscriber,
    # so Pyramid dispatches no events at all for a JSON response.
    assert testapp.app.registry.has_listeners is False
    page = testapp.get("/formstest/thanks?id=7")
    assert page.html.select_one("main h1").text == "Thanks"


def test_the_current_page_is_marked_active(testapp: PyramidionTestApp) -> None:
    page = testapp.get("/formstest/contact")

    link = page.html.select_one('a[data-nav="formstest.contact"]')
    assert link["class"] == ["nav-link", "active"]
    assert link["aria-current"] == "page"
    assert link["href"] == "http://localhost/formstest/contact"


def test_entries_are_hidden_from_users_without_their_permission(
    testapp: PyramidionTestApp,
) -> None:
    assert "Members" not in nav_titles(testapp.get("/formstest/thanks"))
    assert "Members" not in nav_titles(
        testapp.get("/formstest/thanks", headers={"X-User": "alice"})
    )

    admin = testapp.get("/formstest/thanks", headers={"X-User": "root"})
    assert nav_titles(admin) == ["Contact", "Books", "Authors", "Members"]


def test_bootstrap_and_deform_assets_are_served_by_the_addon(
    testapp: PyramidionTestApp,
) -> None:
    page = testapp.get("/formstest/contact")
    stylesheets = [link["href"] for link in page.html.select("link[rel=stylesheet]")]
    scripts = [script["src"] for script in page.html.select("script")]

    assert all(url.startswith("http://localhost/forms/") for url in stylesheets + scripts)
    assert not page.html.select("script:not([src])"), "inline scripts break the CSP"
    css = testapp.get("/forms/deform/css/bootstrap.min.css")
    assert "Bootstrap  v5" in css.text
    assert testapp.get("/forms/deform/scripts/bootstrap.bundle.min.js").status_int == 200
    assert "deform.load()" in testapp.get("/forms/static/forms.js").text


def test_the_site_title_is_a_setting(make_pyramidion_app: MakeApp) -> None:
    app = PyramidionTestApp(make_pyramidion_app({"forms.site_title": "Book Club"}))

    page = app.get("/formstest/thanks")

    assert page.html.select_one("a.navbar-brand").text == "Book Club"
    assert page.html.title.text == "Thanks · Book Club"


def test_an_entry_needs_a_route_or_a_url() -> None:
    config = Configurator(settings={})

    with pytest.raises(ValueError, match="give exactly one of route_name= or url="):
        add_nav_item(config, "x", "X")
    with pytest.raises(ValueError, match="give exactly one of route_name= or url="):
        add_nav_item(config, "x", "X", route_name="a", url="/b")


def test_without_a_session_factory_there_is_no_flash_and_no_error(
    testapp: PyramidionTestApp, db_connection: Any
) -> None:
    form = testapp.get("/formstest/contact").forms["deform"]
    form["name"] = "Ann"
    form["email"] = "ann@example.com"
    form["body"] = "Hello"

    page = form.submit("submit", status=303).follow()

    assert page.html.select(".alert") == []


def test_with_a_session_factory_the_layout_shows_flash_messages_once(
    make_pyramidion_app: MakeApp, db_connection: Any
) -> None:
    client = PyramidionTestApp(
        make_pyramidion_app(
            addons=["forms", "formstest", "pyramidion_forms_example.session"],
            connection=db_connection,
        )
    )
    form = client.get("/formstest/contact").forms["deform"]
    form["name"] = "Ann"
    form["email"] = "ann@example.com"
    form["body"] = "Hello"

    page = form.submit("submit", status=303).follow()

    (alert,) = page.html.select(".alert")
    assert alert["class"] == ["alert", "alert-success"]
    assert alert.text == "Thank you, your message was sent."
    assert client.get("/formstest/thanks").html.select(".alert") == []


def test_two_entries_with_one_name_conflict_at_start_up(make_pyramidion_app: MakeApp) -> None:
    with pytest.raises(AddonConflict) as info:
        make_pyramidion_app(
            addons=["forms", "formstest", "pyramidion_forms_example.duplicate_nav"]
        )

    message = str(info.value)
    assert "'formstest.contact' is claimed more than once" in message
    assert "duplicate_nav.py" in message


USER_MENU = ["forms", "formstest", "pyramidion_forms_example.user_menu"]


def test_without_a_user_menu_the_bar_shows_no_login_or_logout(
    testapp: PyramidionTestApp,
) -> None:
    page = testapp.get("/formstest/thanks", headers={"X-User": "alice"})

    assert page.html.select("[data-user-menu]") == []
    assert "Log in" not in page.text


def test_every_page_shows_who_is_logged_in_with_a_logout_button(
    make_pyramidion_app: MakeApp, db_connection: Any
) -> None:
    client = PyramidionTestApp(make_pyramidion_app(addons=USER_MENU, connection=db_connection))

    for url in ("/formstest/thanks", "/formstest/contact", "/formstest/books/"):
        page = client.get(url, headers={"X-User": "alice"})
        name = page.html.select_one('[data-user-menu="name"]')
        assert name.text == "alice", url
        assert name["href"] == "/people/alice"
        logout = page.html.select_one('[data-user-menu="logout"]').find_parent("form")
        assert logout["method"] == "post"
        assert logout["action"] == "/signout"
        token = logout.select_one('input[name="csrf_token"]')["value"]
        assert token == client.csrf_token()
        assert page.html.select('[data-user-menu="login"]') == []


def test_anonymous_visitors_get_a_login_link(
    make_pyramidion_app: MakeApp, db_connection: Any
) -> None:
    client = PyramidionTestApp(make_pyramidion_app(addons=USER_MENU, connection=db_connection))

    page = client.get("/formstest/contact")

    login = page.html.select_one('[data-user-menu="login"]')
    assert login.text == "Log in"
    assert login["href"] == "/signin"
    assert page.html.select('[data-user-menu="logout"]') == []
    assert "Logged in as" not in page.text


def test_two_user_menus_conflict_at_start_up(make_pyramidion_app: MakeApp) -> None:
    with pytest.raises(AddonConflict) as info:
        make_pyramidion_app(addons=[*USER_MENU, "pyramidion_forms_example.second_user_menu"])

    assert "second_user_menu.py" in str(info.value)


def test_an_edited_template_shows_at_the_next_page_when_templates_reload(
    make_pyramidion_app: MakeApp, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = tmp_path / "reloading_page.pt"
    template.write_text(
        '<html metal:use-macro="layout"><p metal:fill-slot="content">first</p></html>'
    )
    client = example_client(
        make_pyramidion_app,
        tmp_path,
        monkeypatch,
        "reloading_page_example",
        page_module("reloading.page", "/reloading", "reloading_page.pt"),
        {"pyramid.reload_templates": "true"},
    )
    assert client.get("/reloading").html.select_one("main p").text == "first"

    template.write_text(
        '<html metal:use-macro="layout"><p metal:fill-slot="content">second</p></html>'
    )
    stat = template.stat()
    os.utime(template, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**10))

    # Renderers are kept per application, but not while templates reload.
    assert client.get("/reloading").html.select_one("main p").text == "second"


def test_the_layout_links_carry_the_requests_host_and_script_name(
    testapp: PyramidionTestApp,
) -> None:
    page = testapp.get(
        "/formstest/thanks?id=7",
        extra_environ={"HTTP_HOST": "shop.example", "SCRIPT_NAME": "/app"},
    )

    stylesheets = [link["href"] for link in page.html.select("link[rel=stylesheet]")]
    scripts = [script["src"] for script in page.html.select("script")]
    entries = [a["href"] for a in page.html.select("nav a.nav-link")]
    assert page.html.select_one("a.navbar-brand")["href"] == "http://shop.example/app/"
    assert len(stylesheets) == 3
    assert len(scripts) == 2
    assert entries
    assert all(
        url.startswith("http://shop.example/app/") for url in stylesheets + scripts + entries
    )


def test_templates_get_the_requests_application_url_as_layout_app_url(
    make_pyramidion_app: MakeApp, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "app_url_page.pt").write_text(
        '<html metal:use-macro="layout">'
        '<a metal:fill-slot="content" id="home" href="${layout_app_url}/">Home</a></html>'
    )
    client = example_client(
        make_pyramidion_app,
        tmp_path,
        monkeypatch,
        "app_url_example",
        page_module("app_url.page", "/home-link", "app_url_page.pt"),
    )

    page = client.get(
        "/home-link", extra_environ={"HTTP_HOST": "shop.example", "SCRIPT_NAME": "/app"}
    )

    assert page.html.select_one("#home")["href"] == "http://shop.example/app/"
    assert page.html.select_one("a.navbar-brand")["href"] == "http://shop.example/app/"


CACHE_BUSTING = """
class Buster:
    token = "1"

    def __call__(self, request, subpath, kw):
        return subpath, {**kw, "_query": {"v": self.token}}


BUSTER = Buster()


def includeme(config):
    config.add_cache_buster("deform:static/", BUSTER)
"""


def test_the_layout_asks_a_cache_buster_for_every_page(
    make_pyramidion_app: MakeApp, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = example_client(
        make_pyramidion_app, tmp_path, monkeypatch, "cache_busting_example", CACHE_BUSTING
    )

    def stylesheets() -> list[str]:
        page = client.get("/formstest/thanks?id=7")
        return [link["href"] for link in page.html.select("link[rel=stylesheet]")]

    assert stylesheets() == [
        "http://localhost/forms/deform/css/bootstrap.min.css?v=1",
        "http://localhost/forms/deform/css/form.css?v=1",
        "http://localhost/forms/static/forms.css",
    ]
    # A cache buster may answer differently while the application runs
    # (a manifest that is reloaded, for one): its answer is never kept.
    import cache_busting_example

    cache_busting_example.BUSTER.token = "2"
    assert stylesheets()[:2] == [
        "http://localhost/forms/deform/css/bootstrap.min.css?v=2",
        "http://localhost/forms/deform/css/form.css?v=2",
    ]


PREGENERATED_ENTRY = """
def keep_language(request, elements, kw):
    return elements, {**kw, "_query": {"lang": request.params.get("lang", "en")}}


def includeme(config):
    config.add_route("pregenerated.page", "/pregenerated", pregenerator=keep_language)
    config.add_nav_item("pregenerated", "Pregenerated", route_name="pregenerated.page")
"""


def test_an_entry_whose_route_has_a_pregenerator_gets_its_url_for_every_page(
    make_pyramidion_app: MakeApp, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = example_client(
        make_pyramidion_app,
        tmp_path,
        monkeypatch,
        "pregenerated_entry_example",
        PREGENERATED_ENTRY,
    )

    def entry(query: str) -> str:
        page = client.get(f"/formstest/thanks?{query}")
        href: str = page.html.select_one('a[data-nav="pregenerated"]')["href"]
        return href

    assert entry("lang=fr") == "http://localhost/pregenerated?lang=fr"
    assert entry("lang=de") == "http://localhost/pregenerated?lang=de"
    contact = client.get("/formstest/thanks", extra_environ={"SCRIPT_NAME": "/app"})
    assert contact.html.select_one('a[data-nav="formstest.contact"]')["href"] == (
        "http://localhost/app/formstest/contact"
    )


SHARED_CONTEXT_ENTRIES = """
from pyramid.authorization import Allow, Everyone


class Shelf:
    __acl__ = [(Allow, Everyone, "shelf.browse")]

    def __init__(self, request):
        self.__name__ = ""
        self.__parent__ = None


def includeme(config):
    config.add_nav_item(
        "shelf.browse", "Browse", url="/shelf", permission="shelf.browse", context=Shelf
    )
    config.add_nav_item(
        "shelf.restock", "Restock", url="/shelf/restock", permission="shelf.restock",
        context=Shelf,
    )
    config.add_nav_item(
        "shelf.tour", "Tour", url="/shelf/tour", permission="shelf.browse", context=Shelf
    )
"""


def test_entries_sharing_a_context_are_each_checked_for_their_own_permission(
    make_pyramidion_app: MakeApp, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = example_client(
        make_pyramidion_app,
        tmp_path,
        monkeypatch,
        "shared_context_example",
        SHARED_CONTEXT_ENTRIES,
    )

    titles = nav_titles(client.get("/formstest/thanks"))

    assert "Browse" in titles
    assert "Tour" in titles
    assert "Restock" not in titles
