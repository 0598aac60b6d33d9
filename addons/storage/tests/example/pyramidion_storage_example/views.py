"""Views of the ``storagetest`` add-on."""

from __future__ import annotations

import html
from typing import Any

import colander
import deform
from pyramid.authorization import Allow
from pyramid.csrf import get_csrf_token
from pyramid.response import Response

from pyramidion_storage.widgets import StorageUploadWidget


def store_then_fail(request: Any) -> Response:
    """Store the request body as a file, then fail: nothing may remain."""
    stored = request.storage.save(request.body, filename="doomed.txt")
    request.dbsession.flush()
    request.environ["storagetest.key"] = stored.key
    raise RuntimeError("the view failed after storing a file")


class Folder:
    """The owner of files in realm ``storagetest.folder``: only 'carol' sees them."""

    __acl__ = [(Allow, "user:carol", "view")]  # noqa: RUF012


def folder_of(request: Any, stored: Any) -> Folder:
    return Folder()


class UploadSchema(colander.Schema):
    title = colander.SchemaNode(colander.String(), validator=colander.Length(min=3))


def _form(request: Any) -> deform.Form:
    schema = UploadSchema().bind(request=request)
    schema.add(
        colander.SchemaNode(
            colander.String(),
            name="csrf_token",
            widget=deform.widget.HiddenWidget(),
            default=get_csrf_token(request),
        )
    )
    schema.add(
        colander.SchemaNode(
            deform.FileData(), name="attachment", widget=StorageUploadWidget(request)
        )
    )
    return deform.Form(schema, buttons=("submit",))


def form_page(request: Any) -> Response:
    """A form with a title and a file; on success, shows the stored file."""
    form = _form(request)
    if request.method == "POST":
        try:
            appstruct = form.validate(request.POST.items())
        except deform.ValidationFailure as failure:
            return _page(failure.render(), status=422)
        stored = request.storage.keep(appstruct["attachment"], public=True)
        request.dbsession.flush()
        url = request.storage.url(stored)
        body = (
            f"<h1>Stored {html.escape(appstruct['title'])}</h1>"
            f'<p><a id="file" href="{html.escape(url)}">{html.escape(stored.filename)}</a> '
            f'(<span id="size">{stored.size}</span> bytes, '
            f'sha256 <code id="sha256">{stored.sha256}</code>)</p>'
            f'<img id="preview" src="{html.escape(url)}" alt="the stored file">'
        )
        return _page(body)
    return _page(form.render())


def _page(body: str, status: int = 200) -> Response:
    page = f"<!DOCTYPE html><html><head><title>Upload</title></head><body>{body}</body></html>"
    return Response(text=page, status=status, content_type="text/html", charset="utf-8")
