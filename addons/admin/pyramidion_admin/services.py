"""Granting and revoking admin permissions: plain functions the commands,
the tests and other add-ons' install hooks call."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import sqlalchemy as sa

from .models import AdminGrant

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["GrantError", "grant", "grants_of", "revoke"]


class GrantError(ValueError):
    """A grant names a group that does not exist or a permission nobody checks."""


def _group_id(dbsession: Session, group: str) -> int:
    from pyramidion_auth.models import Group

    group_id = dbsession.scalar(sa.select(Group.id).where(Group.name == group))
    if group_id is None:
        raise GrantError(
            f"There is no group called {group!r} "
            "(`pyramidion auth list-groups CONFIG` lists them)."
        )
    return group_id


def _check(permissions: Iterable[str], known: Iterable[str] | None) -> list[str]:
    wanted = list(dict.fromkeys(permissions))
    if known is not None:
        unknown = sorted(set(wanted) - set(known))
        if unknown:
            raise GrantError(
                f"No registered model has the permission {', '.join(unknown)}; "
                "`pyramidion admin permissions CONFIG` lists them."
            )
    return wanted


def grant(
    dbsession: Session,
    group: str,
    permissions: Iterable[str],
    *,
    known: Iterable[str] | None = None,
) -> list[str]:
    """Give ``group`` (created if missing, as ``pyramidion auth add-to-group``
    does) each of ``permissions``; returns those it did not hold yet.

    With ``known`` (the app's admin permissions), a permission not among
    them is refused with :class:`GrantError`.
    """
    from pyramidion_auth.accounts import AccountError, ensure_group

    wanted = _check(permissions, known)
    try:
        group_id = ensure_group(dbsession, group).id
    except AccountError as exc:
        raise GrantError(str(exc)) from None
    held = set(
        dbsession.scalars(
            sa.select(AdminGrant.permission).where(
                AdminGrant.group_id == group_id, AdminGrant.permission.in_(wanted)
            )
        )
    )
    added = [p for p in wanted if p not in held]
    dbsession.add_all(AdminGrant(group_id=group_id, permission=p) for p in added)
    dbsession.flush()
    return added


def revoke(dbsession: Session, group: str, permissions: Iterable[str]) -> list[str]:
    """Take each of ``permissions`` from ``group``; returns those it held."""
    group_id = _group_id(dbsession, group)
    wanted = list(dict.fromkeys(permissions))
    rows = dbsession.scalars(
        sa.select(AdminGrant).where(
            AdminGrant.group_id == group_id, AdminGrant.permission.in_(wanted)
        )
    ).all()
    for row in rows:
        dbsession.delete(row)
    dbsession.flush()
    return sorted(row.permission for row in rows)


def grants_of(dbsession: Session, group: str) -> list[str]:
    """The admin permissions ``group`` holds, sorted."""
    group_id = _group_id(dbsession, group)
    return sorted(
        dbsession.scalars(sa.select(AdminGrant.permission).where(AdminGrant.group_id == group_id))
    )
