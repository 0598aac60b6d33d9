"""The bundled registrations' tests run an app with ``admin`` and ``blog``
(and so ``auth``, ``forms`` and ``storage``): auth's models, which the
admin registers, and the blog's and storage's, which register themselves.

They use a database of their own: the admin's other tests count what is
installed in theirs (the dashboard's "installed but not enabled") and what
the history holds, and the browser test here commits for real."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

#: ``storage.max_upload_size`` of the test app, small so a test can pass it.
MAX_UPLOAD_SIZE = 4096

#: A secret setting of the test app, which no page may show.
SMTP_PASSWORD = "smtp-secret-4f9a"


@pytest.fixture(scope="session")
def pyramidion_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of these tests' own, on the server the session uses."""
    from pyramidion.testing import own_database

    with own_database(tmp_path_factory, "bundled") as url:
        yield url


@pytest.fixture(scope="session")
def pyramidion_addons() -> list[str]:
    return ["admin", "blog"]


@pytest.fixture(scope="session")
def pyramidion_extra_settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from pyramidion_auth.testing import AUTH_TEST_SETTINGS

    return {
        **AUTH_TEST_SETTINGS,
        "auth.mail_directory": str(tmp_path_factory.mktemp("mail")),
        "storage.local_root": str(tmp_path_factory.mktemp("files")),
        "auth.smtp_password": SMTP_PASSWORD,
        "storage.max_upload_size": str(MAX_UPLOAD_SIZE),
    }


@pytest.fixture
def make_post(dbsession: Any, tm: Any) -> Callable[..., Any]:
    """``make_post(author, title=..., **columns)``: a committed post."""
    from pyramidion_blog.models import Post

    def make(author: Any, title: str = "A post", **columns: Any) -> Any:
        post = Post(author_id=author.id, title=title, body=columns.pop("body", "Text."), **columns)
        dbsession.add(post)
        dbsession.flush()
        tm.commit()
        return post

    return make


@pytest.fixture
def admin_grant(dbsession: Any, tm: Any) -> Callable[..., None]:
    """``admin_grant(group, permissions)``: committed grants."""
    from pyramidion_admin.services import grant

    def give(group: str, permissions: Any) -> None:
        grant(dbsession, group, permissions)
        tm.commit()

    return give


@pytest.fixture
def admin_client(testapp: Any, auth_make_user: Any, auth_logged_in: Any) -> Any:
    """``testapp``, logged in as a new member of the admin group (``.user``)."""
    user = auth_make_user("Root", admin=True)
    auth_logged_in(testapp, user)
    testapp.user = user
    return testapp
