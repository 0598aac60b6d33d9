"""Ini files for tests that go through PasteDeploy, as integrators' do."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def write_ini(tmp_path: Path, settings: Mapping[str, str], *, name: str = "app.ini") -> str:
    """Write ``[app:main] use = egg:pyramidion-core`` with ``settings``; return its path.

    ``sqlalchemy.url`` defaults to a SQLite file beside the ini.
    """
    values = {"sqlalchemy.url": f"sqlite:///{tmp_path}/app.sqlite", **settings}
    lines = ["[app:main]", "use = egg:pyramidion-core", *(f"{k} = {v}" for k, v in values.items())]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return str(path)
