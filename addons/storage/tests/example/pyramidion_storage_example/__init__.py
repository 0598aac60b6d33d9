"""``storagetest``: what the storage tests need that an app would provide.

An identity source that trusts an ``X-User`` header (tests only), a view
that stores a file and then fails, and a page with a deform form whose file
field uses :class:`~pyramidion_storage.widgets.StorageUploadWidget`.
"""

from __future__ import annotations

from typing import Any

from pyramidion import PUBLIC, Addon


class HeaderIdentity:
    """Trusts an ``X-User`` header: for tests only."""

    def identity(self, request: Any) -> str | None:
        return request.headers.get("X-User") or None

    def userid(self, identity: Any) -> str:
        return str(identity)

    def principals(self, request: Any, identity: Any) -> list[str]:
        principals = ["system.Authenticated", f"user:{identity}"]
        if identity == "root":
            principals.append("group:admin")
        return principals

    def remember(self, request: Any, userid: str, **kw: Any) -> list[tuple[str, str]]:
        return []

    def forget(self, request: Any, **kw: Any) -> list[tuple[str, str]]:
        return []


def includeme(config: Any) -> None:
    """Register the identity source, ``storagetest.fail`` and ``storagetest.form``."""
    config.set_identity_source(HeaderIdentity())
    config.add_route("storagetest.fail", "/fail")
    config.add_view(
        "pyramidion_storage_example.views.store_then_fail",
        route_name="storagetest.fail",
        request_method="POST",
        permission=PUBLIC,
    )
    config.add_route("storagetest.form", "/form")
    config.add_view(
        "pyramidion_storage_example.views.form_page",
        route_name="storagetest.form",
        permission=PUBLIC,
    )
    config.add_file_context("storagetest.folder", "pyramidion_storage_example.views.folder_of")


addon = Addon(
    name="storagetest",
    title="Test helpers of the storage add-on",
    includeme="pyramidion_storage_example:includeme",
    requires=("storage",),
)
