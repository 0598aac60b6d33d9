"""What the admin registers itself, because it cannot register itself.

Add-ons register their own models (``after=("admin",)`` and an
``admin.py`` of theirs). Two cannot: ``auth``, which the admin requires
(``after=("admin",)`` there would be a cycle), and the core, which knows
no add-on. The admin registers them here:

- :mod:`.auth`: users (activate, deactivate, send a password reset, end
  sessions, revoke API tokens, set groups), groups with their members, API
  tokens and sessions; and the admin's own grants.
- :mod:`.core`: the installed add-ons, read-only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyramid.config import Configurator

__all__ = ["includeme"]


def includeme(config: Configurator) -> None:
    """Register auth's models (:mod:`.auth`) and the installed add-ons page (:mod:`.core`)."""
    config.include(".auth")
    config.include(".core")
