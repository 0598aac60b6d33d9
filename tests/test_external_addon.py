"""Acceptance: a third-party add-on works with no change to the core.

The add-on below is a separate distribution written to a temporary
directory, built and installed with pip, enabled by its name in an ini file,
migrated with ``pyramidion db upgrade``, listed by ``pyramidion addons
list`` and served by ``pserve`` — each step a subprocess, as an integrator
would run it — and its JSON route writes a row and reads it back over HTTP.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent

ADDON_FILES = {
    "pyproject.toml": """
        [build-system]
        requires = ["setuptools"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "pyramidion-guestbook"
        version = "0.1.0"
        description = "A guest book: the smallest useful Pyramidion add-on."
        dependencies = ["pyramidion-core>=0.1,<0.2"]

        [project.entry-points."pyramidion.addons"]
        guestbook = "guestbook_addon:addon"

        [tool.setuptools]
        packages = ["guestbook_addon", "guestbook_addon.migrations"]
    """,
    "guestbook_addon/__init__.py": '''
        """The guest book add-on: the descriptor and includeme only."""

        from pyramidion import PUBLIC, Addon


        def includeme(config):
            """Register the guestbook.entries route and its GET and POST views."""
            config.add_route("guestbook.entries", "/entries")
            for method, view in (("GET", "list_entries"), ("POST", "sign")):
                config.add_view(
                    f"guestbook_addon.views.{view}",
                    route_name="guestbook.entries",
                    request_method=method,
                    renderer="json",
                    permission=PUBLIC,
                )


        addon = Addon(
            name="guestbook",
            title="Visitors sign the guest book",
            includeme="guestbook_addon:includeme",
            models="guestbook_addon.models",
            migrations="guestbook_addon:migrations",
        )
    ''',
    "guestbook_addon/models.py": """
        from sqlalchemy import String
        from sqlalchemy.orm import Mapped, mapped_column

        from pyramidion.db import Base


        class Entry(Base):
            __tablename__ = "guestbook_entries"

            id: Mapped[int] = mapped_column(primary_key=True)
            text: Mapped[str] = mapped_column(String(200))
    """,
    "guestbook_addon/views.py": """
        from sqlalchemy import select

        from .models import Entry


        def list_entries(request):
            entries = request.dbsession.scalars(select(Entry).order_by(Entry.id))
            return {"entries": [{"id": e.id, "text": e.text} for e in entries]}


        def sign(request):
            entry = Entry(text=str(request.json_body["text"]))
            request.dbsession.add(entry)
            request.dbsession.flush()
            request.response.status = 201
            return {"id": entry.id, "text": entry.text}
    """,
    "guestbook_addon/migrations/__init__.py": "",
    "guestbook_addon/migrations/a1b2c3d4e5f6_create_guestbook_entries.py": '''
        """Create guestbook_entries.

        Revision ID: a1b2c3d4e5f6
        """

        import sqlalchemy as sa
        from alembic import op

        revision = "a1b2c3d4e5f6"
        down_revision = None
        branch_labels = ("guestbook",)
        depends_on = None


        def upgrade():
            op.create_table(
                "guestbook_entries",
                sa.Column("id", sa.Integer(), nullable=False),
                sa.Column("text", sa.String(length=200), nullable=False),
                sa.PrimaryKeyConstraint("id", name=op.f("pk_guestbook_entries")),
            )


        def downgrade():
            op.drop_table("guestbook_entries")
    ''',
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Deployment:
    """A temporary site directory with the add-on installed, and an ini."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.site = root / "site"
        self.port = free_port()
        self.ini = root / "app.ini"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PYRAMIDION_")}
        self.env["PYTHONPATH"] = str(self.site)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(BIN / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            timeout=120,
            env=self.env,
            check=False,
        )
        assert result.returncode == 0, (
            f"{' '.join(args)} exited with {result.returncode}:\n{result.stdout}{result.stderr}"
        )
        return result

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def deployment(tmp_path: Path) -> Deployment:
    source = tmp_path / "guestbook-src"
    for relative, text in ADDON_FILES.items():
        path = source / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    d = Deployment(tmp_path)
    d.run(
        "python",
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "--disable-pip-version-check",
        "--target",
        str(d.site),
        str(source),
    )
    d.ini.write_text(
        textwrap.dedent(
            f"""
            [app:main]
            use = egg:pyramidion-core
            pyramidion.addons = guestbook
            pyramidion.environment = development
            pyramidion.allowed_hosts = 127.0.0.1
            sqlalchemy.url = sqlite:///%(here)s/var/app.sqlite

            [server:main]
            use = egg:waitress#main
            listen = 127.0.0.1:{d.port}
            """
        ).lstrip()
    )
    return d


@pytest.fixture
def server(deployment: Deployment) -> Iterator[Deployment]:
    """``pyramidion serve`` (the supported entry point, which runs pserve)
    serving the migrated deployment until the test ends."""
    deployment.run("pyramidion", "db", "upgrade", str(deployment.ini))
    process = subprocess.Popen(
        [str(BIN / "pyramidion"), "serve", str(deployment.ini)],
        env=deployment.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(deployment.url("/healthz"), timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    output = process.communicate()[0]
                    pytest.fail(f"pyramidion serve did not start serving:\n{output}")
                time.sleep(0.1)
        yield deployment
    finally:
        process.terminate()
        try:
            process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def request_json(
    url: str, *, data: object = None, headers: dict[str, str] | None = None
) -> tuple[int, object]:
    body = None if data is None else json.dumps(data).encode()
    request = urllib.request.Request(
        url,
        data=body,
        headers={
            "Accept": "application/json",
            "Content-Type": "application/json",
            **(headers or {}),
        },
        method="GET" if data is None else "POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_separately_built_addon_migrates_lists_and_serves(deployment: Deployment) -> None:
    upgraded = deployment.run("pyramidion", "db", "upgrade", str(deployment.ini))
    assert "guestbook" in upgraded.stdout

    listed = deployment.run("pyramidion", "addons", "list", str(deployment.ini)).stdout
    assert (
        "guestbook 0.1.0 (distribution pyramidion-guestbook)\n"
        "  Visitors sign the guest book\n"
        "  enabled:    listed in pyramidion.addons\n"
        "  prefix:     /guestbook\n"
        "  routes:     guestbook.entries  /guestbook/entries\n"
        "  tables:     guestbook_entries\n"
        "  database:   installed at 0.1.0; migrations up to date\n"
    ) in listed

    check = deployment.run("pyramidion", "check", "--strict", str(deployment.ini)).stdout
    assert check.endswith("No warnings.\n")


def test_the_served_addon_writes_and_reads_rows(server: Deployment) -> None:
    entries = server.url("/guestbook/entries")

    assert request_json(entries) == (200, {"entries": []})

    # Unsafe requests need the CSRF token twice: in the cookie and a header.
    token = uuid.uuid4().hex
    csrf = {"Cookie": f"csrf_token={token}", "X-CSRF-Token": token}
    status, _problem = request_json(entries, data={"text": "hello"})
    assert status == 400
    assert request_json(entries, data={"text": "hello"}, headers=csrf) == (
        201,
        {"id": 1, "text": "hello"},
    )

    assert request_json(entries) == (200, {"entries": [{"id": 1, "text": "hello"}]})
