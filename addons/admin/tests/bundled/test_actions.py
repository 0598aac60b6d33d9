"""The bundled models' own actions, run through the admin's bulk action
page as a browser would post them, and checked by what users then see."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pyramidion_admin.models import HistoryRecord
from sqlalchemy import func, select

from pyramidion.testing import PyramidionTestApp
from pyramidion_auth.models import ApiToken, ServerSession, User
from pyramidion_auth.tokens import create_api_token
from pyramidion_blog.models import Post
from pyramidion_storage.models import StoredFile


def run_action(app: PyramidionTestApp, list_url: str, action: str, ids: list[Any]) -> Any:
    """Post ``action`` on the rows ``ids`` from the list page, confirmed;
    the page the browser lands on afterwards."""
    page = app.get(list_url)
    token = page.html.select_one("[data-admin=bulk] input[name=csrf_token]")["value"]
    params = [("csrf_token", token), ("action", action), ("confirm", "yes")]
    params += [("ids", str(key)) for key in ids]
    return app.post(list_url + "action", params, status=303).follow()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def other_browser(app: PyramidionTestApp) -> PyramidionTestApp:
    return PyramidionTestApp(app.app)


def test_deactivating_ends_sessions_refuses_tokens_and_spares_oneself(
    admin_client: PyramidionTestApp,
    auth_make_user: Any,
    auth_logged_in: Any,
    dbsession: Any,
    tm: Any,
) -> None:
    user = auth_make_user("Leaver")
    _row, token = create_api_token(admin_client.app.registry, dbsession, user, "ci")
    tm.commit()
    browser = auth_logged_in(other_browser(admin_client), user)

    page = run_action(
        admin_client, "/admin/auth/user/", "deactivate", [user.id, admin_client.user.id]
    )

    assert "1 user deactivated." in page.text
    assert "Your own account" in page.text
    assert browser.get("/auth/account").status_int == 303
    admin_client.get("/auth/api/me", headers=bearer(token), status=401)
    assert admin_client.get("/admin/").status_int == 200

    page = run_action(admin_client, "/admin/auth/user/", "activate", [user.id])

    assert "1 user activated." in page.text
    assert admin_client.get("/auth/api/me", headers=bearer(token)).json["id"] == user.id


def test_a_bulk_action_records_every_row_it_changed(
    admin_client: PyramidionTestApp,
    auth_make_user: Any,
    auth_logged_in: Any,
    dbsession: Any,
    tm: Any,
) -> None:
    # Each deactivation ends the user's sessions, a delete that flushes the
    # session: the rows deactivated before it must still be recorded.
    users = [auth_make_user(f"Leaver {n}") for n in range(3)]
    tm.commit()
    for user in users:
        auth_logged_in(other_browser(admin_client), user)

    run_action(admin_client, "/admin/auth/user/", "deactivate", [user.id for user in users])

    records = dbsession.scalars(
        select(HistoryRecord).where(
            HistoryRecord.action == "deactivate",
            HistoryRecord.object_pk.in_([str(user.id) for user in users]),
        )
    ).all()
    assert sorted(record.object_pk for record in records) == sorted(str(u.id) for u in users)
    assert all(record.changes["is_active"] == [True, False] for record in records)


def test_sending_a_password_reset(
    admin_client: PyramidionTestApp,
    auth_make_user: Any,
    pyramidion_extra_settings: dict[str, Any],
) -> None:
    active = auth_make_user("Forgetful")
    inactive = auth_make_user("Gone", is_active=False)
    mail = Path(pyramidion_extra_settings["auth.mail_directory"])
    before = set(mail.glob("*.eml"))

    page = run_action(
        admin_client, "/admin/auth/user/", "send_password_reset", [active.id, inactive.id]
    )

    assert "Password reset link sent to 1 user. 1 inactive user got none." in page.text
    sent = [p.read_text() for p in set(mail.glob("*.eml")) - before]
    assert len(sent) == 1
    assert active.email in sent[0]
    assert re.search(r"/auth/reset/confirm\?token=", sent[0].replace("=\n", ""))


def test_ending_sessions_and_revoking_tokens(
    admin_client: PyramidionTestApp,
    auth_make_user: Any,
    auth_logged_in: Any,
    dbsession: Any,
    tm: Any,
) -> None:
    user = auth_make_user("Traveller")
    _row, token = create_api_token(admin_client.app.registry, dbsession, user, "laptop")
    tm.commit()
    browser = auth_logged_in(other_browser(admin_client), user)

    page = run_action(admin_client, "/admin/auth/user/", "end_sessions", [user.id])
    assert "1 session ended." in page.text
    assert browser.get("/auth/account").status_int == 303
    admin_client.get("/auth/api/me", headers=bearer(token), status=200)

    page = run_action(admin_client, "/admin/auth/user/", "revoke_tokens", [user.id])
    assert "1 API token revoked." in page.text
    admin_client.get("/auth/api/me", headers=bearer(token), status=401)

    # The administrator's own session survives ending their own sessions.
    me = admin_client.user.id
    page = run_action(admin_client, "/admin/auth/user/", "end_sessions", [me])
    assert admin_client.get("/admin/").status_int == 200


def test_tokens_show_their_hint_only_and_are_revoked(
    admin_client: PyramidionTestApp, auth_make_user: Any, dbsession: Any, tm: Any
) -> None:
    user = auth_make_user("Owner")
    row, token = create_api_token(admin_client.app.registry, dbsession, user, "deploy")
    tm.commit()

    listed = admin_client.get("/admin/auth/api_token/")
    detail = admin_client.get(f"/admin/auth/api_token/{row.id}")

    assert row.hint in listed.text
    for page in (listed, detail):
        assert token not in page.text
        assert row.token_hash not in page.text
    page = run_action(admin_client, "/admin/auth/api_token/", "revoke", [row.id])
    assert "1 API token revoked." in page.text
    assert dbsession.scalar(select(func.count()).where(ApiToken.id == row.id)) == 0


def test_sessions_are_listed_by_user_and_ended(
    admin_client: PyramidionTestApp,
    auth_make_user: Any,
    auth_logged_in: Any,
    dbsession: Any,
) -> None:
    user = auth_make_user("Visitor", email="visitor@example.com")
    browser = auth_logged_in(other_browser(admin_client), user)
    (session_id,) = dbsession.scalars(
        select(ServerSession.id).where(ServerSession.user_id == user.id)
    )

    listed = admin_client.get("/admin/auth/session/")
    assert "visitor@example.com" in listed.text
    detail = admin_client.get(f"/admin/auth/session/{session_id}")
    assert "_csrft_" not in detail.text

    page = run_action(admin_client, "/admin/auth/session/", "end", [session_id])
    assert "1 session ended." in page.text
    assert browser.get("/auth/account").status_int == 303


def test_posts_are_hidden_and_shown_in_bulk(
    admin_client: PyramidionTestApp, auth_make_user: Any, make_post: Any, dbsession: Any
) -> None:
    author = auth_make_user("Author")
    posts = [make_post(author, f"Offer {n}") for n in range(3)]
    kept = make_post(author, "Kept")
    ids = [post.id for post in posts]

    page = run_action(admin_client, "/admin/blog/post/", "hide", ids)

    assert "3 posts hidden: Hidden by a moderator." in page.text
    queue = admin_client.get("/admin/blog/post/", params={"f.hidden": "1"})
    assert {row.a.text for row in queue.html.select("[data-admin=row]")} >= {
        "Offer 0",
        "Offer 1",
        "Offer 2",
    }
    assert "Kept" not in queue.text
    anonymous = other_browser(admin_client)
    anonymous.get(f"/posts/{ids[0]}", status=404)
    anonymous.get(f"/posts/{kept.id}", status=200)

    page = run_action(admin_client, "/admin/blog/post/", "show", ids)

    assert "3 posts shown again." in page.text
    dbsession.expire_all()
    assert not any(dbsession.get(Post, key).hidden for key in ids)
    anonymous.get(f"/posts/{ids[0]}", status=200)


def test_hiding_asks_for_a_reason_that_the_history_records(
    admin_client: PyramidionTestApp, auth_make_user: Any, make_post: Any, dbsession: Any
) -> None:
    author = auth_make_user("Author")
    posts = [make_post(author, f"Spam {n}") for n in range(2)]
    ids = [post.id for post in posts]
    listing = admin_client.get("/admin/blog/post/")
    token = listing.html.select_one("[data-admin=bulk] input[name=csrf_token]")["value"]
    params = [("csrf_token", token), ("action", "hide")] + [("ids", str(i)) for i in ids]

    confirm = admin_client.post("/admin/blog/post/action", params)
    form = next(f for f in confirm.forms.values() if "confirm" in f.fields)
    field = confirm.html.select_one("[data-admin=ask]")
    assert field["name"] == "reason"
    assert confirm.html.select_one(f"label[for={field['id']}]").text.startswith("Reason")
    form["reason"] = "Advertising"
    page = form.submit(status=303).follow()

    assert "2 posts hidden: Advertising" in page.text
    dbsession.expire_all()
    assert [dbsession.get(Post, i).hidden_reason for i in ids] == ["Advertising"] * 2
    records = dbsession.scalars(
        select(HistoryRecord)
        .where(HistoryRecord.model == "post", HistoryRecord.action == "hide")
        .where(HistoryRecord.object_pk.in_([str(i) for i in ids]))
    ).all()
    assert len(records) == 2
    assert {r.message for r in records} == {"Reason (the authors see it): Advertising"}
    assert all(r.changes["hidden_reason"] == [None, "Advertising"] for r in records)
    log = admin_client.get("/admin/@@history", params={"model": "blog.post", "action": "hide"})
    assert "Advertising" in log.text


def test_an_action_asks_only_for_fields_named_as_such() -> None:
    from pyramidion_admin.options import AdminAction

    with pytest.raises(ValueError, match="asks names ids"):
        AdminAction("hide", "Hide", lambda request, rows: "", asks=[("ids", "Which")])
    action = AdminAction("hide", "Hide", lambda request, rows: "", asks=[["reason", "Why"]])
    assert action.asks == (("reason", "Why"),)


def test_files_tell_their_state_and_only_unused_ones_are_deleted(
    admin_client: PyramidionTestApp, auth_make_user: Any, dbsession: Any, tm: Any
) -> None:
    from pyramidion_blog.models import Attachment

    author = auth_make_user("Author")
    files = [
        StoredFile(
            key=f"{n:032x}",
            filename=f"file-{n}.txt",
            content_type="text/plain",
            size=1,
            sha256="0" * 64,
            owner_id=str(author.id),
        )
        for n in (1, 2)
    ]
    post = Post(author_id=author.id, title="With a file", body=".")
    post.attachments.append(Attachment(file=files[0]))
    dbsession.add_all([post, *files])
    dbsession.flush()
    used, unused = (f.id for f in files)
    tm.commit()

    detail = admin_client.get(f"/admin/storage/stored_file/{used}")
    (link,) = detail.html.select("[data-admin=object-link]")
    assert link.text == "Download"
    assert link["href"].endswith(f"/storage/files/{files[0].key}")

    page = run_action(admin_client, "/admin/storage/stored_file/", "state", [used, unused])
    assert "file-1.txt (00000000): in use" in page.text
    assert "file-2.txt (00000000): orphan" in page.text

    page = run_action(admin_client, "/admin/storage/stored_file/", "delete_unused", [used, unused])
    assert "1 file deleted. Kept, because a row uses them: file-1.txt." in page.text
    dbsession.expire_all()
    assert dbsession.get(StoredFile, used) is not None
    assert dbsession.get(StoredFile, unused) is None
    assert dbsession.get(User, author.id) is not None


def test_the_files_list_shows_each_files_state_in_one_query(
    admin_client: PyramidionTestApp,
    auth_make_user: Any,
    dbsession: Any,
    tm: Any,
    pyramidion_app: Any,
) -> None:
    import datetime

    from sqlalchemy import event

    from pyramidion import get_database
    from pyramidion_blog.models import Attachment

    author = auth_make_user("Author")

    def stored(name: str, **columns: Any) -> StoredFile:
        return StoredFile(
            key=f"{abs(hash(name)):032x}"[:32],
            filename=name,
            content_type="text/plain",
            size=1,
            sha256="0" * 64,
            owner_id=str(author.id),
            **columns,
        )

    def states(count: int) -> tuple[dict[str, str], int]:
        post = Post(author_id=author.id, title="With files", body=".")
        used = [stored(f"used-{count}-{n}.txt") for n in range(count)]
        post.attachments.extend(Attachment(file=f) for f in used)
        later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
        dbsession.add_all(
            [
                post,
                stored(f"orphan-{count}.txt"),
                stored(f"upload-{count}.txt", upload_token="t" * 64, expires_at=later),
            ]
        )
        dbsession.flush()
        tm.commit()
        statements: list[str] = []
        engine = get_database(pyramidion_app.registry).engine

        def count_statement(*args: Any) -> None:
            statements.append(args[2])

        event.listen(engine, "before_cursor_execute", count_statement)
        try:
            page = admin_client.get(
                "/admin/storage/stored_file/", params={"q": f"-{count}", "count": "exact"}
            )
        finally:
            event.remove(engine, "before_cursor_execute", count_statement)
        assert "State" in [th.text.strip() for th in page.html.select("th")]
        shown = {
            row.select_one("[data-admin=row-link]").text: row.select_one(
                "[data-admin=computed]"
            ).text
            for row in page.html.select("[data-admin=row]")
        }
        return shown, len(statements)

    few, few_statements = states(2)
    assert few == {
        "used-2-0.txt": "in use",
        "used-2-1.txt": "in use",
        "orphan-2.txt": "orphan",
        "upload-2.txt": "temporary",
    }
    many, many_statements = states(20)
    assert [many[f"used-20-{n}.txt"] for n in range(20)] == ["in use"] * 20
    assert many_statements == few_statements
