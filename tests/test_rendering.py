"""JSON views answer exactly as Pyramid's ``json`` renderer would, by a shorter path."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import webtest
from pyramid.config import Configurator
from pyramid.events import BeforeRender
from pyramid.renderers import JSON, RendererHelper
from pyramid.response import Response

Setup = Callable[[Configurator], None]


class Thing:
    def __json__(self, request: Any) -> dict[str, str]:
        return {"thing": request.path}


VIEWS: dict[str, Callable[[Any], Any]] = {
    "plain": lambda request: {"hello": "world", "n": [1, 2.5, None, True]},
    "text": lambda request: "just a string",
    "unicode": lambda request: {"name": "Zoë ☃"},
    "status": lambda request: _with_status(request),
    "content-type": lambda request: _with_content_type(request),
    "json-method": lambda request: {"thing": Thing()},
    "response": lambda request: Response("made by the view", content_type="text/plain"),
    "none": lambda request: None,
}


def _with_status(request: Any) -> dict[str, bool]:
    request.response.status = 201
    request.response.headers["Location"] = "/things/1"
    request.response.set_cookie("seen", "yes")
    return {"created": True}


def _with_content_type(request: Any) -> dict[str, bool]:
    request.response.content_type = "application/vnd.api+json"
    return {"custom": True}


def make_app(setup: Setup | None, *, direct: bool, late: bool = False) -> webtest.TestApp:
    """The views, with ``setup`` applied before them or, if ``late``, after."""
    with Configurator() as config:
        if direct:
            config.include("pyramidion.rendering")
        if setup is not None and not late:
            setup(config)
        for name, view in VIEWS.items():
            config.add_route(name, f"/{name}")
            config.add_view(view, route_name=name, renderer="json")
        if setup is not None and late:
            setup(config)
        app = config.make_wsgi_app()
    return webtest.TestApp(app)


@pytest.fixture
def renders() -> Iterator[list[str]]:
    """Names of the views Pyramid's renderer path rendered."""
    seen: list[str] = []
    original = RendererHelper.render_view

    def spy(self: RendererHelper, request: Any, *args: Any) -> Any:
        seen.append(request.path.strip("/"))
        return original(self, request, *args)

    RendererHelper.render_view = spy  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        RendererHelper.render_view = original  # type: ignore[method-assign]


def answers(app: webtest.TestApp, path: str) -> tuple[str, list[tuple[str, str]], bytes]:
    response = app.get(path, status="*")
    return response.status, response.headerlist, response.body


def assert_same_as_pyramid(setup: Setup | None = None) -> None:
    for late in (False, True):
        direct = make_app(setup, direct=True, late=late)
        pyramid = make_app(setup, direct=False, late=late)
        for name in VIEWS:
            assert answers(direct, f"/{name}") == answers(pyramid, f"/{name}"), (name, late)


def test_answers_exactly_as_pyramid(renders: list[str]) -> None:
    assert_same_as_pyramid()


def test_plain_values_skip_pyramids_renderer_path(renders: list[str]) -> None:
    app = make_app(None, direct=True)
    for name in VIEWS:
        app.get(f"/{name}", status="*")
    # What the view set on request.response must stay, and __json__ needs
    # the renderer's default: those go Pyramid's way.
    assert sorted(renders) == ["content-type", "json-method", "status"]


def test_a_json_renderer_of_the_apps_own_is_used(renders: list[str]) -> None:
    def setup(config: Configurator) -> None:
        renderer = JSON(indent=2, sort_keys=True)
        renderer.add_adapter(datetime.date, lambda value, request: value.isoformat())
        config.add_renderer("json", renderer)
        config.add_route("date", "/date")
        config.add_view(
            lambda request: {"day": datetime.date(2026, 11, 21)},
            route_name="date",
            renderer="json",
        )

    assert_same_as_pyramid(setup)
    app = make_app(setup, direct=True)
    assert app.get("/date").json == {"day": "2026-11-21"}
    assert app.get("/plain").text.startswith('{\n  "hello"')


def test_before_render_subscribers_still_see_the_value(renders: list[str]) -> None:
    def add_version(event: BeforeRender) -> None:
        rendering = event.rendering_val
        if isinstance(rendering, dict):
            rendering["version"] = 2

    def setup(config: Configurator) -> None:
        config.add_subscriber(add_version, BeforeRender)

    assert_same_as_pyramid(setup)
    assert make_app(setup, direct=True).get("/plain").json["version"] == 2


def test_a_response_adapter_takes_precedence_as_in_pyramid(renders: list[str]) -> None:
    def setup(config: Configurator) -> None:
        config.add_response_adapter(lambda value: Response(f"adapted {value}"), str)

    assert_same_as_pyramid(setup)
    assert make_app(setup, direct=True).get("/text").text == "adapted just a string"


def test_a_response_factory_of_the_apps_own_makes_the_response(renders: list[str]) -> None:
    class TaggedResponse(Response):
        pass

    def tagged(request: Any) -> TaggedResponse:
        response = TaggedResponse()
        response.headers["X-Tag"] = "mine"
        return response

    def setup(config: Configurator) -> None:
        config.set_response_factory(tagged)

    assert_same_as_pyramid(setup)
    for late in (False, True):
        assert make_app(setup, direct=True, late=late).get("/plain").headers["X-Tag"] == "mine"


def test_override_renderer_is_honoured(renders: list[str]) -> None:
    def setup(config: Configurator) -> None:
        config.add_renderer("upper", lambda info: lambda value, system: repr(value).upper()[:12])
        config.add_subscriber(
            lambda event: setattr(event.request, "override_renderer", "upper"),
            "pyramid.events.NewRequest",
        )

    assert_same_as_pyramid(setup)
    assert make_app(setup, direct=True).get("/text").text == "'JUST A STRI"


def test_request_response_is_the_response_sent() -> None:
    seen: list[Any] = []

    def setup(config: Configurator) -> None:
        def callback(request: Any, response: Any) -> None:
            seen.append(request.response is response)

        config.add_subscriber(
            lambda event: event.request.add_response_callback(callback),
            "pyramid.events.NewRequest",
        )

    make_app(setup, direct=True).get("/plain")
    assert seen == [True]
