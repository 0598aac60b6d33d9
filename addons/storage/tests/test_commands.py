"""``pyramidion storage gc``, as an operator runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyramidion.cli import main
from pyramidion_storage.backends import LocalBackend, new_key


def test_gc_removes_orphans_older_than_the_grace_period(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ini = tmp_path / "app.ini"
    ini.write_text(
        "[app:main]\nuse = egg:pyramidion-core\npyramidion.addons = storage\n"
        "sqlalchemy.url = sqlite:///%(here)s/app.sqlite\n"
    )
    assert main(["db", "upgrade", str(ini)]) == 0
    # storage.local_root defaults to var/files next to the ini file.
    backend = LocalBackend(tmp_path / "var" / "files")
    orphan = new_key()
    backend.stage(orphan, iter([b"no row names me"])).publish()
    capsys.readouterr()

    assert main(["storage", "gc", str(ini)]) == 0
    assert "removed 0 orphaned file(s)" in capsys.readouterr().out
    assert backend.path(orphan).exists()

    assert main(["storage", "gc", str(ini), "--grace", "0"]) == 0
    out = capsys.readouterr().out
    assert "grace 0s): removed 1 orphaned file(s)" in out
    assert f"removed {orphan}" in out
    assert not backend.path(orphan).exists()
