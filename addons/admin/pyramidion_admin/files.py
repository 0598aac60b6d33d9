"""File fields in the admin's forms, through whichever add-on stores files.

The admin does not store files itself, nor import the add-on that does. A
storage add-on (the bundled ``storage``, when both are enabled) registers an
:class:`AdminFileStore` with ``config.add_admin_file_store(store)``; a
column is then a file field when the registration names it in
``file_fields``, or when it is a foreign key to the store's ``table``.

With a store, a file field is an upload widget in the add and edit forms;
the row's current file is shown with its download link, an empty upload
keeps it, and a new upload replaces it within the request's transaction
(the store decides what becomes of the replaced file). A nullable file
column's edit form also offers "Remove the current file" (ignored when a
new file is uploaded); the removed file goes to the store's ``release``
like a replaced one.

What a new file belongs to (its owner, visibility, realm) is the model's
add-on's to say, not the admin's: a registration's ``file_placement(request,
obj, field)`` returns the keywords the admin hands to the store's ``keep``
for a file that replaces none, once the form's other values are on ``obj``. Without one, file
fields are shown read-only and left out of the forms.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request

    from .options import ModelAdmin

__all__ = [
    "AdminFileStore",
    "add_admin_file_store",
    "file_fields",
    "file_store",
    "remove_field",
]


class AdminFileStore(Protocol):
    """What the admin needs of the add-on that stores files."""

    #: The table whose primary key a file column refers to.
    table: str

    def widget(self, request: Request) -> Any:
        """The deform widget for a file field (its value goes to :meth:`keep`)."""

    def describe(self, request: Request, file_id: Any) -> tuple[str, str | None] | None:
        """The file's name and download URL (None when there is none), or
        None when no file has that id."""

    def keep(
        self,
        request: Request,
        value: Any,
        replaces: Any,
        placement: Mapping[str, Any] | None = None,
    ) -> Any:
        """Make the widget's ``value`` a stored file and return its id.

        ``replaces`` is the id of the file it takes the place of, or None.
        ``placement`` is what the registration's ``file_placement`` said the
        file belongs to (given only for a file that replaces none; the
        keywords are the store's own). Raises ``LookupError`` with a
        sentence when the upload is gone.
        """

    def release(self, request: Request, file_id: Any) -> None:
        """A row no longer refers to ``file_id`` (called after the flush that
        made the change): drop it by the store's own rules."""


def file_store(request: Request) -> AdminFileStore | None:
    """The registered :class:`AdminFileStore`, or None."""
    try:
        store: AdminFileStore = request.find_service(AdminFileStore)
    except LookupError:
        return None
    return store


def add_admin_file_store(config: Configurator, store: AdminFileStore) -> None:
    """Directive: file fields in the admin's forms go through ``store``.

    The store is a service (``request.find_service(AdminFileStore)``), so
    one store per app: a second registration is a configuration conflict.
    """
    store = config.maybe_dotted(store)
    for name in ("table", "widget", "describe", "keep", "release"):
        if not hasattr(store, name):
            raise TypeError(
                f"add_admin_file_store({store!r}): a file store needs {name} "
                "(see pyramidion_admin.files.AdminFileStore)"
            )
    config.register_service(store, AdminFileStore)


def file_fields(model_admin: ModelAdmin, store: AdminFileStore | None) -> tuple[str, ...]:
    """The columns of ``model_admin``'s model that hold a file's id: those its
    registration names, and with a store, its foreign keys to the store's table."""
    found = list(model_admin.file_fields)
    if store is not None:
        for attr in sa.inspect(model_admin.model).column_attrs:
            column = attr.columns[0]
            if attr.key not in found and any(
                key.column.table.name == store.table for key in column.foreign_keys
            ):
                found.append(attr.key)
    return tuple(found)


def remove_field(name: str) -> str:
    """The edit form's "Remove the current file" checkbox of file field ``name``."""
    return f"{name}__remove"
