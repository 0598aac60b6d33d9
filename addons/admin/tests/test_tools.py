"""The admin through the tools integrators use: ``pviews`` explains an admin
URL, and the grant commands give and take permissions."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pyramidion import CommandError

from .conftest import EXAMPLE

BIN = Path(sys.executable).parent


@pytest.mark.slow
def test_pviews_explains_an_admin_url(admintest_site: Path, tmp_path: Path) -> None:
    ini = tmp_path / "app.ini"
    ini.write_text(
        "[app:main]\n"
        "use = egg:pyramidion-core\n"
        "pyramidion.addons = admin admintest\n"
        "pyramidion.environment = development\n"
        f"sqlalchemy.url = sqlite:///{tmp_path}/app.sqlite\n"
        f"auth.mail_directory = {tmp_path}/mail\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRAMIDION_")}
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(EXAMPLE), str(admintest_site), env.get("PYTHONPATH")])
    )
    result = subprocess.run(
        [str(BIN / "pviews"), str(ini), "/admin/admintest/thing/add"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "context: <pyramidion_admin.resources.ModelSection" in result.stdout
    assert "view name: add" in result.stdout
    assert "pyramidion_admin.views.AddView" in result.stdout
    assert "required permission = admin.add" in result.stdout


def run(command: Any, request: Any, **arguments: Any) -> None:
    command(request, argparse.Namespace(**arguments))


@pytest.fixture
def command_request(testapp: Any, dbsession: Any) -> Any:
    """A request as a command gets one: the app's registry and a session."""
    from pyramid.request import Request

    request = Request.blank("/")
    request.registry = testapp.app.registry
    request.dbsession = dbsession
    return request


def test_grant_revoke_and_list_permissions(
    command_request: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from pyramidion_admin.commands import grant_command, permissions_command, revoke_command
    from pyramidion_admin.services import grants_of

    run(grant_command, command_request, group="editors", permission=["admin.admintest.thing.view"])
    run(
        grant_command,
        command_request,
        group="editors",
        permission=["admin.admintest.thing.view", "admin.admintest.thing.deactivate"],
    )
    out = capsys.readouterr().out
    assert "editors: admin.admintest.thing.view granted" in out
    assert "editors: admin.admintest.thing.view already held" in out
    assert grants_of(command_request.dbsession, "editors") == [
        "admin.admintest.thing.deactivate",
        "admin.admintest.thing.view",
    ]
    run(permissions_command, command_request)
    listed = dict(line.split("\t", 1) for line in capsys.readouterr().out.splitlines())
    assert listed["admin.admintest.thing.deactivate"].endswith("\teditors")
    assert listed["admin.admintest.part.delete"].endswith("\t-")
    run(
        revoke_command, command_request, group="editors", permission=["admin.admintest.thing.view"]
    )
    assert "revoked" in capsys.readouterr().out
    assert grants_of(command_request.dbsession, "editors") == ["admin.admintest.thing.deactivate"]


def test_granting_an_unknown_permission_says_how_to_find_them(command_request: Any) -> None:
    from pyramidion_admin.commands import grant_command, revoke_command

    with pytest.raises(CommandError, match="pyramidion admin permissions CONFIG"):
        run(grant_command, command_request, group="editors", permission=["admin.nope.view"])
    with pytest.raises(CommandError, match="no group called 'ghosts'"):
        run(revoke_command, command_request, group="ghosts", permission=["admin.x"])
