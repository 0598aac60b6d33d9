"""The apitest add-on's API: notes and tags as resources, and views of its own."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import colander
from pyramid.authorization import Allow, Authenticated
from pyramid.interfaces import IRootFactory
from sqlalchemy.orm import selectinload

from pyramidion import PUBLIC, model_factory

from .models import Note, Status, Tag

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request


class Notes:
    """All notes: logged-in users list them and write new ones."""

    __name__ = ""
    __acl__ = [(Allow, Authenticated, ("view", "apitest.note.add"))]  # noqa: RUF012

    def __init__(self, request: Request) -> None:
        self.__parent__ = request.registry.getUtility(IRootFactory)(request)


class Tags(Notes):
    __acl__ = [(Allow, Authenticated, ("view", "edit"))]  # noqa: RUF012


def note_schema() -> colander.SchemaNode:
    from pyramidion_forms.schemas import EnumType

    schema = colander.SchemaNode(colander.Mapping())
    schema.add(
        colander.SchemaNode(
            colander.String(), name="title", validator=colander.Length(min=1, max=100)
        )
    )
    schema.add(
        colander.SchemaNode(
            colander.String(), name="body", missing="", validator=colander.Length(max=5000)
        )
    )
    schema.add(colander.SchemaNode(EnumType(Status), name="status", missing=Status.draft))
    schema.add(
        colander.SchemaNode(
            colander.Integer(strict=True),
            name="rating",
            missing=None,
            validator=colander.Range(min=1, max=5),
        )
    )
    schema.add(colander.SchemaNode(colander.Date(), name="due", missing=None))
    return schema


class TagSchema(colander.Schema):
    name = colander.SchemaNode(colander.String(), validator=colander.Length(min=1, max=40))


class PublishSchema(colander.Schema):
    message = colander.SchemaNode(colander.String(), validator=colander.Length(max=200))
    notify = colander.SchemaNode(colander.String(), missing=None, validator=colander.Email())


class PublishedSchema(colander.Schema):
    id = colander.SchemaNode(colander.Integer())
    status = colander.SchemaNode(colander.String(), validator=colander.OneOf(["published"]))
    message = colander.SchemaNode(colander.String())


def create_note(request: Request, data: dict[str, Any]) -> Note:
    return Note(author_id=request.user.id, **data)


def publish(context: Note, request: Request) -> dict[str, Any]:
    """Publish a note."""
    context.status = Status.published
    return {"id": context.id, "status": "published", "message": request.api_input["message"]}


def ping(request: Request) -> dict[str, Any]:
    """Say the API is up."""
    return {"pong": True}


def includeme(config: Configurator) -> None:
    config.add_api_resource(
        "notes",
        model=Note,
        schema=note_schema(),
        factory=Notes,
        fields=(
            "id",
            "title",
            "body",
            "status",
            "rating",
            "due",
            "created_at",
            "author_id",
            "tags",
        ),
        filters=("status", "rating", "author_id"),
        sort=("created_at", "title", "rating"),
        ordering=("-created_at",),
        permissions={"create": "apitest.note.add"},
        create=create_note,
        query_options=(selectinload(Note.tags),),
    )
    config.add_api_resource(
        "tags",
        model=Tag,
        schema=TagSchema,
        factory=Tags,
        sort=("name",),
        filters=("name",),
        require_if_match=True,
    )
    config.add_api_view(
        publish,
        "/notes/{id}/publish",
        "POST",
        factory=model_factory(Note),
        request_schema=PublishSchema,
        response_schema=PublishedSchema,
        permission="edit",
    )
    config.add_api_view(ping, "/ping", "GET", permission=PUBLIC)
