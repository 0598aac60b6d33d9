"""The forms add-on: a site layout with navigation, deform forms, CRUD pages
generated from models, and JSON validated by the same schemas.

Enable it with ``pyramidion.addons = forms`` or ``requires=("forms",)``.

Layout, for every Chameleon template (``.pt``)::

    <html metal:use-macro="layout">
    <div metal:fill-slot="content">...</div>
    </html>

Slots: ``content``, ``title``, ``head``, ``navbar``, ``scripts``. The
namespace also holds ``nav`` (entries the user may see), ``site_title``,
``flash_messages()``, ``user_menu()``, ``static_url(spec, app_url)`` (an
asset's URL, its path worked out once per application), ``layout_app_url``
(the request's application URL, worked out once a page) and, when the view
returns it, ``page_title``. Every page's navigation bar ends with the user menu (who
is logged in and a logout button, or a login link) when an add-on has set
one.

Directives (after ``config.include`` of this add-on, i.e. in any add-on
that requires ``forms``):

``config.add_nav_item(name, title, *, route_name=None, url=None, permission=None,
order=100, context=None)``
    A navigation entry, hidden from users without ``permission`` on the
    root (or on ``context(request)``).
``config.set_user_menu(factory)``
    ``factory(request)`` returns a :class:`UserMenu` (the logged-in user's
    name and the account, logout and login URLs) or None; the layout shows
    it on every page. The authentication add-on sets it; two add-ons
    setting it conflict at start-up.
``config.add_crud(model, *, name, path=None, columns=None, sortable=None, ...)``
    List, view, add, edit and delete pages for a SQLAlchemy model, each
    with its route ``NAME.PAGE`` and permission ``NAME.PAGE``; see
    :func:`pyramidion_forms.crud.add_crud`.

Python API (importable from ``pyramidion_forms``):

``FormView``
    Class-based form page: set ``schema``, write ``on_success(appstruct)``,
    register with ``config.add_view(MyForm, route_name=...)``.
``FormError(message, field=None)``
    Raised from ``on_success`` to show the form again with a message.
``make_form(request, schema, *, buttons=("Save",), bind=None, **options)``
    A bound ``deform.Form`` carrying the CSRF token.
``bind_schema(schema, request, **kw)``
    A copy of the schema bound with ``request`` and ``dbsession``.
``validate_json(request, schema, **bind)``
    The JSON body validated by a schema; failures are answered 422
    ``application/problem+json`` with ``errors`` per field.
``ValidationFailed(errors)``
    Raise it from any view to answer the same way.
``model_schema(model, *, include=None, exclude=(), overrides=None)``
    A colander schema generated from a SQLAlchemy 2 model: types, lengths,
    optional when nullable, enums and foreign keys as selects, unique
    columns checked against the database (bind ``obj`` to edit a row).
``flash(request, message, kind="success")``
    Queue a message for the layout; a no-op without a session factory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyramidion import Addon, setting

if TYPE_CHECKING:
    from pyramid.config import Configurator

    from .crud import add_crud
    from .layout import UserMenu, flash
    from .schemas import ValidationFailed, bind_schema, model_schema, validate_json
    from .views import FormError, FormView, make_form

__all__ = [
    "FormError",
    "FormView",
    "FormsSettings",
    "UserMenu",
    "ValidationFailed",
    "add_crud",
    "addon",
    "bind_schema",
    "flash",
    "includeme",
    "make_form",
    "model_schema",
    "validate_json",
]


@dataclass(frozen=True)
class FormsSettings:
    """Settings of the forms add-on, read from ``forms.*`` keys."""

    site_title: str = setting("Pyramidion", doc="Site name shown in the navigation bar.")
    max_body_size: int = setting(
        1_048_576,
        doc="Largest form or JSON body, in bytes, that form views and "
        "validate_json accept; larger ones are refused with 413.",
        min=1024,
    )
    max_fields: int = setting(
        200,
        doc="Most fields a submitted form or JSON body may have; more are refused "
        "(400 for forms, 422 for JSON).",
        min=1,
    )
    max_field_length: int = setting(
        65_536,
        doc="Longest value, in characters, of one submitted field; longer ones are "
        "refused (400 for forms, 422 naming the field for JSON).",
        min=1,
    )
    per_page: int = setting(
        25, doc="Rows on one page of a CRUD list, unless add_crud says.", min=1, max=1000
    )


# The public names live in modules that import deform; loading them only
# when used keeps discovering this add-on (which imports this package) cheap.
_LAZY = {
    "FormError": "views",
    "FormView": "views",
    "make_form": "views",
    "ValidationFailed": "schemas",
    "bind_schema": "schemas",
    "validate_json": "schemas",
    "model_schema": "schemas",
    "flash": "layout",
    "UserMenu": "layout",
    "add_crud": "crud",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def includeme(config: Configurator) -> None:
    """Wire the forms add-on into the app.

    Reads the ``forms.*`` settings. Includes pyramid_chameleon; serves
    deform's assets (Bootstrap 5 included) at ``PREFIX/deform/``, except
    the libraries with published advisories (:mod:`pyramidion_forms.assets`),
    and this add-on's (a current jQuery included) at ``PREFIX/static/``;
    serves ``.pt`` templates through pyramid_chameleon with ``layout``,
    ``nav`` and the other layout names added
    (:class:`~pyramidion_forms.layout.LayoutTemplateRenderer`); the
    directives ``add_nav_item``, ``set_user_menu`` and ``add_crud``; the
    view option ``form_limits`` and the deriver that enforces the size limits; the exception view
    that answers :class:`ValidationFailed` with 422 problem+json; and,
    through the core's ``set_error_page``, error pages (403, 404, 500, ...)
    for browsers in the site's layout.
    """
    from importlib.resources import files

    from pyramidion import PUBLIC

    from .assets import WITHHELD, WithheldAssets
    from .crud import add_crud
    from .layout import add_nav_item, layout_renderer_factory, render_error_page, set_user_menu
    from .limits import form_limits_deriver
    from .schemas import ValidationFailed, validation_failed_view
    from .views import make_renderer, set_renderer

    config.include("pyramid_chameleon")
    # Replaces pyramid_chameleon's own .pt factory (an includer's
    # registration wins over what it includes).
    config.add_renderer(".pt", layout_renderer_factory)
    set_renderer(
        config.registry,
        make_renderer(
            [
                str(files("pyramidion_forms") / "templates" / "deform"),
                str(files("deform") / "templates"),
            ]
        ),
    )
    config.add_route_predicate("withheld_assets", WithheldAssets)
    config.add_static_view(
        "deform",
        "deform:static/",
        permission=PUBLIC,
        cache_max_age=3600,
        withheld_assets=WITHHELD,
    )
    config.add_static_view(
        "static", "pyramidion_forms:static/", permission=PUBLIC, cache_max_age=3600
    )
    config.add_directive("add_nav_item", add_nav_item)
    config.add_directive("set_user_menu", set_user_menu)
    config.add_directive("add_crud", add_crud)
    config.add_view_deriver(
        form_limits_deriver, "pyramidion_forms.limits", under="secured_view", over="csrf_view"
    )
    config.add_exception_view(validation_failed_view, context=ValidationFailed)
    config.set_error_page(render_error_page)


addon = Addon(
    name="forms",
    title="Site layout, deform forms, CRUD pages and JSON validation",
    includeme="pyramidion_forms:includeme",
    settings=FormsSettings,
)
