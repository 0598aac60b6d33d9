"""Stored files in the admin, included only when ``admin`` is enabled.

``/admin/storage/stored_file/`` lists files with their name, type, size,
owner, realm and state (in use, orphan, temporary or expired, one query
a page); search by name, type or owner; filter on public and upload time;
a file's page links to its download. Actions: tell which of the selected
files are in use, orphans or temporary uploads
(:func:`~pyramidion_storage.services.file_state`), and delete files no row
uses, their bytes once the transaction commits.

It also gives the admin's forms their file fields (:class:`AdminFiles`,
through ``config.add_admin_file_store``): a column that refers to
``storage_files`` is an upload field in any registered model's form.
This module uses only the admin's directives; it never imports the admin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pyramid.events import BeforeRender

from .models import StoredFile
from .services import file_state, file_states

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request

    from .widgets import StorageUploadWidget

__all__ = [
    "AdminFiles",
    "delete_unused_files",
    "download_link",
    "includeme",
    "list_states",
    "tell_states",
]


def list_states(request: Request, files: Sequence[StoredFile]) -> dict[int, str]:
    """The list's "State" column: each file's state, one query for the page."""
    return file_states(request.dbsession, files)


def tell_states(request: Request, files: Sequence[StoredFile]) -> str:
    """Admin action: say which state each selected file is in."""
    states = [
        f"{stored.filename} ({stored.key[:8]}): {file_state(request.dbsession, stored)}"
        for stored in files
    ]
    return "; ".join(states) + "."


def delete_unused_files(request: Request, files: Sequence[StoredFile]) -> str:
    """Admin action: delete the selected files that no row uses (rows now,
    bytes after the commit); files in use are kept and named."""
    kept = []
    deleted = 0
    for stored in files:
        if file_state(request.dbsession, stored) == "in use":
            kept.append(stored.filename)
            continue
        request.storage.delete(stored)
        deleted += 1
    message = f"{deleted} file{'' if deleted == 1 else 's'} deleted."
    if kept:
        message += f" Kept, because a row uses them: {', '.join(kept)}."
    return message


def download_link(event: BeforeRender) -> None:
    """Subscriber: a kept file's page in the admin links to its download
    (the admin's ``object_links``; found by the row the page shows, without
    importing the admin)."""
    request: Any = event.get("request")
    stored = getattr(event.get("context"), "obj", None)
    if request is None or not isinstance(stored, StoredFile) or stored.temporary:
        return
    links = list(event.get("object_links") or ())
    links.append(("Download", request.storage.url(stored)))
    event["object_links"] = links


class AdminFiles:
    """File fields in the admin's forms, stored with ``request.storage``.

    The upload widget stores the chosen file at once as the client's
    temporary upload (so a refused form keeps it); saving the row keeps
    it, with the owner, visibility and realm of the file it replaces; a
    file that replaces none gets those the registration's ``file_placement``
    gives (``owner_id``, ``public``, ``realm``: :meth:`~pyramidion_storage.services.Storage.keep`'s
    keywords), else it is the admin's own, private. A removed file is
    released like a replaced one. A replaced file that no other
    row uses is deleted: its row with the change, its bytes after the
    commit. Nothing happens to any file when the request rolls back, but
    the temporary upload expiring.
    """

    table = StoredFile.__tablename__

    def widget(self, request: Request) -> StorageUploadWidget:
        # deform is there: the admin, which asks for the widget, needs it.
        from .widgets import StorageUploadWidget

        return StorageUploadWidget(request)

    def describe(self, request: Request, file_id: Any) -> tuple[str, str | None] | None:
        stored = request.dbsession.get(StoredFile, file_id)
        if stored is None:
            return None
        url = None if stored.temporary else request.storage.url(stored)
        return stored.filename, url

    def keep(
        self,
        request: Request,
        value: Any,
        replaces: Any,
        placement: Mapping[str, Any] | None = None,
    ) -> Any:
        old = None if replaces is None else request.dbsession.get(StoredFile, replaces)
        try:
            if old is None:
                # owner_id, public and realm, as the model's add-on says.
                stored = request.storage.keep(value, **(placement or {}))
            else:
                stored = request.storage.keep(
                    value, owner_id=old.owner_id, public=old.public, realm=old.realm
                )
        except LookupError:
            raise LookupError("The uploaded file has expired; choose it again.") from None
        return stored.id

    def release(self, request: Request, file_id: Any) -> None:
        stored = request.dbsession.get(StoredFile, file_id)
        if stored is not None and file_state(request.dbsession, stored) == "orphan":
            request.storage.delete(stored)


def includeme(config: Configurator) -> None:
    """Register :class:`~pyramidion_storage.models.StoredFile` with the admin,
    the download link on a file's page, and :class:`AdminFiles` as the
    admin's file store."""
    config.add_subscriber(download_link, BeforeRender)
    config.add_admin_file_store(AdminFiles())
    config.add_admin_model(
        StoredFile,
        label="File",
        list_display=(
            "filename",
            "content_type",
            "size",
            "owner_id",
            "realm",
            "public",
            "created",
        ),
        search_fields=("filename", "content_type", "owner_id"),
        list_filter=("public", "created"),
        ordering=("-created",),
        fields=("filename", "public"),
        readonly_fields=(
            "key",
            "content_type",
            "size",
            "sha256",
            "created",
            "owner_id",
            "realm",
            "expires_at",
        ),
        secret_fields=("upload_token",),
        list_computed=[{"name": "state", "label": "State", "values": list_states}],
        actions=[
            {"name": "state", "label": "Tell whether in use", "handler": tell_states},
            {
                "name": "delete_unused",
                "label": "Delete unused files",
                "handler": delete_unused_files,
                "destructive": True,
            },
        ],
    )
