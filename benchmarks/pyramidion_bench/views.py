"""The benchmarked views."""

from pyramid.authorization import Allow, Authenticated
from pyramid.httpexceptions import HTTPNotFound
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from pyramidion import PUBLIC

from .models import Item


def hello(request):  # type: ignore[no-untyped-def]
    return {"hello": "world"}


def item(request):  # type: ignore[no-untyped-def]
    try:
        item_id = int(request.matchdict["id"])
    except ValueError:
        raise HTTPNotFound() from None
    found = request.dbsession.get(Item, item_id)
    if found is None:
        raise HTTPNotFound()
    return {"id": found.id, "name": found.name, "price": found.price}


class ItemList:
    """The list page's context: any logged-in user may list items."""

    __acl__ = ((Allow, Authenticated, "bench.list"),)

    def __init__(self, request):  # type: ignore[no-untyped-def]
        pass


def item_list(request):  # type: ignore[no-untyped-def]
    query = select(Item).options(joinedload(Item.owner)).order_by(Item.id).limit(20)
    return {"items": request.dbsession.scalars(query).all(), "page_title": "Items"}


def includeme(config):  # type: ignore[no-untyped-def]
    config.declare_permission("bench.list", "List the benchmark's items")
    config.add_route("bench.hello", "/hello")
    config.add_view(hello, route_name="bench.hello", renderer="json", permission=PUBLIC)
    config.add_route("bench.item", "/items/{id}")
    config.add_view(item, route_name="bench.item", renderer="json", permission=PUBLIC)
    config.add_route("bench.list", "/list", factory=ItemList)
    config.add_view(
        item_list,
        route_name="bench.list",
        renderer="pyramidion_bench:templates/items.pt",
        permission="bench.list",
    )
