"""Colander schemas of the post and moderation forms."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import colander
import deform

from pyramidion_storage.widgets import StorageUploadWidget

if TYPE_CHECKING:
    from pyramid.request import Request

    from .models import Post

__all__ = ["HideSchema", "post_schema"]

TITLE_MAX = 200
BODY_MAX = 20_000


def post_schema(request: Request, post: Post | None = None) -> colander.SchemaNode:
    """Title, body and one new attachment; when editing ``post``, also a
    choice of its attachments to remove."""
    schema = colander.SchemaNode(colander.Mapping())
    schema.add(
        colander.SchemaNode(
            colander.String(),
            name="title",
            validator=colander.Length(min=1, max=TITLE_MAX),
        )
    )
    schema.add(
        colander.SchemaNode(
            colander.String(),
            name="body",
            validator=colander.Length(min=1, max=BODY_MAX),
            widget=deform.widget.TextAreaWidget(rows=10),
        )
    )
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


class HideSchema(colander.Schema):  # type: ignore[misc]
    """Why a moderator hides a post; its author reads it."""

    reason = colander.SchemaNode(
        colander.String(),
        validator=colander.Length(min=3, max=500),
        description="Shown to the author of the post.",
    )
