"""A cookie session, as the auth add-on would set one; enable as a plain include."""

from typing import Any

from pyramid.session import SignedCookieSessionFactory


def includeme(config: Any) -> None:
    config.set_session_factory(SignedCookieSessionFactory("formstest-" * 4, secure=False))
