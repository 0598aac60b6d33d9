"""A forged Host header never reaches a page: the app builds absolute URLs
(password-reset links among them) from it."""

from __future__ import annotations

from typing import Any

import pytest

from pyramidion.testing import MakeApp, PyramidionTestApp
from pyramidion.web import host_allowed


@pytest.mark.parametrize(
    ("host", "allowed", "ok"),
    [
        ("localhost:evil.example", ("localhost",), False),
        ("localhost:evil.example", ("*",), False),
        ("localhost:6543", ("localhost",), True),
        ("localhost:65536", ("localhost",), False),
        ("localhost:", ("localhost",), False),
        ("localhost:6543", ("localhost:6543",), True),
        ("localhost:6544", ("localhost:6543",), False),
        ("evil.example#.example.com", (".example.com",), False),
        ("a.example.com", (".example.com",), True),
        ("example.com", (".example.com",), True),
        ("badexample.com", (".example.com",), False),
        ("[::1]:8080", ("[::1]",), True),
        ("[::1]:x", ("[::1]",), False),
        ("example.com@evil.example", ("example.com",), False),
    ],
)
def test_only_allowed_hosts_with_numeric_ports_pass(
    host: str, allowed: tuple[str, ...], ok: bool
) -> None:
    assert host_allowed(host, allowed) is ok


@pytest.mark.parametrize("allowed", ["localhost", ""])
def test_a_host_with_a_port_that_is_not_a_number_never_reaches_a_page(
    make_pyramidion_app: MakeApp, db_connection: Any, allowed: str
) -> None:
    app = PyramidionTestApp(
        make_pyramidion_app({"pyramidion.allowed_hosts": allowed}, connection=db_connection)
    )
    for host in ("localhost:evil.example", "localhost:80@evil.example", "evil.example/x"):
        response = app.get("/auth/reset", headers={"Host": host}, expect_errors=True)
        assert response.status_int == 400, host
        assert "evil.example" not in response.text
    assert app.get("/auth/login", headers={"Host": "localhost:6543"}).status_int == 200
