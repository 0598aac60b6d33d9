"""The admin add-on: a generated administration site over the models that
enabled add-ons register, with permissions per model and action.

Enable it with ``pyramidion.addons = admin`` (it requires ``auth`` and
``forms``) and run ``pyramidion db upgrade``; members of the ``admin``
group then find it at ``/admin/``.

An add-on registers its models in a module of its own, included only when
the admin is enabled, so the add-on works with and without it::

    # my_addon/__init__.py
    addon = Addon(name="my_addon", ..., after=("admin",))

    def includeme(config):
        ...
        if "admin" in app_state(config.registry).resolution:
            config.include(".admin")

    # my_addon/admin.py: uses only the directive, never imports pyramidion_admin
    def includeme(config):
        config.add_admin_model(Thing, search_fields=("name",))

The traversal tree (:mod:`pyramidion_admin.resources`) is ``/admin`` ->
add-on -> model -> object; each level's ``__acl__`` decides. Permissions
are ``admin.<addon>.<model>.<action>`` (``view``, ``add``, ``change``,
``delete`` and each of the model's actions), granted to groups with
``pyramidion admin grant CONFIG GROUP PERMISSION...``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyramidion import Addon, Command

from .settings import AdminSettings

if TYPE_CHECKING:
    from pyramid.config import Configurator

__all__ = ["AdminSettings", "addon", "includeme"]


def includeme(config: Configurator) -> None:
    """Wire the admin add-on.

    Reads ``admin.page_size`` and ``admin.fulltext``. Registers the
    directive ``add_admin_model`` (:func:`pyramidion_admin.options.add_admin_model`),
    the directive ``add_admin_file_store`` (:mod:`pyramidion_admin.files`),
    mounts the traversal child ``admin`` (:mod:`pyramidion_admin.resources`)
    with its views (:mod:`pyramidion_admin.routes`), ``request.admin_grants``
    (the grants, read once per request), the URL-only route ``admin.index``
    and the navigation entry "Admin", shown to users with any admin
    permission; the dashboard with the directive ``add_admin_health``
    (:mod:`pyramidion_admin.dashboard`) and the history's views
    (:mod:`pyramidion_admin.history`); auth's models and the installed
    add-ons page (:mod:`pyramidion_admin.registrations`).
    """
    from .files import add_admin_file_store
    from .options import add_admin_model
    from .resources import ADMIN_ACCESS, admin_factory, load_grants

    config.add_directive("add_admin_model", add_admin_model)
    config.add_directive("add_admin_file_store", add_admin_file_store)
    config.add_traversal_child("admin", admin_factory)
    config.add_request_method(load_grants, "admin_grants", reify=True)
    # Only for building URLs (static routes never match): the admin itself
    # is reached by traversal.
    config.add_route("admin.index", "/admin/", static=True)
    config.add_nav_item(
        "admin",
        "Admin",
        route_name="admin.index",
        permission=ADMIN_ACCESS,
        context=admin_factory,
        order=900,
    )
    config.include(".routes")
    config.include(".history")
    config.include(".dashboard")
    config.include(".registrations")


addon = Addon(
    name="admin",
    title="A generated administration site: models, permissions per model and action, history",
    includeme="pyramidion_admin:includeme",
    requires=("auth", "forms"),
    settings=AdminSettings,
    models="pyramidion_admin.models",
    migrations="pyramidion_admin:migrations",
    route_prefix="",
    commands=(
        Command(
            name="grant",
            help="give a group admin permissions (the group is created if missing)",
            handler="pyramidion_admin.commands:grant_command",
            arguments="pyramidion_admin.commands:grant_arguments",
        ),
        Command(
            name="revoke",
            help="take admin permissions from a group",
            handler="pyramidion_admin.commands:revoke_command",
            arguments="pyramidion_admin.commands:grant_arguments",
        ),
        Command(
            name="permissions",
            help="list every admin permission of the registered models, with who holds it",
            handler="pyramidion_admin.commands:permissions_command",
        ),
        Command(
            name="search-index",
            help="print the PostgreSQL index statements that serve each model's admin search",
            handler="pyramidion_admin.commands:search_index_command",
            arguments="pyramidion_admin.commands:search_index_arguments",
        ),
    ),
)
