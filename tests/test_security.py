"""Security on by default: a view is public only when it says so."""

from __future__ import annotations

import pytest
from pyramid.authorization import Allow, Authenticated, Everyone
from pyramid.request import Request
from sqlalchemy import Connection

from pyramidion.errors import AddonConflict
from pyramidion.security import SecurityPolicy, declared_permissions
from pyramidion.testing import MakeApp, PyramidionTestApp
from tests.conftest import Notes
from tests.distributions import Distributions


def test_view_without_permission_is_forbidden_to_anonymous(
    notes_app: PyramidionTestApp,
) -> None:
    response = notes_app.get("/notes/private", status=403)

    assert "You do not have permission to do this." in response.text
    assert "secret" not in response.text


def test_public_view_is_public(notes_app: PyramidionTestApp) -> None:
    assert notes_app.get("/notes/ping").json == {"pong": True}


IDENTITY = """
from pyramid.authorization import Allow, Authenticated


class HeaderIdentity:
    '''Trusts an X-User header: for tests only.'''

    def identity(self, request):
        return request.headers.get("X-User")

    def userid(self, identity):
        return identity

    def principals(self, request, identity):
        principals = ["system.Authenticated", f"user:{identity}"]
        if identity == "root":
            principals.append("group:admin")
        return principals

    def remember(self, request, userid, **kw):
        return []

    def forget(self, request, **kw):
        return []
"""


def test_identity_source_and_admin_principal(
    notes: Notes,
    distributions: Distributions,
    make_pyramidion_app: MakeApp,
    db_connection: Connection,
    caplog: pytest.LogCaptureFixture,
) -> None:
    distributions.addon(
        "who", preamble=IDENTITY, includeme="config.set_identity_source(HeaderIdentity())"
    )
    app = PyramidionTestApp(make_pyramidion_app(addons=["notes", "who"], connection=db_connection))

    app.get("/notes/private", headers={"X-User": "alice"}, status=403)
    with caplog.at_level("INFO", logger="pyramidion.access"):
        assert app.get("/notes/private", headers={"X-User": "root"}).json == {"secret": True}
    (record,) = [r for r in caplog.records if r.name == "pyramidion.access"]
    assert record.__dict__["user_id"] == "root"


def test_two_identity_sources_conflict(
    distributions: Distributions, make_pyramidion_app: MakeApp
) -> None:
    for name in ("who", "whom"):
        distributions.addon(
            name, preamble=IDENTITY, includeme="config.set_identity_source(HeaderIdentity())"
        )

    with pytest.raises(AddonConflict) as info:
        make_pyramidion_app(addons=["who", "whom"])

    first = str(info.value).splitlines()[0]
    assert first.startswith(
        "the security policy (set_security_policy, or set_identity_source) "
        "is claimed more than once: by "
    )
    assert "add-on 'who' (" in first
    assert "add-on 'whom' (" in first


def test_addons_declare_the_permissions_they_check(
    distributions: Distributions, make_pyramidion_app: MakeApp
) -> None:
    distributions.addon(
        "perms",
        includeme="""
        config.declare_permission("perms.edit", "Edit anything")
        config.declare_permission("view", "A second description is ignored")
        """,
    )
    app = make_pyramidion_app(addons=["perms"])
    assert declared_permissions(app.registry) == {
        "view": "See pages that are not public",
        "perms.edit": "Edit anything",
    }
    listed = app.registry.introspector.get_category("pyramidion permissions")
    assert {item["introspectable"].discriminator for item in listed} >= {"perms.edit", "view"}


KEY_HOLDER = """
def key_holder(request):
    '''Claims requests that carry the right X-Key header: for tests only.'''
    return request.headers.get("X-Key") == "sesame"
"""


def test_csrf_exemption_applies_only_to_the_requests_it_claims(
    notes: Notes,
    distributions: Distributions,
    make_pyramidion_app: MakeApp,
    db_connection: Connection,
) -> None:
    distributions.addon(
        "keys",
        preamble=KEY_HOLDER,
        includeme="config.add_csrf_exemption('keys.header', key_holder)",
    )
    app = PyramidionTestApp(
        make_pyramidion_app(addons=["notes", "keys"], connection=db_connection)
    )
    notes.Note.__table__.create(db_connection)

    app.post("/notes/add", {"text": "with the key"}, headers={"X-Key": "sesame"}, status=201)
    app.post("/notes/add", {"text": "wrong key"}, headers={"X-Key": "guess"}, status=400)
    app.post("/notes/add", {"text": "no key"}, status=400)

    assert notes.texts(db_connection) == ["with the key"]
    listed = app.app.registry.introspector.get_category("pyramidion csrf exemptions")
    assert [item["introspectable"].discriminator for item in listed] == ["keys.header"]


def test_two_csrf_exemptions_with_one_name_conflict(
    distributions: Distributions, make_pyramidion_app: MakeApp
) -> None:
    for name in ("keys", "locks"):
        distributions.addon(
            name,
            preamble=KEY_HOLDER,
            includeme="config.add_csrf_exemption('bearer', key_holder)",
        )

    with pytest.raises(AddonConflict) as info:
        make_pyramidion_app(addons=["keys", "locks"])

    assert str(info.value).startswith("CSRF exemption 'bearer' is claimed more than once: by ")


class EnvironIdentity:
    """Who is asking is ``environ["test.user"]``; remember and forget set it."""

    def identity(self, request: Request) -> str | None:
        user: str | None = request.environ.get("test.user")
        return user

    def userid(self, identity: str) -> str:
        return identity

    def principals(self, request: Request, identity: str) -> list[str]:
        return [Authenticated, f"user:{identity}"]

    def remember(self, request: Request, userid: str, **kw: object) -> list[tuple[str, str]]:
        request.environ["test.user"] = userid
        return []

    def forget(self, request: Request, **kw: object) -> list[tuple[str, str]]:
        request.environ.pop("test.user", None)
        return []


class Page:
    __acl__ = [(Allow, "user:alice", "edit"), (Allow, Authenticated, "view")]  # noqa: RUF012


def test_principals_follow_the_identity_within_a_request() -> None:
    policy = SecurityPolicy(EnvironIdentity())
    request = Request.blank("/")

    assert not policy.permits(request, Page(), "view")
    assert policy.effective_principals(request) == [Everyone]

    policy.remember(request, "alice")
    assert policy.permits(request, Page(), "edit")
    assert policy.effective_principals(request) == [Everyone, Authenticated, "user:alice"]

    policy.remember(request, "bob")
    assert not policy.permits(request, Page(), "edit")
    assert policy.permits(request, Page(), "view")

    policy.forget(request)
    assert not policy.permits(request, Page(), "view")
    assert policy.effective_principals(request) == [Everyone]


def test_requests_do_not_share_principals() -> None:
    policy = SecurityPolicy(EnvironIdentity())
    alice = Request.blank("/", environ={"test.user": "alice"})
    anonymous = Request.blank("/")

    assert policy.permits(alice, Page(), "edit")
    assert not policy.permits(anonymous, Page(), "view")
    assert policy.effective_principals(anonymous) == [Everyone]
    assert policy.effective_principals(alice) == [Everyone, Authenticated, "user:alice"]


def test_effective_principals_is_the_callers_own_list() -> None:
    policy = SecurityPolicy(EnvironIdentity())
    request = Request.blank("/", environ={"test.user": "alice"})

    policy.effective_principals(request).append("group:admin")

    assert policy.effective_principals(request) == [Everyone, Authenticated, "user:alice"]
