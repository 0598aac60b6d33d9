"""Colander schemas of the post and moderation forms."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import colander
import deform

from pyramidion_storage.widgets import StorageUploadWidget

if TYPE_CHECKING:
    from pyramid.request import Request

    from .models import Post

__all__ = ["HideSchema", "PostJsonSchema", "post_schema"]

TITLE_MAX = 200
BODY_MAX = 20_000
#: Most files one post carries through the API.
MAX_ATTACHMENTS = 20


def _title() -> colander.SchemaNode:
    return colander.SchemaNode(
        colander.String(), name="title", validator=colander.Length(min=1, max=TITLE_MAX)
    )


def _body() -> colander.SchemaNode:
    return colander.SchemaNode(
        colander.String(),
        name="body",
        validator=colander.Length(min=1, max=BODY_MAX),
        widget=deform.widget.TextAreaWidget(rows=10),
    )


def post_schema(request: Request, post: Post | None = None) -> colander.SchemaNode:
    """Title, body and one new attachment; when editing ``post``, also a
    choice of its attachments to remove."""
    schema = colander.SchemaNode(colander.Mapping())
    schema.add(_title())
    schema.add(_body())
    schema.add(
        colander.SchemaNode(
            deform.FileData(),
            name="attachment",
            title="Attach a file" if post is None else "Attach another file",
            description="Optional: an image, a PDF, a text file...",
            missing=None,
            widget=StorageUploadWidget(request),
        )
    )
    if post is not None and post.attachments:
        choices: list[tuple[Any, str]] = [(str(a.id), a.file.filename) for a in post.attachments]
        schema.add(
            colander.SchemaNode(
                colander.Set(),
                name="remove",
                title="Remove attachments",
                missing=(),
                widget=deform.widget.CheckboxChoiceWidget(values=choices),
                validator=colander.ContainsOnly([value for value, _ in choices]),
            )
        )
    return schema


class PostJsonSchema(colander.Schema):  # type: ignore[misc]
    """A post as API clients send it: the form's title and body, and the keys
    of files the author uploaded first (``POST /api/v1/files``)."""

    title = _title()
    body = _body()
    attachments = colander.SchemaNode(
        colander.Sequence(),
        colander.SchemaNode(
            colander.String(), name="key", validator=colander.Regex(r"^[0-9a-f]{32}$")
        ),
        missing=(),
        validator=colander.Length(max=MAX_ATTACHMENTS),
        description="Keys of files uploaded with POST /files; on PATCH or PUT, the "
        "post's whole list: keys left out are removed.",
    )


class HideSchema(colander.Schema):  # type: ignore[misc]
    """Why a moderator hides a post; its author reads it."""

    reason = colander.SchemaNode(
        colander.String(),
        validator=colander.Length(min=3, max=500),
        description="Shown to the author of the post.",
    )
