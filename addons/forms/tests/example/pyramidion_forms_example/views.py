"""The example's pages: a contact form, navigation, a JSON endpoint."""

from typing import Any

import colander
from pyramid.authorization import Allow, Everyone
from pyramid.httpexceptions import HTTPTooManyRequests

from pyramidion import PUBLIC
from pyramidion_forms import FormError, FormView, model_schema, validate_json

from .models import Author, Book, Message


class ContactSchema(colander.Schema):
    name = colander.SchemaNode(colander.String(), validator=colander.Length(max=50))
    email = colander.SchemaNode(colander.String(), validator=colander.Email())
    body = colander.SchemaNode(colander.String(), title="Message")


class ContactForm(FormView):
    schema = ContactSchema
    title = "Contact us"
    submit_title = "Send"
    success_message = "Thank you, your message was sent."

    def on_success(self, appstruct: dict[str, Any]) -> str:
        message = Message(**appstruct)
        self.request.dbsession.add(message)
        self.request.dbsession.flush()
        if appstruct["name"] == "Mallory":
            # Written, then refused: the row must not be kept.
            raise FormError("We do not take messages from Mallory.", field="name")
        if appstruct["body"] == "spam":
            raise FormError("This looks like spam.")
        return self.request.route_url("formstest.thanks", _query={"id": message.id})


def thanks(request: Any) -> dict[str, Any]:
    return {"page_title": "Thanks"}


def messages_json(request: Any) -> dict[str, Any]:
    data = validate_json(request, ContactSchema())
    message = Message(**data)
    request.dbsession.add(message)
    request.dbsession.flush()
    request.response.status = 201
    return {"id": message.id, **data}


def books_json(request: Any) -> dict[str, Any]:
    data = validate_json(request, model_schema(Book))
    book = Book(**data)
    request.dbsession.add(book)
    request.dbsession.flush()
    request.response.status = 201
    return {"id": book.id, "title": book.title, "genre": book.genre.name}


class HeaderIdentity:
    """Trusts an ``X-User`` header: for tests only."""

    def identity(self, request: Any) -> str | None:
        return request.headers.get("X-User")

    def userid(self, identity: Any) -> str | None:
        return str(identity)

    def principals(self, request: Any, identity: Any) -> list[str]:
        principals = ["system.Authenticated", f"user:{identity}"]
        if identity == "root":
            principals.append("group:admin")
        if identity == "editor":
            principals.append("group:editor")
        return principals

    def remember(self, request: Any, userid: str, **kw: Any) -> list[tuple[str, str]]:
        return []

    def forget(self, request: Any, **kw: Any) -> list[tuple[str, str]]:
        return []


class Library:
    """The context of the CRUD pages: who may do what with books and authors."""

    __acl__ = [  # noqa: RUF012
        (Allow, Everyone, ("formstest.book.list", "formstest.book.view")),
        (Allow, "group:editor", ("formstest.book.add", "formstest.book.edit")),
    ]

    def __init__(self, request: Any) -> None:
        self.request = request


def fail(request: Any) -> Any:
    """Fail the way ``/fail/STATUS`` says: 429 (throttled) or 500 (a bug)."""
    if request.matchdict["status"] == "429":
        raise HTTPTooManyRequests(headers={"Retry-After": "60"})
    raise RuntimeError("the example view failed")


def includeme(config: Any) -> None:
    config.set_identity_source(HeaderIdentity())
    config.add_route("formstest.fail", "/fail/{status}")
    config.add_view(fail, route_name="formstest.fail", permission=PUBLIC)
    config.add_route("formstest.contact", "/contact")
    config.add_view(ContactForm, route_name="formstest.contact", permission=PUBLIC)
    config.add_route("formstest.thanks", "/thanks")
    config.add_view(
        thanks,
        route_name="formstest.thanks",
        renderer="pyramidion_forms_example:templates/thanks.pt",
        permission=PUBLIC,
    )
    config.add_route("formstest.messages", "/messages", request_method="POST")
    config.add_view(
        messages_json, route_name="formstest.messages", renderer="json", permission=PUBLIC
    )
    config.add_route("formstest.api.books", "/api/books", request_method="POST")
    config.add_view(
        books_json, route_name="formstest.api.books", renderer="json", permission=PUBLIC
    )
    config.add_nav_item("formstest.contact", "Contact", route_name="formstest.contact", order=10)
    config.add_nav_item(
        "formstest.secret", "Members", url="/formstest/secret", permission="formstest.secret"
    )
    config.add_crud(
        Book,
        name="formstest.book",
        factory=Library,
        columns=["title", "genre", "author", "pages"],
        sortable=["title", "pages", "published"],
        default_sort="title",
        per_page=5,
        overrides={"summary": {"description": "A few sentences."}},
        nav_order=20,
    )
    config.add_crud(
        Author,
        name="formstest.author",
        factory=Library,
        permissions={"list": PUBLIC, "view": PUBLIC},
        nav_order=30,
    )
