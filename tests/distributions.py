"""Real add-on distributions for tests, written to a temporary directory.

Each distribution is a package plus a ``NAME-VERSION.dist-info`` directory
(``METADATA`` and ``entry_points.txt``) on ``sys.path``, so
``importlib.metadata`` and the core's discovery see an installed
distribution exactly as pip would have left it.

Python caches imported modules and SQLAlchemy's shared MetaData keeps
tables, so every package gets a name unique to the test
(:attr:`Distributions.token`), and modules and tables a test added are
removed when it ends.
"""

from __future__ import annotations

import gc
import importlib
import importlib.metadata
import re
import sys
import textwrap
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from pyramidion.addon import ENTRY_POINT_GROUP
from pyramidion.db import metadata


class Distributions:
    """Writes distributions into ``root``, which is on ``sys.path``."""

    def __init__(self, root: Path, token: str) -> None:
        self.root = root
        #: A short string unique to the test, for package and table names.
        self.token = token
        self.packages: list[str] = []

    def package_name(self, addon_name: str) -> str:
        return f"pt_{addon_name}_{self.token}"

    def table(self, addon_name: str, what: str) -> str:
        """A table name owned by ``addon_name`` and unique to this test."""
        return f"{addon_name}_{what}_{self.token}"

    def distribution(
        self,
        name: str,
        version: str = "1.0",
        *,
        files: Mapping[str, str] = {},
        entry_points: Mapping[str, str] | None = None,
    ) -> None:
        """Install distribution ``name`` with ``files`` (paths relative to the
        site directory) and ``pyramidion.addons`` entry points."""
        for relative, source in files.items():
            path = self.root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source).lstrip())
            top = relative.split("/", 1)[0]
            if top not in self.packages and top.endswith(self.token):
                self.packages.append(top)
        normalized = re.sub(r"[-_.]+", "_", name).lower()
        info = self.root / f"{normalized}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        )
        if entry_points:
            lines = "".join(f"{k} = {v}\n" for k, v in entry_points.items())
            (info / "entry_points.txt").write_text(f"[pyramidion.addons]\n{lines}")
        importlib.invalidate_caches()

    def addon(
        self,
        name: str,
        *,
        version: str = "1.0",
        requires: Sequence[str] = (),
        after: Sequence[str] = (),
        core: str = "",
        includeme: str = "",
        descriptor: str = "",
        files: Mapping[str, str] = {},
        preamble: str = "",
        distribution: str | None = None,
    ) -> str:
        """Install an add-on distribution; return its package name.

        ``includeme`` is the body of the add-on's includeme (``config`` is
        in scope), ``preamble`` is module code before it (imports, views,
        settings classes), ``descriptor`` extra ``Addon(...)`` keyword
        arguments as source, and ``files`` more modules in the package.
        ``{pkg}`` in any of them is replaced by the package name.
        """
        pkg = self.package_name(name)

        def fill(source: str) -> str:
            return textwrap.dedent(source).replace("{pkg}", pkg)

        body = textwrap.indent(fill(includeme).strip() or "pass", "    ")
        init = (
            "from pyramidion import Addon\n\n"
            + fill(preamble)
            + "\n\ndef includeme(config):\n"
            + body
            + "\n\n\naddon = Addon(\n"
            + f"    name={name!r},\n"
            + f"    includeme='{pkg}:includeme',\n"
            + f"    requires={tuple(requires)!r},\n"
            + f"    after={tuple(after)!r},\n"
            + f"    core={core!r},\n"
            + textwrap.indent(fill(descriptor).strip(), "    ")
            + "\n)\n"
        )
        package_files = {f"{pkg}/__init__.py": init}
        package_files.update({f"{pkg}/{k}": fill(v) for k, v in files.items()})
        self.distribution(
            distribution or f"pyramidion-test-{name}",
            version,
            files=package_files,
            entry_points={name: f"{pkg}:addon"},
        )
        return pkg

    def cleanup(self) -> None:
        for module in list(sys.modules):
            if module.split(".", 1)[0] in self.packages:
                del sys.modules[module]
        for table in list(metadata.tables.values()):
            if table.name.endswith(self.token):
                metadata.remove(table)
        # A model module that failed half-way leaves its class registered
        # on the shared declarative registry; once nothing refers to the
        # class, the registry (which holds it weakly) forgets it.
        gc.collect()


#: Installed distributions the tests' own add-ons would collide with: the
#: bundled demo add-on is called ``blog``, the name these tests have always
#: given their example add-on.
HIDDEN_DISTRIBUTIONS = frozenset({"pyramidion-blog"})


def _without_hidden(entry_points: Any) -> Any:
    """``importlib.metadata.entry_points`` minus the hidden distributions' add-ons."""

    def filtered(**params: Any) -> Any:
        found = entry_points(**params)
        if params.get("group") != ENTRY_POINT_GROUP:
            return found
        return importlib.metadata.EntryPoints(
            ep
            for ep in found
            if ep.dist is None or ep.dist.metadata["Name"] not in HIDDEN_DISTRIBUTIONS
        )

    return filtered


@pytest.fixture
def distributions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Distributions]:
    """Install add-on distributions for one test; the installed demo blog is
    out of sight meanwhile."""
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(
        importlib.metadata, "entry_points", _without_hidden(importlib.metadata.entry_points)
    )
    dists = Distributions(site, f"t{uuid.uuid4().hex[:8]}")
    try:
        yield dists
    finally:
        dists.cleanup()
        importlib.invalidate_caches()
