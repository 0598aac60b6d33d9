"""Contexts of the storage routes, and the hook that lets add-ons own files.

A download's context is a :class:`FileContext`. By default its access rules
come from the file row (:meth:`StoredFile.acl`: public files to everyone,
private ones to their owner, admins always). A file saved with
``realm="blog.post"`` is governed instead by the context the add-on that
registered that realm returns::

    def post_of_attachment(request, stored_file):
        return request.dbsession.scalars(
            select(Post).join(Post.attachment).where(StoredFile.id == stored_file.id)
        ).one_or_none()  # None: 404

    config.add_file_context("blog.post", post_of_attachment)

and whoever has ``view`` on that post may download the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyramid.authorization import Allow, Authenticated, Everyone
from pyramid.httpexceptions import HTTPNotFound
from pyramid.interfaces import IRootFactory
from sqlalchemy import select

from pyramidion import get_settings

from .models import StoredFile
from .settings import StorageSettings

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.registry import Registry
    from pyramid.request import Request

__all__ = ["FileContext", "FileContextFactory", "UploadContext", "add_file_context"]

#: ``factory(request, stored_file)`` returns the context that owns the
#: file (its ``__acl__`` decides), or None when there is none (404).
FileContextFactory = Callable[["Request", StoredFile], Any]

_CONTEXTS = "pyramidion_storage_file_contexts"
_KEY = re.compile(r"^[0-9a-f]{32}$")


def add_file_context(config: Configurator, realm: str, factory: FileContextFactory) -> None:
    """Directive: ``config.add_file_context(realm, factory)``.

    Files saved with ``realm=realm`` are downloadable by whoever has the
    ``view`` permission on ``factory(request, stored_file)``. Two add-ons
    claiming one realm conflict at start-up.
    """
    if not realm or not isinstance(realm, str):
        raise ValueError(f"file realm {realm!r} must be a non-empty string")
    factory = config.maybe_dotted(factory)

    def register() -> None:
        file_contexts(config.registry)[realm] = factory

    intr = config.introspectable("pyramidion storage file contexts", realm, realm, "file realm")
    intr["factory"] = factory
    config.action(("pyramidion_storage.file_context", realm), register, introspectables=(intr,))


def file_contexts(registry: Registry) -> dict[str, FileContextFactory]:
    """The registered realms and their context factories."""
    contexts: dict[str, FileContextFactory] | None = getattr(registry, _CONTEXTS, None)
    if contexts is None:
        contexts = {}
        setattr(registry, _CONTEXTS, contexts)
    return contexts


def _root(request: Request) -> Any:
    return request.registry.getUtility(IRootFactory)(request)


class FileContext:
    """A stored file as a download's context."""

    __name__ = ""

    def __init__(self, file: StoredFile, acl: list[tuple[str, str, Any]], parent: Any) -> None:
        self.file = file
        self.__acl__ = acl
        self.__parent__ = parent


def file_context_factory(request: Request) -> FileContext:
    """Route factory of ``storage.file``: the file named by ``{key}``, or 404.

    Temporary uploads are not downloadable. A realm with a registered
    context factory lends that context's rules (the file context adds none
    of its own); otherwise the row's :meth:`~StoredFile.acl` applies.
    """
    key = request.matchdict.get("key", "")
    if not _KEY.match(key):
        raise HTTPNotFound()
    stored = request.dbsession.scalars(
        select(StoredFile).where(StoredFile.key == key)
    ).one_or_none()
    if stored is None or stored.temporary:
        raise HTTPNotFound()
    factory = file_contexts(request.registry).get(stored.realm or "")
    if factory is not None:
        owner = factory(request, stored)
        if owner is None:
            raise HTTPNotFound()
        return FileContext(stored, [], owner)
    settings = get_settings(request.registry, StorageSettings)
    return FileContext(stored, stored.acl(settings.owner_principal), _root(request))


class UploadContext:
    """Context of ``storage.upload``: who may upload (``storage.upload``)."""

    __name__ = ""

    def __init__(self, request: Request) -> None:
        settings = get_settings(request.registry, StorageSettings)
        who = Everyone if settings.anonymous_uploads else Authenticated
        self.__acl__ = [(Allow, who, "storage.upload")]
        self.__parent__ = _root(request)
