"""pytest fixtures for add-ons that build on auth: users, logging in, time.

Loaded automatically wherever ``pyramidion-auth`` is installed (the
``pytest11`` entry point); it only defines fixtures, all prefixed
``auth_``, and imports nothing beyond pytest until a fixture runs. They
build on the core's fixtures (``testapp``, ``dbsession``, ``tm``)::

    from pyramidion_auth.testing import AUTH_TEST_SETTINGS

    @pytest.fixture(scope="session")
    def pyramidion_extra_settings():
        return {**AUTH_TEST_SETTINGS, "blog.per_page": "5"}

    def test_only_authors_edit(testapp, auth_make_user, auth_logged_in):
        author = auth_make_user("Ada", groups=["authors"])
        auth_logged_in(testapp, author)
        testapp.get("/blog/new", status=200)

- ``auth_make_user(name=..., *, email=None, password=AUTH_TEST_PASSWORD,
  admin=False, groups=(), **columns)``: a committed account.
- ``auth_log_in(app, user_or_email, password=AUTH_TEST_PASSWORD, *,
  came_from=None)``: submits the login form as a browser would and
  returns the response, whatever its status.
- ``auth_logged_in(app, user)``: logs in, fails the test unless that
  worked, and returns ``app``.
- ``auth_password``: the password ``auth_make_user`` gives accounts.
- ``auth_clock``: the app's :class:`~pyramidion_auth.clock.ManualClock`,
  frozen at the current time for the test (``auth_clock.advance(minutes=5)``)
  and released afterwards. Needs ``auth.clock`` set to it, as
  ``AUTH_TEST_SETTINGS`` does.
- ``auth_redis_throttle``: settings that keep the throttle's counters in the
  test Redis (``PYRAMIDION_TEST_REDIS_URL``, else redis://127.0.0.1:6379/0)
  under a key prefix of the test's own, deleted afterwards. Skips the test
  when Redis cannot be reached, but fails it under CI (``CI`` set).
- ``auth_throttle_store``: parametrized over ``"database"`` and ``"redis"``:
  the settings of that store (none for the database), to run a test on both.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pyramidion_auth.clock import ManualClock
    from pyramidion_auth.models import User

__all__ = ["AUTH_TEST_PASSWORD", "AUTH_TEST_SETTINGS"]

#: A password that the default password rules accept.
AUTH_TEST_PASSWORD = "correct horse battery staple"  # noqa: S105 (a test password)

#: Settings for test apps: the cheapest Argon2id parameters auth accepts
#: (OWASP's minimum), so that tests that hash stay fast, and a clock that
#: tests can stop.
AUTH_TEST_SETTINGS = {
    "auth.argon2_memory_cost": "19456",
    "auth.argon2_time_cost": "2",
    "auth.argon2_parallelism": "1",
    "auth.clock": "pyramidion_auth.clock:ManualClock",
}


@pytest.fixture
def auth_password() -> str:
    """The password ``auth_make_user`` gives accounts unless told otherwise."""
    return AUTH_TEST_PASSWORD


@pytest.fixture
def auth_make_user(testapp: Any, dbsession: Any, tm: Any) -> Callable[..., User]:
    """``auth_make_user(name, *, email, password, admin, groups, **columns)``:
    a committed account, visible to the app's requests."""
    from pyramidion_auth.accounts import create_user

    def make(
        name: str = "Ada Lovelace",
        *,
        email: str | None = None,
        password: str = AUTH_TEST_PASSWORD,
        admin: bool = False,
        groups: Iterable[str] = (),
        **columns: Any,
    ) -> User:
        user = create_user(
            testapp.app.registry,
            dbsession,
            email=email or f"user-{uuid.uuid4().hex[:10]}@example.com",
            password=password,
            display_name=name,
            admin=admin,
            groups=groups,
        )
        for key, value in columns.items():
            setattr(user, key, value)
        dbsession.flush()
        tm.commit()
        return user

    return make


@pytest.fixture
def auth_log_in() -> Callable[..., Any]:
    """``auth_log_in(app, user_or_email, password=..., *, came_from=None)``:
    the login form submitted as a browser would; the response, any status."""

    def submit(
        app: Any,
        user: User | str,
        password: str = AUTH_TEST_PASSWORD,
        *,
        came_from: str | None = None,
        **kw: Any,
    ) -> Any:
        email = user if isinstance(user, str) else user.email
        query = {"came_from": came_from} if came_from is not None else {}
        login = app.app.routes_mapper.get_route("auth.login").generate({})
        page = app.get(login, params=query, **kw)
        form = page.forms["login"]
        form["email"] = email
        form["password"] = password
        return form.submit("submit", status="*", **kw)

    return submit


@pytest.fixture
def auth_logged_in(auth_log_in: Callable[..., Any]) -> Callable[..., Any]:
    """``auth_logged_in(app, user, password=...)``: ``app``, logged in as ``user``."""

    def log_in(app: Any, user: User | str, password: str = AUTH_TEST_PASSWORD) -> Any:
        response = auth_log_in(app, user, password)
        if response.status_int != 303:
            pytest.fail(f"logging in as {user} failed with {response.status}")
        return app

    return log_in


@pytest.fixture
def auth_clock(testapp: Any) -> Iterator[ManualClock]:
    """The app's clock, frozen at the current time for this test."""
    from pyramidion_auth.clock import ManualClock
    from pyramidion_auth.interfaces import Clock
    from pyramidion_auth.services import find

    clock = find(testapp.app.registry, Clock)
    if not isinstance(clock, ManualClock):
        pytest.fail(
            "auth_clock needs auth.clock = pyramidion_auth.clock:ManualClock in the "
            "test app's settings (AUTH_TEST_SETTINGS sets it)."
        )
    clock.freeze()
    try:
        yield clock
    finally:
        clock.release()


def _redis_test_url() -> str:
    return os.environ.get("PYRAMIDION_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def auth_redis_throttle() -> Iterator[dict[str, str]]:
    """Settings for a throttle in the test Redis, under this test's own prefix."""
    redis = pytest.importorskip("redis")
    url = _redis_test_url()
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"the tests need Redis at {url} under CI: {exc}")
        pytest.skip(f"Redis at {url} cannot be reached: {exc}")
    prefix = f"pyramidion-test:{uuid.uuid4().hex}:"
    try:
        yield {"auth.throttle_url": url, "auth.throttle_key_prefix": prefix}
    finally:
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture(params=["database", "redis"])
def auth_throttle_store(request: pytest.FixtureRequest) -> dict[str, str]:
    """The settings of each throttle store in turn (none for the database)."""
    if request.param == "database":
        return {}
    settings: dict[str, str] = request.getfixturevalue("auth_redis_throttle")
    return settings
