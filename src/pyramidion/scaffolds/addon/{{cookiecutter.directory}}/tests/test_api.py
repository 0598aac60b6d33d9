"""The items as JSON, through the api add-on, when it is installed.

The add-on does not require ``api``: it exposes its items only in apps
that enable it, so these tests run only where ``pyramidion-api`` is
installed.
"""

from __future__ import annotations

import pytest
from pyramidion.testing import MakeApp, PyramidionTestApp
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from {{ cookiecutter.package }}.models import Item

pytest.importorskip("pyramidion_api", reason="the api add-on (pyramidion-api) is not installed")


@pytest.fixture
def api_app(make_pyramidion_app: MakeApp, db_connection: Connection) -> PyramidionTestApp:
    """The add-on with ``api`` enabled, inside the test's transaction."""
    app = make_pyramidion_app(addons=["{{ cookiecutter.name }}", "api"], connection=db_connection)
    return PyramidionTestApp(app)


def test_the_items_are_a_json_collection_with_items(
    api_app: PyramidionTestApp, dbsession: Session
) -> None:
    dbsession.add(Item(title="First", notes="Some notes"))
    dbsession.flush()

    page = api_app.get("/api/v1/{{ cookiecutter.name }}", status=200).json

    assert [item["title"] for item in page["items"]] == ["First"]
    assert page["next"] is None
    item = api_app.get(f"/api/v1/{{ cookiecutter.name }}/{page['items'][0]['id']}").json
    assert (item["title"], item["notes"]) == ("First", "Some notes")


def test_the_openapi_document_lists_the_items(api_app: PyramidionTestApp) -> None:
    paths = api_app.get("/api/v1/openapi.json", status=200).json["paths"]

    assert set(paths["/api/v1/{{ cookiecutter.name }}"]) >= {"get", "post"}
    assert set(paths["/api/v1/{{ cookiecutter.name }}/{id}"]) >= {"get"}


def test_an_item_is_added_from_json_and_an_invalid_one_is_a_422_naming_the_field(
    api_app: PyramidionTestApp, dbsession: Session
) -> None:
    # An anonymous (cookie) client sends the CSRF token; API tokens need none.
    url = "/api/v1/{{ cookiecutter.name }}"
    added = api_app.post_json(url, {"title": "By JSON"}, headers=api_app.csrf_headers())

    assert added.status_int == 201
    assert added.json["title"] == "By JSON"
    assert dbsession.get(Item, added.json["id"]) is not None
    refused = api_app.post_json(url, {"title": ""}, headers=api_app.csrf_headers(), status=422)
    assert refused.content_type == "application/problem+json"
    assert refused.json["errors"] == {"title": "Required"}
