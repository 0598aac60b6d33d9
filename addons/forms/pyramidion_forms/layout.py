"""The site layout every Chameleon template can use, its navigation and flash messages.

``add_nav_item`` is the directive add-ons contribute navigation entries
with; ``set_user_menu`` is the one an authentication add-on tells the
layout who is logged in with. :class:`LayoutTemplateRenderer` puts ``layout``
(the page macro), ``nav``, ``site_title``, ``flash_messages``,
``user_menu``, ``page_resources``, ``static_url`` and ``layout_app_url``
into the namespace of every ``.pt`` template.
"""

from __future__ import annotations

import functools
import importlib.resources
import os
import pathlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pyramid.interfaces import IRootFactory, IRoutesMapper, ISecurityPolicy, ISessionFactory
from pyramid.path import package_name
from pyramid.renderers import RendererHelper, get_renderer, render
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid_chameleon.interfaces import ITemplateRenderer
from zope.interface import implementer

from pyramidion import get_settings

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request

__all__ = [
    "FlashMessage",
    "NavEntry",
    "NavItem",
    "UserMenu",
    "UserMenuFactory",
    "add_nav_item",
    "flash",
    "nav_entries",
    "set_user_menu",
    "user_menu",
]

#: The asset spec of the template that defines the ``layout`` macro.
LAYOUT_TEMPLATE = "pyramidion_forms:templates/layout.pt"

#: The asset spec of the error page template.
ERROR_TEMPLATE = "pyramidion_forms:templates/error.pt"

#: Registry attribute holding the registered navigation items, by name.
_NAV_ITEMS = "pyramidion_forms_nav_items"

#: Registry attribute holding the registered navigation items in display
#: order, once sorted (None until then, and again after a registration).
_SORTED_NAV_ITEMS = "pyramidion_forms_sorted_nav_items"

#: Registry attribute holding navigation routes' URLs under the application
#: URL, by route name ("" for a route whose URL is made for every page).
_NAV_PATHS = "pyramidion_forms_nav_paths"

#: Registry attribute holding the user menu factory.
_USER_MENU = "pyramidion_forms_user_menu"

#: Registry attribute holding the ``layout`` macro, once looked up.
_LAYOUT_MACRO = "pyramidion_forms_layout_macro"

#: Registry attribute holding the ``.pt`` renderers made so far, by template.
_RENDERERS = "pyramidion_forms_renderers"

#: Registry attribute holding static assets' URLs under the application URL,
#: by asset spec ("" for one that has a URL of its own), or False when they
#: must be worked out for every page.
_STATIC_PATHS = "pyramidion_forms_static_paths"

FlashKind = Literal["success", "info", "warning", "danger"]
FLASH_KINDS: tuple[FlashKind, ...] = ("success", "info", "warning", "danger")


@dataclass(frozen=True)
class NavItem:
    """A navigation entry as an add-on registered it."""

    name: str
    title: str
    route_name: str | None
    url: str | None
    permission: str | None
    order: int
    context: Callable[[Request], Any] | None = None


@dataclass(frozen=True)
class NavEntry:
    """A navigation entry as the current user sees it."""

    name: str
    title: str
    url: str
    active: bool


@dataclass(frozen=True)
class FlashMessage:
    """A message queued for the next page; ``kind`` is a Bootstrap alert colour."""

    kind: FlashKind
    text: str


@dataclass(frozen=True)
class UserMenu:
    """Who is logged in, as the navigation bar of every page shows it.

    With ``user_name`` (someone is logged in) the bar reads "Logged in as
    NAME", the name linking to ``account_url`` when given, followed by a
    "Log out" button that POSTs to ``logout_url`` with the CSRF token.
    Without it (an anonymous visitor) the bar shows a "Log in" link to
    ``login_url``. A URL left out is not shown.
    """

    user_name: str | None
    login_url: str | None = None
    logout_url: str | None = None
    account_url: str | None = None


#: ``factory(request)`` returns the :class:`UserMenu` of the request, or
#: None to show nothing.
UserMenuFactory = Callable[["Request"], UserMenu | None]


def add_nav_item(
    config: Configurator,
    name: str,
    title: str,
    *,
    route_name: str | None = None,
    url: str | None = None,
    permission: str | None = None,
    order: int = 100,
    context: Callable[[Request], Any] | None = None,
) -> None:
    """Directive: add an entry to the layout's navigation bar.

    The entry links to ``route_name`` (a route without placeholders) or to
    ``url``; exactly one of them is given. With ``permission``, the entry is
    shown only to users who have that permission on the root resource, or
    on the resource ``context(request)`` returns (called once a page for
    all the entries that give the same ``context``).
    Entries are shown by ``order``, then title. Two entries with the same
    ``name`` conflict at start-up.
    """
    if (route_name is None) == (url is None):
        raise ValueError(
            f"add_nav_item({name!r}): give exactly one of route_name= or url= "
            "to say where the entry links to"
        )
    item = NavItem(name, title, route_name, url, permission, order, context)

    def register() -> None:
        nav_items(config.registry)[name] = item
        setattr(config.registry, _SORTED_NAV_ITEMS, None)

    intr = config.introspectable("pyramidion navigation", name, title, "navigation item")
    intr["route_name"] = route_name
    intr["url"] = url
    intr["permission"] = permission
    intr["order"] = order
    config.action(("pyramidion_forms.nav_item", name), register, introspectables=(intr,))


def nav_items(registry: Any) -> dict[str, NavItem]:
    """Every registered navigation item, by name."""
    items: dict[str, NavItem] | None = getattr(registry, _NAV_ITEMS, None)
    if items is None:
        items = {}
        setattr(registry, _NAV_ITEMS, items)
    return items


def nav_entries(request: Request, *, app_url: str | None = None) -> list[NavEntry]:
    """The navigation entries ``request``'s user may see, in display order.

    Each entry with a permission is checked by the security policy on its
    resource: ``context(request)``, made once for all the entries that name
    the same ``context``, or the root, made once for the page. Route
    entries link under ``app_url``, ``request.application_url`` by default.
    """
    registry = request.registry
    items: list[NavItem] | None = getattr(registry, _SORTED_NAV_ITEMS, None)
    if items is None:
        items = sorted(nav_items(registry).values(), key=lambda i: (i.order, i.title))
        setattr(registry, _SORTED_NAV_ITEMS, items)
    # The resource each entry's permission is checked on, by the factory
    # that makes it (None: the root); entries of one add-on usually share it.
    contexts: dict[Any, Any] = {}
    # ``request.has_permission`` looks the security policy up for every
    # check; the entries of one page are checked by the same policy.
    policy: Any = False
    matched = getattr(request, "matched_route", None)
    entries = []
    for item in items:
        if item.permission not in (None, NO_PERMISSION_REQUIRED):
            factory = item.context
            if factory in contexts:
                where = contexts[factory]
            else:
                if factory is None:
                    factory = registry.getUtility(IRootFactory)
                where = contexts[item.context] = factory(request)
            if policy is False:
                policy = registry.queryUtility(ISecurityPolicy)
            if policy is not None and not policy.permits(request, where, item.permission):
                continue
        if item.route_name is not None:
            if app_url is None:
                # Pyramid works the application URL out again for every URL
                # it makes without ``_app_url``: once a page is enough.
                app_url = request.application_url
            url = _nav_route_url(request, item.route_name, app_url)
            active = matched is not None and matched.name == item.route_name
        else:
            url = str(item.url)
            active = False
        entries.append(NavEntry(item.name, item.title, url, active))
    return entries


def _nav_route_url(request: Request, route_name: str, app_url: str) -> str:
    """``request.route_url(route_name, _app_url=app_url)``, the path kept per application.

    A navigation entry's route has no placeholders, so its URL is the
    application URL followed by a path that only the configuration
    decides, unless the route has a pregenerator (which may look at the
    request): that one's URL is made for every page.
    """
    paths: dict[str, str] | None = getattr(request.registry, _NAV_PATHS, None)
    if paths is None:
        paths = {}
        setattr(request.registry, _NAV_PATHS, paths)
    path = paths.get(route_name)
    if path is None:
        route = request.registry.getUtility(IRoutesMapper).get_route(route_name)
        path = ""
        if route is not None and route.pregenerator is None:
            path = str(request.route_url(route_name, _app_url=""))
        paths[route_name] = path
    if path:
        return app_url + path
    return str(request.route_url(route_name, _app_url=app_url))


def set_user_menu(config: Configurator, factory: UserMenuFactory | str) -> None:
    """Directive: ``config.set_user_menu(factory)``.

    ``factory(request)`` returns the :class:`UserMenu` the layout shows at
    the right of the navigation bar on every page, or None. An
    authentication add-on calls this once; the layout itself knows nothing
    of accounts. Two add-ons setting a user menu conflict at start-up.
    """
    resolved: UserMenuFactory = config.maybe_dotted(factory)

    def register() -> None:
        setattr(config.registry, _USER_MENU, resolved)

    intr = config.introspectable("pyramidion user menu", None, repr(resolved), "user menu")
    intr["factory"] = resolved
    config.action("pyramidion_forms.user_menu", register, introspectables=(intr,))


def user_menu(request: Request) -> UserMenu | None:
    """The request's :class:`UserMenu`, or None when no add-on set one."""
    factory: UserMenuFactory | None = getattr(request.registry, _USER_MENU, None)
    return None if factory is None else factory(request)


def has_session(request: Request) -> bool:
    """Whether a session factory is configured (the auth add-on sets one)."""
    return request.registry.queryUtility(ISessionFactory) is not None


def flash(request: Request, message: str, kind: FlashKind = "success") -> bool:
    """Queue ``message`` for the next page the layout renders.

    Returns False, and does nothing, when the app has no session factory:
    flash messages need a session to survive the redirect.
    """
    if kind not in FLASH_KINDS:
        raise ValueError(f"flash kind {kind!r} is not one of {', '.join(FLASH_KINDS)}")
    if not has_session(request):
        return False
    request.session.flash(message, queue=kind)
    return True


def pop_flash_messages(request: Request) -> list[FlashMessage]:
    """The queued flash messages, removed from the session."""
    if not has_session(request):
        return []
    session = request.session
    messages: list[FlashMessage] = []
    for kind in FLASH_KINDS:
        # Peeking first leaves an untouched session untouched, so pages
        # without messages do not rewrite the session cookie.
        if session.peek_flash(kind):
            messages.extend(FlashMessage(kind, str(text)) for text in session.pop_flash(kind))
    return messages


def static_url(request: Request, spec: str, app_url: str) -> str:
    """``request.static_url(spec, _app_url=app_url)``, the asset's path worked out once.

    An asset's URL is the application URL followed by a path that depends
    only on the application's configuration, not on the request: the path
    is worked out at the first page and kept, and every page after pays one
    dictionary look-up where Pyramid's ``static_url`` searches the static
    views and generates a route URL. Assets served from a URL of their own
    (``add_static_view`` with a URL as its name) are worked out for every
    page, and so is everything when a cache buster is registered (it may
    change its answer while the application runs) or ``pyramid.reload_assets``
    is on.
    """
    paths = _static_paths(request.registry)
    path = None if paths is False else paths.get(spec)
    if path is None and paths is not False:
        path = str(request.static_url(spec, _app_url=""))
        if not path.startswith("/") or path.startswith("//"):
            path = ""
        paths[spec] = path
    if path:
        return app_url + path
    return str(request.static_url(spec, _app_url=app_url))


def _static_paths(registry: Any) -> dict[str, str] | Literal[False]:
    """The registry's static asset paths, or False when they are not to be kept."""
    paths: dict[str, str] | Literal[False] | None = getattr(registry, _STATIC_PATHS, None)
    if paths is None:
        settings = registry.settings or {}
        busters = registry.introspector.get_category("cache busters")
        paths = False if busters or settings.get("pyramid.reload_assets") else {}
        setattr(registry, _STATIC_PATHS, paths)
    return paths


def add_layout_names(system: dict[str, Any], request: Request) -> None:
    """Put the layout's names into a Chameleon template's namespace.

    Adds ``layout`` (the macro: ``<html metal:use-macro="layout">``),
    ``nav`` (the visible :class:`NavEntry` list), ``site_title``,
    ``flash_messages`` and ``user_menu`` (functions the layout calls, so
    messages are only consumed, and the user only looked up, by pages that
    show them), ``page_resources``, ``static_url(spec, app_url)``
    (:func:`static_url`) and ``layout_app_url`` (``request.application_url``,
    which WebOb works out again at every use). Names already there are
    kept, and names the view returns win over all of them.
    """
    registry = request.registry
    app_url = request.application_url
    if "layout" not in system:
        system["layout"] = layout_macro(registry)
    system.setdefault("nav", nav_entries(request, app_url=app_url))
    system.setdefault("site_title", get_settings(registry, _forms_settings()).site_title)
    # Partials rather than lambdas: the template calls them without a
    # Python frame of their own in between.
    system.setdefault("flash_messages", functools.partial(pop_flash_messages, request))
    system.setdefault("user_menu", functools.partial(user_menu, request))
    system.setdefault("page_resources", {"css": [], "js": []})
    system.setdefault("static_url", functools.partial(static_url, request))
    system.setdefault("layout_app_url", app_url)


@functools.cache
def _forms_settings() -> type[Any]:
    """The add-on's settings class, imported once rather than at every page."""
    from . import FormsSettings

    return FormsSettings


def layout_macro(registry: Any) -> Any:
    """The ``layout`` macro of :data:`LAYOUT_TEMPLATE`.

    Looked up once per application: finding it again is a renderer lookup,
    a new renderer and the caller's package found from the stack, on every
    page. With ``pyramid.reload_templates`` on, it is looked up on every
    page, so that an edited layout shows at the next one.
    """
    macro = getattr(registry, _LAYOUT_MACRO, None)
    if macro is None:
        renderer = get_renderer(LAYOUT_TEMPLATE, registry=registry)
        macro = renderer.implementation().macros["layout"]
        if not (registry.settings or {}).get("pyramid.reload_templates"):
            setattr(registry, _LAYOUT_MACRO, macro)
    return macro


def with_doctype(page: Any) -> Any:
    """``page`` with ``<!DOCTYPE html>`` in front when it is an HTML document without one.

    A template that fills the layout (``<html metal:use-macro="layout">``)
    gets the macro's ``<html>`` element but not the doctype above it, and
    a page without a doctype is rendered in quirks mode. Adding it here
    covers every add-on's templates, whether or not they write it.
    """
    if isinstance(page, str) and page.lstrip()[:5].lower() == "<html":
        return "<!DOCTYPE html>\n" + page.lstrip()
    return page


@implementer(ITemplateRenderer)
class LayoutTemplateRenderer:
    """pyramid_chameleon's renderer for one ``.pt`` template, plus the layout's names.

    The names are added here rather than by a ``BeforeRender`` subscriber:
    one subscriber to any event makes Pyramid create and dispatch all five
    events of every request, JSON responses included, and only Chameleon
    templates use these names. Everything else (``implementation()``,
    macros, asset overrides, reloading) is pyramid_chameleon's.
    """

    def __init__(self, template: Any) -> None:
        self._template = template

    def __call__(self, value: Any, system: dict[str, Any]) -> Any:
        request = system.get("request")
        if request is not None:
            add_layout_names(system, request)
        return with_doctype(self._template(value, system))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._template, name)


def render_error_page(request: Request, status: int, title: str, detail: str) -> str:
    """An error page in the site's layout (the core's ``set_error_page`` renderer).

    It has the navigation bar and user menu of every page, the error's
    title and detail, a link home and the request id.
    """
    values = {"page_title": title, "status": status, "detail": detail}
    return str(render(ERROR_TEMPLATE, values, request=request))


def layout_renderer_factory(info: Any) -> LayoutTemplateRenderer:
    """The ``.pt`` renderer factory: pyramid_chameleon's, with :class:`LayoutTemplateRenderer`.

    Pyramid calls it for every page a view renders (its view deriver
    renders with a clone of the view's renderer helper), so the renderer
    of each template is made once per application: finding the template's
    file, and pyramid_chameleon's check that it exists, on every page cost
    about a twentieth of a logged-in page. With ``pyramid.reload_templates``
    or ``pyramid.reload_assets`` on, it is made again for every page.
    """
    from pyramid_chameleon import zpt

    registry = info.registry
    settings = registry.settings or {}
    if settings.get("pyramid.reload_templates") or settings.get("pyramid.reload_assets"):
        return LayoutTemplateRenderer(zpt.renderer_factory(_by_file_name(info)))
    renderers: dict[tuple[str, Any], LayoutTemplateRenderer] | None = getattr(
        registry, _RENDERERS, None
    )
    if renderers is None:
        renderers = {}
        setattr(registry, _RENDERERS, renderers)
    # The package a relative name is relative to (a module, or None).
    key = (info.name, info.package)
    renderer = renderers.get(key)
    if renderer is None:
        renderer = LayoutTemplateRenderer(zpt.renderer_factory(_by_file_name(info)))
        renderers[key] = renderer
    return renderer


def _by_file_name(info: Any) -> Any:
    """``info`` naming its template by file name when it names a package's asset.

    pyramid_chameleon asks pkg_resources whether an asset exists, which
    works only for packages imported by Python's own loaders; pytest
    imports the packages of a distribution that ships a pytest plugin
    (auth does) with its assertion-rewriting loader, and pkg_resources
    refuses those. ``importlib.resources`` reads any loader's files.
    """
    name = info.name
    if os.path.isabs(name):
        return info
    if ":" in name:
        package, _, path = name.partition(":")
    elif info.package is not None:
        package, path = package_name(info.package), name
    else:
        return info
    try:
        found = importlib.resources.files(package).joinpath(path)
    except (ModuleNotFoundError, TypeError):
        return info
    if not isinstance(found, pathlib.Path):
        return info
    # Without a package, pyramid_chameleon takes the file name as it is
    # rather than turning it back into an asset spec.
    return RendererHelper(name=str(found), package=None, registry=info.registry)
