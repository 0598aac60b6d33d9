"""The Python API an administrator's tools use: deactivating and activating
accounts, setting groups, sending a password reset, ending sessions and
revoking API tokens. Each is checked by what the account's owner sees."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from pyramidion.testing import PyramidionTestApp
from pyramidion_auth.accounts import (
    AccountError,
    activate_user,
    deactivate_user,
    groups_of,
    set_groups,
)
from pyramidion_auth.models import ApiToken, ServerSession, User
from pyramidion_auth.sessions import revoke_sessions
from pyramidion_auth.tokens import create_api_token, revoke_api_token, revoke_api_tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def second_client(app: PyramidionTestApp) -> PyramidionTestApp:
    return PyramidionTestApp(app.app)


def test_deactivating_ends_sessions_and_refuses_tokens_until_activated(
    testapp: PyramidionTestApp,
    auth_make_user: Any,
    auth_logged_in: Any,
    auth_log_in: Any,
    dbsession: Any,
    tm: Any,
) -> None:
    user = auth_make_user()
    _row, token = create_api_token(testapp.app.registry, dbsession, user, "ci")
    tm.commit()
    auth_logged_in(testapp, user)
    testapp.get("/auth/account", status=200)

    user = dbsession.get(User, user.id)
    assert deactivate_user(dbsession, user) is True
    assert deactivate_user(dbsession, user) is False
    tm.commit()

    # The browser's session is gone: the account page asks for a login.
    assert testapp.get("/auth/account").status_int == 303
    testapp.get("/auth/api/me", headers=bearer(token), status=401)
    assert auth_log_in(second_client(testapp), user.email).status_int == 422
    assert dbsession.scalar(select(func.count()).where(ServerSession.user_id == user.id)) == 0

    user = dbsession.get(User, user.id)
    assert activate_user(dbsession, user) is True
    assert activate_user(dbsession, user) is False
    tm.commit()

    # The token was kept: it works again, and so does logging in.
    assert testapp.get("/auth/api/me", headers=bearer(token)).json["id"] == user.id
    assert auth_log_in(second_client(testapp), user.email).status_int == 303


def test_the_last_active_admin_cannot_be_deactivated(
    auth_make_user: Any, dbsession: Any, tm: Any
) -> None:
    admin = auth_make_user(admin=True)

    with pytest.raises(AccountError, match="last active admin"):
        deactivate_user(dbsession, dbsession.get(User, admin.id))
    assert dbsession.get(User, admin.id).is_active

    auth_make_user(admin=True)
    assert deactivate_user(dbsession, dbsession.get(User, admin.id)) is True


def test_set_groups_adds_and_ends_memberships(
    auth_make_user: Any, dbsession: Any, tm: Any
) -> None:
    user = dbsession.get(User, auth_make_user(groups=["editors", "authors"]).id)

    assert set_groups(dbsession, user, ["authors", "moderators"]) == (1, 1)
    assert groups_of(user) == ["authors", "moderators"]
    assert set_groups(dbsession, user, ["moderators", "authors"]) == (0, 0)

    with pytest.raises(AccountError, match="cannot name a group"):
        set_groups(dbsession, user, ["authors", "bad name"])
    assert groups_of(user) == ["authors", "moderators"]


def test_set_groups_keeps_the_last_admin_in_admin(
    auth_make_user: Any, dbsession: Any, tm: Any
) -> None:
    admin = dbsession.get(User, auth_make_user(admin=True, groups=["editors"]).id)

    with pytest.raises(AccountError, match="last active admin"):
        set_groups(dbsession, admin, [])
    assert groups_of(admin) == ["admin", "editors"]


def test_revoking_sessions_and_tokens(
    testapp: PyramidionTestApp,
    auth_make_user: Any,
    auth_logged_in: Any,
    dbsession: Any,
    tm: Any,
) -> None:
    user = auth_make_user()
    first, first_token = create_api_token(testapp.app.registry, dbsession, user, "one")
    _second, second_token = create_api_token(testapp.app.registry, dbsession, user, "two")
    tm.commit()
    auth_logged_in(testapp, user)
    other = auth_logged_in(second_client(testapp), user)

    assert revoke_sessions(dbsession, user.id) == 2
    revoke_api_token(dbsession, dbsession.get(ApiToken, first.id))
    tm.commit()

    assert testapp.get("/auth/account").status_int == 303
    assert other.get("/auth/account").status_int == 303
    testapp.get("/auth/api/me", headers=bearer(first_token), status=401)
    testapp.get("/auth/api/me", headers=bearer(second_token), status=200)

    assert revoke_api_tokens(dbsession, user.id) == 1
    tm.commit()
    testapp.get("/auth/api/me", headers=bearer(second_token), status=401)


def test_no_reset_link_for_a_deactivated_account(
    testapp: PyramidionTestApp, auth_make_user: Any, mailbox: Any
) -> None:
    active = auth_make_user()
    inactive = auth_make_user(is_active=False)

    for user in (active, inactive):
        form = second_client(testapp).get("/auth/reset").forms["deform"]
        form["email"] = user.email
        assert form.submit("submit").status_int == 303

    assert len(mailbox(inactive.email)) == 0
    (mail,) = mailbox(active.email)
    assert re.search(r"/auth/reset/confirm\?token=\S+", mail)
