"""A deform file upload widget whose temporary uploads live in storage.

Needs deform (``pip install pyramidion-storage[deform]``), not the forms
add-on::

    import colander, deform
    from pyramidion_storage.widgets import StorageUploadWidget

    class Schema(colander.Schema):
        attachment = colander.SchemaNode(
            deform.FileData(), widget=StorageUploadWidget(request)
        )

    appstruct = form.validate(request.POST.items())
    stored = request.storage.keep(appstruct["attachment"])

The uploaded file is stored at once as a temporary upload tied to the
client (an HttpOnly cookie, and the logged-in user), so a form that fails
validation keeps it without the user choosing it again, even when the
refused request's transaction is aborted; its id is the
file's unguessable key, and only the same client can refer to it until
``storage.upload_expiry`` passes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import colander
import deform.widget

from .uploads import UploadRejected

if TYPE_CHECKING:
    from pyramid.request import Request

    from .models import StoredFile

__all__ = ["StorageTempStore", "StorageUploadWidget"]


class StorageTempStore:
    """deform's ``FileUploadTempStore`` on top of ``request.storage``.

    Keys are file keys; only this client's unexpired temporary uploads are
    found. Values are the dicts deform's file widget renders: ``uid``,
    ``filename``, ``mimetype``, ``size`` and ``preview_url`` (None).
    """

    def __init__(self, request: Request) -> None:
        self.request = request

    @staticmethod
    def value(stored: StoredFile) -> dict[str, Any]:
        return {
            "uid": stored.key,
            "filename": stored.filename,
            "mimetype": stored.content_type,
            "size": stored.size,
            "preview_url": None,
        }

    def get(self, uid: str, default: Any = None) -> dict[str, Any] | Any:
        stored = self.request.storage.temporary_upload(uid)
        return default if stored is None else self.value(stored)

    def __getitem__(self, uid: str) -> dict[str, Any]:
        found = self.get(uid)
        if found is None:
            raise KeyError(uid)
        return dict(found)

    def __contains__(self, uid: object) -> bool:
        return isinstance(uid, str) and self.get(uid) is not None

    def __setitem__(self, uid: str, value: dict[str, Any]) -> None:
        # deform calls this to remember a value it renders; uploads are
        # stored by StorageUploadWidget.deserialize, never under a name the
        # client chose, so there is nothing to do.
        pass

    def preview_url(self, uid: str) -> str | None:
        return None

    def add(self, fp: Any, filename: str, mimetype: str | None) -> dict[str, Any]:
        """Store an uploaded file as this client's temporary upload."""
        stored = self.request.storage.save_temporary(
            fp, filename=filename or "file", content_type=mimetype
        )
        self.request.dbsession.flush()
        return self.value(stored)


class StorageUploadWidget(deform.widget.FileUploadWidget):  # type: ignore[misc]
    """deform's file upload widget, storing uploads in ``request.storage``.

    A file too large, of a type not accepted, or whose content does not
    match its name is a validation error on the field, shown in the form.
    """

    def __init__(self, request: Request, **kw: Any) -> None:
        super().__init__(StorageTempStore(request), **kw)

    def deserialize(self, field: Any, pstruct: Any) -> Any:
        if pstruct is colander.null or not isinstance(pstruct, dict):
            return colander.null
        upload: Any = pstruct.get("upload")
        uid = pstruct.get("uid") or None
        if hasattr(upload, "file") and getattr(upload, "filename", None):
            try:
                return self.tmpstore.add(upload.file, upload.filename, upload.type)
            except UploadRejected as exc:
                raise colander.Invalid(field.schema, str(exc)) from None
        if uid is not None:
            found = self.tmpstore.get(str(uid))
            return colander.null if found is None else found
        return colander.null
