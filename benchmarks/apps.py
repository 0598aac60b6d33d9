"""The applications the benchmark runner serves, each built by one factory.

Every factory imports what it needs itself, so a server process loads only
its own application's code and its peak memory is its own. The references
do exactly the work the Pyramidion add-on ``bench`` does: the same JSON
body for ``/bench/hello``, and ``/bench/items/{id}`` reading one row by
primary key in a session made for the request and closed after it.
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


def pyramidion(database_url: str, options: dict[str, str]) -> WSGIApp:
    """Pyramidion, production settings, every bundled add-on, the demo ``blog`` and ``bench``.

    ``options["addons"]`` replaces the enabled add-ons; ``options["files"]``
    is where the storage add-on keeps files.
    """
    from pyramidion import make_app

    settings = {
        "sqlalchemy.url": database_url,
        "pyramidion.addons": options.get("addons", "auth forms storage blog bench"),
        "pyramidion.environment": "production",
        "pyramidion.allowed_hosts": "127.0.0.1 localhost",
        "storage.local_root": options["files"],
    }
    settings.update({k: v for k, v in options.items() if "." in k})
    app: WSGIApp = make_app(settings, environ={})
    return app


FACTORIES: dict[str, Callable[[str, dict[str, str]], WSGIApp]] = {
    "raw-wsgi": raw_wsgi,
    "bare-pyramid": bare_pyramid,
    "pyramid-tm": pyramid_tm_reference,
    "flask-sqlalchemy": flask_sqlalchemy,
    "pyramidion": pyramidion,
}
