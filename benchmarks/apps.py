"""The applications the benchmark runner serves, each built by one factory.

Every factory imports what it needs itself, so a server process loads only
its own application's code and its peak memory is its own. The references
do exactly the work the Pyramidion add-on ``bench`` does: the same JSON
body for ``/bench/hello``, ``/bench/items/{id}`` reading one row by
primary key in a session made for the request and closed after it, and
(Django's and Flask's page references, in ``django_bench/`` and
``flask_bench/``) ``/bench/list``, the logged-in page of 20 items with
their owners, a CSRF token and a layout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def raw_wsgi(database_url: str, options: dict[str, str]) -> WSGIApp:
    """A bare WSGI callable: the server's ceiling for the hello case."""
    import json

    body = json.dumps({"hello": "world"}).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ["PATH_INFO"] != "/bench/hello":
            start_response("404 Not Found", [("Content-Length", "0")])
            return [b""]
        start_response("200 OK", headers)
        return [body]

    return app


def _reference_model() -> Any:
    """Item and Owner mapped as the ``bench`` add-on maps them, relationship included.

    The relationship is never loaded here (``lazy="raise"``), but the ORM
    sets up its loader for every row all the same, so leaving it out would
    make the references' rows cheaper to load than Pyramidion's.
    """
    from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table
    from sqlalchemy.orm import registry, relationship

    metadata = MetaData()
    owners = Table(
        "bench_owners", metadata, Column("id", Integer, primary_key=True), Column("name", String)
    )
    items = Table(
        "bench_items",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("name", String(100)),
        Column("price", Integer),
        Column("owner_id", Integer, ForeignKey("bench_owners.id")),
    )
    mapper_registry = registry()

    class Owner:
        id: int
        name: str

    class Item:
        id: int
        name: str
        price: int

    mapper_registry.map_imperatively(Owner, owners)
    mapper_registry.map_imperatively(
        Item, items, properties={"owner": relationship(Owner, lazy="raise")}
    )
    return Item


def bare_pyramid(database_url: str, options: dict[str, str]) -> WSGIApp:
    """Pyramid with a JSON renderer and a plain SQLAlchemy session per request."""
    from pyramid.config import Configurator
    from pyramid.httpexceptions import HTTPNotFound
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    Item = _reference_model()
    make_session = sessionmaker(create_engine(database_url))

    def hello(request: Any) -> dict[str, str]:
        return {"hello": "world"}

    def item(request: Any) -> dict[str, Any]:
        with make_session() as session:
            found = session.get(Item, int(request.matchdict["id"]))
            if found is None:
                raise HTTPNotFound()
            return {"id": found.id, "name": found.name, "price": found.price}

    with Configurator() as config:
        config.add_route("hello", "/bench/hello")
        config.add_view(hello, route_name="hello", renderer="json")
        config.add_route("item", "/bench/items/{id}")
        config.add_view(item, route_name="item", renderer="json")
        app: WSGIApp = config.make_wsgi_app()
    return app


#: The headers Pyramidion sends on every response by default (its request id
#: and the security headers of ``pyramidion.web``).
SECURITY_HEADERS = [
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    (
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    ),
]


def security_headers_tween_factory(handler: Any, registry: Any) -> Any:
    """A tween, as Pyramid's docs write one, adding a request id and the security headers."""
    import random

    def security_headers_tween(request: Any) -> Any:
        response = handler(request)
        response.headerlist.append(("X-Request-ID", random.randbytes(16).hex()))
        response.headerlist.extend(SECURITY_HEADERS)
        return response

    return security_headers_tween


def bare_pyramid_headers(database_url: str, options: dict[str, str]) -> WSGIApp:
    """Bare Pyramid sending the headers Pyramidion sends, from a tween."""
    from pyramid.config import Configurator

    with Configurator() as config:
        config.add_tween("apps.security_headers_tween_factory")
        config.add_route("hello", "/bench/hello")
        config.add_view(lambda request: {"hello": "world"}, route_name="hello", renderer="json")
        app: WSGIApp = config.make_wsgi_app()
    return app


def pyramid_tm_reference(database_url: str, options: dict[str, str]) -> WSGIApp:
    """Pyramid with pyramid_tm, pyramid_retry and zope.sqlalchemy, as Pyramid's cookiecutter
    wires them: the transaction path Pyramidion builds on, with nothing of its own."""
    import zope.sqlalchemy
    from pyramid.config import Configurator
    from pyramid.httpexceptions import HTTPNotFound
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    Item = _reference_model()
    make_session = sessionmaker(create_engine(database_url))

    def dbsession(request: Any) -> Any:
        session = make_session()
        zope.sqlalchemy.register(session, transaction_manager=request.tm)
        return session

    def item(request: Any) -> dict[str, Any]:
        found = request.dbsession.get(Item, int(request.matchdict["id"]))
        if found is None:
            raise HTTPNotFound()
        return {"id": found.id, "name": found.name, "price": found.price}

    settings = {"tm.manager_hook": "pyramid_tm.explicit_manager", "retry.attempts": "3"}
    with Configurator(settings=settings) as config:
        config.include("pyramid_retry")
        config.include("pyramid_tm")
        config.add_request_method(dbsession, "dbsession", reify=True)
        config.add_route("hello", "/bench/hello")
        config.add_view(lambda request: {"hello": "world"}, route_name="hello", renderer="json")
        config.add_route("item", "/bench/items/{id}")
        config.add_view(item, route_name="item", renderer="json")
        app: WSGIApp = config.make_wsgi_app()
    return app


def flask_sqlalchemy(database_url: str, options: dict[str, str]) -> WSGIApp:
    """Flask with SQLAlchemy, a session per request, as its tutorials write it."""
    from flask import Flask, abort
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    Item = _reference_model()
    make_session = sessionmaker(create_engine(database_url))
    app = Flask("bench")

    @app.get("/bench/hello")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    @app.get("/bench/items/<int:item_id>")
    def item(item_id: int) -> dict[str, Any]:
        with make_session() as session:
            found = session.get(Item, item_id)
            if found is None:
                abort(404)
            return {"id": found.id, "name": found.name, "price": found.price}

    wsgi: WSGIApp = app
    return wsgi


def django_page(database_url: str, options: dict[str, str]) -> WSGIApp:
    """Django 5.2: contrib.auth, database sessions, CSRF, a template with a base layout."""
    import django_bench

    app: WSGIApp = django_bench.application(database_url)
    return app


def drf(database_url: str, options: dict[str, str]) -> WSGIApp:
    """Django REST Framework: token auth, a serializer, cursor pagination, a viewset."""
    import drf_bench

    app: WSGIApp = drf_bench.application(database_url)
    return app


def flask_page(database_url: str, options: dict[str, str]) -> WSGIApp:
    """Flask + Flask-Login + Flask-WTF + Jinja2 + SQLAlchemy, sessions in the database."""
    import flask_bench

    app: WSGIApp = flask_bench.create_app(database_url, server_side_sessions=True)
    return app


def flask_page_cookie(database_url: str, options: dict[str, str]) -> WSGIApp:
    """The same Flask app with Flask's own signed-cookie sessions."""
    import flask_bench

    app: WSGIApp = flask_bench.create_app(database_url, server_side_sessions=False)
    return app


#: The one setting the benchmark changes from Pyramidion's defaults: Argon2id's
#: memory cost, 32 MiB instead of the auth add-on's 64 MiB, so that a login
#: costs Pyramidion the memory it costs the Flask reference (werkzeug's
#: default scrypt, N=2**15 and r=8, holds 32 MiB; Django's PBKDF2 holds none).
#: Peak RSS per process is a target, and a process keeps the peak of its
#: hashes. Still above OWASP's minimum (19 MiB); the user the runner creates
#: is hashed with it too, so the login does not rehash.
PASSWORD_HASH_SETTINGS = {"auth.argon2_memory_cost": "32768"}


def pyramidion(database_url: str, options: dict[str, str]) -> WSGIApp:
    """Pyramidion, production settings, every bundled add-on, the demo ``blog`` and ``bench``.

    The production settings are those of ``production.ini`` (a generated
    app's too), ``pyramidion.gc_freeze`` included, with
    :data:`PASSWORD_HASH_SETTINGS`. ``options["addons"]``
    replaces the enabled add-ons; ``options["files"]`` is where the storage
    add-on keeps files.
    """
    from pyramidion import make_app

    settings = {
        "sqlalchemy.url": database_url,
        "pyramidion.addons": options.get("addons", "auth forms storage blog bench"),
        "pyramidion.environment": "production",
        "pyramidion.gc_freeze": "true",
        "pyramidion.allowed_hosts": "127.0.0.1 localhost",
        "storage.local_root": options["files"],
        **PASSWORD_HASH_SETTINGS,
    }
    settings.update({k: v for k, v in options.items() if "." in k})
    app: WSGIApp = make_app(settings, environ={})
    return app


FACTORIES: dict[str, Callable[[str, dict[str, str]], WSGIApp]] = {
    "raw-wsgi": raw_wsgi,
    "bare-pyramid": bare_pyramid,
    "bare-pyramid-headers": bare_pyramid_headers,
    "pyramid-tm": pyramid_tm_reference,
    "flask-sqlalchemy": flask_sqlalchemy,
    "django": django_page,
    "drf": drf,
    "flask-page": flask_page,
    "flask-page-cookie": flask_page_cookie,
    "pyramidion": pyramidion,
}

#: The applications of each case, in the order the runners show them.
CASES: dict[str, list[str]] = {
    "hello": ["raw-wsgi", "bare-pyramid", "pyramid-tm", "flask-sqlalchemy", "pyramidion"],
    "row": ["bare-pyramid", "pyramid-tm", "flask-sqlalchemy", "pyramidion"],
    "page": ["django", "flask-page", "flask-page-cookie", "pyramidion"],
    "api-item": ["drf", "pyramidion"],
    "api-page": ["drf", "pyramidion"],
}

#: For the references that keep users and sessions in tables of their own:
#: ``prepare(database_url, email, password)`` creates them and the user,
#: once per database, in a process of its own (Django configures itself
#: once per process).
PREPARERS: dict[str, str] = {
    "django": "django_bench",
    "flask-page": "flask_bench",
    "drf": "drf_bench",
}
