"""The context of the add-on's pages: its ``__acl__`` says who may do what."""

from __future__ import annotations

from typing import Any

from pyramid.authorization import Allow, Everyone


class Items:
    """The collection of items, as the routes' ``factory``.

    Everyone may list and add items. With the auth add-on enabled, grant
    the add permission to ``system.Authenticated`` or to a group
    (``group:editors``) instead; members of ``group:admin`` may do
    everything.
    """

    __acl__: list[tuple[str, str, str]] = [  # noqa: RUF012
        (Allow, Everyone, "{{ cookiecutter.name }}.item.list"),
        (Allow, Everyone, "{{ cookiecutter.name }}.item.add"),
    ]

    def __init__(self, request: Any) -> None:
        self.request = request
