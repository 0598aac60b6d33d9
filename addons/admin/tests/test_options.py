"""What a registration says when options are left out, and the sentences a
wrong one gets."""

from __future__ import annotations

from typing import Any

import pytest
from pyramidion_admin.options import (
    AdminAction,
    admin_site,
    build_model_admin,
    model_permission,
)

pytestmark = pytest.mark.usefixtures("admintest_site")


def test_defaults_come_from_the_models_columns() -> None:
    from pyramidion_admin_example.models import Thing

    thing = build_model_admin(Thing, addon="admintest")
    assert thing.name == "thing"
    assert thing.label == "Thing"
    assert thing.plural == "Things"
    # Text and secret columns are not listed; many-to-one relationships are.
    assert thing.list_display == (
        "id",
        "name",
        "code",
        "kind",
        "active",
        "rank",
        "created_at",
        "owner",
    )
    assert "notes" not in thing.list_display
    assert "secret_token" not in thing.list_display
    assert thing.secret_fields == ("secret_token",)
    assert thing.search_fields == ("name", "code")
    assert thing.list_filter == ("kind", "active", "created_at", "owner")
    assert thing.ordering == ("-id",)
    assert "secret_token" not in thing.fields
    assert "id" not in thing.fields
    assert thing.permissions == (
        "admin.admintest.thing.view",
        "admin.admintest.thing.add",
        "admin.admintest.thing.change",
        "admin.admintest.thing.delete",
    )


def test_a_registration_in_the_test_app(testapp: Any) -> None:
    from pyramidion_admin_example.models import Part, Thing

    site = admin_site(testapp.app.registry)
    thing = site.for_model(Thing)
    assert thing is not None
    assert thing.addon == "admintest"  # the add-on whose includeme registered it
    assert site.get("admintest", "part") is site.for_model(Part)
    assert [a.name for a in thing.actions] == ["deactivate"]
    assert model_permission(thing, thing.actions[0]) == "admin.admintest.thing.deactivate"
    assert "admin.admintest.thing.deactivate" in site.permissions()
    intr = testapp.app.registry.introspector.get("pyramidion admin models", ("admintest", "thing"))
    assert intr["model"] is Thing


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (
            {"list_display": ("id", "colour")},
            "list_display names colour, which Thing does not have",
        ),
        ({"search_fields": ("owner.nothing",)}, "search_fields names owner.nothing"),
        ({"ordering": ("-owner",)}, "ordering names owner"),
        ({"inlines": ("owner",)}, "inlines names owner"),
        ({"list_display": ("secret_token",)}, "secret_token is secret"),
        ({"name": "Things!"}, "must be lower-case letters"),
        ({"page_size": 0}, "page_size must be 1 to 1000"),
        (
            {"actions": [{"name": "go", "label": "Go", "handler": print}] * 2},
            "two actions are called go",
        ),
        ({"actions": ["go"]}, "actions must be AdminAction"),
        ({"file_placement": "nowhere"}, "file_placement must be callable"),
    ],
)
def test_a_wrong_option_is_refused_with_a_sentence(options: dict[str, Any], says: str) -> None:
    from pyramidion_admin_example.models import Thing

    with pytest.raises((ValueError, TypeError)) as raised:
        build_model_admin(Thing, addon="admintest", **options)
    assert says in str(raised.value)


def test_an_action_needs_a_name_of_its_own() -> None:
    with pytest.raises(ValueError, match="not one of view, add, change, delete"):
        AdminAction("delete", "Delete", print)
    with pytest.raises(TypeError, match="handler must be callable"):
        AdminAction("go", "Go", "not callable")  # type: ignore[arg-type]
    action = AdminAction("go", "Go", print, permission="custom.go")
    assert action.destructive is False


def test_a_model_that_is_not_mapped_is_refused() -> None:
    with pytest.raises(TypeError, match="not a SQLAlchemy mapped class"):
        build_model_admin(dict, addon="x")
