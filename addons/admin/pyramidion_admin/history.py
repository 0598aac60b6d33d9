"""The admin's history of changes: who changed what, when, from what to what.

# replaced by the history implementation
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyramid.request import Request

__all__ = ["record_change"]


# replaced by the history implementation
def record_change(request: Request, obj: Any, action: str, changes: Any = None) -> None:
    """Record that ``request``'s user did ``action`` to ``obj``.

    Called before the session is flushed (and before a delete), so the
    diff can be read from SQLAlchemy's attribute history. This placeholder
    records nothing; the history implementation replaces it.
    """
    # replaced by the history implementation
    return None
