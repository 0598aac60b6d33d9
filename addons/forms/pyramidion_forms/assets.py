"""Which JavaScript the add-on serves: deform's assets minus the libraries
with published advisories, and the jQuery deform's scripts run on.

deform ships jQuery 2.0.3 (end of life, several advisories) and TinyMCE
6.7.3 (cross-site scripting advisories). Neither is served: the static
view of deform's files refuses them with 404, and pages load the current
jQuery vendored in ``static/vendor/`` (with its licence) instead.
The vendored jQuery is the release ``package-lock.json`` locks, which
``npm audit`` checks against published advisories
(``tests/security/test_dependencies.py`` in the repository).
"""

from __future__ import annotations

from typing import Any

__all__ = ["JQUERY", "WITHHELD", "WithheldAssets"]

#: Paths under ``deform:static/`` that are not served; a trailing ``/``
#: withholds a whole directory. ``RichTextWidget`` needs TinyMCE, so it is
#: not available until deform ships a version without advisories.
WITHHELD: tuple[str, ...] = ("scripts/jquery-2.0.3.min.js", "tinymce/")

#: The jQuery that deform's scripts are given (from the npm registry's
#: ``jquery`` package; see ``package.json`` at the top of the repository).
JQUERY = "pyramidion_forms:static/vendor/jquery-3.7.1.min.js"


class WithheldAssets:
    """Route predicate ``withheld_assets=PATHS``: the static route does not
    match (so the answer is 404) for a subpath in ``PATHS``."""

    def __init__(self, paths: tuple[str, ...], config: Any) -> None:
        self.paths = tuple(paths)

    def text(self) -> str:
        return f"withheld_assets = {self.paths!r}"

    phash = text

    def __call__(self, info: dict[str, Any], request: Any) -> bool:
        path = "/".join(info["match"].get("subpath", ()))
        return not any(
            path == withheld or (withheld.endswith("/") and path.startswith(withheld))
            for withheld in self.paths
        )
