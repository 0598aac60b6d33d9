"""colander schemas: what the forms accept."""

from __future__ import annotations

import colander


class ItemSchema(colander.Schema):  # type: ignore[misc]
    title = colander.SchemaNode(
        colander.String(), validator=colander.Length(min=1, max=200), title="Title"
    )
    notes = colander.SchemaNode(colander.String(), missing=None, title="Notes")
