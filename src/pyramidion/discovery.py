"""Finding installed add-ons through entry points.

Discovery lists candidates without importing them: an installed add-on that
is not enabled is never imported, so a broken add-on only stops the
applications that enable it.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata as md
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .addon import ADDON_NAME_PATTERN, ENTRY_POINT_GROUP, Addon, DescriptorError
from .errors import AddonError, AddonImportError

__all__ = [
    "Candidate",
    "discover_addons",
]


@dataclass(frozen=True)
class Candidate:
    """An installed add-on, known by its entry point but not yet imported."""

    name: str
    distribution: str
    version: str
    entry_point: md.EntryPoint

    def load(self) -> Addon:
        """Import the descriptor and fill in the distribution metadata."""
        try:
            obj = self.entry_point.load()
        except DescriptorError as exc:
            raise AddonImportError(
                f"add-on '{self.name}' (distribution {self.distribution} "
                f"{self.version}) has an invalid descriptor: {exc} Fix it in "
                f"'{self.entry_point.value}', or remove '{self.name}' from "
                "pyramidion.addons."
            ) from None
        except Exception as exc:
            raise AddonImportError(
                f"add-on '{self.name}' (distribution {self.distribution} "
                f"{self.version}) could not be imported from "
                f"'{self.entry_point.value}': {type(exc).__name__}: {exc}\n"
                f"Fix the error in that package, or remove '{self.name}' from "
                "pyramidion.addons (and from the requires of any add-on that "
                "needs it)."
            ) from exc
        if not isinstance(obj, Addon):
            raise AddonImportError(
                f"the entry point '{self.name} = {self.entry_point.value}' of "
                f"distribution {self.distribution} names a "
                f"{type(obj).__name__}, not a pyramidion.Addon descriptor."
            )
        if obj.name != self.name:
            raise AddonImportError(
                f"distribution {self.distribution} publishes add-on "
                f"'{obj.name}' under the entry point name '{self.name}'; the "
                "two must be equal. Rename the entry point or the descriptor."
            )
        return dataclasses.replace(obj, version=self.version, distribution=self.distribution)


def discover_addons(
    entry_points: Iterable[md.EntryPoint] | None = None,
) -> Mapping[str, Candidate]:
    """Return every installed add-on by name, sorted by name.

    Two distributions publishing the same add-on name is an error, because
    which one Python would pick depends on the order of ``sys.path``.
    """
    if entry_points is None:
        entry_points = md.entry_points(group=ENTRY_POINT_GROUP)
    found: dict[str, Candidate] = {}
    for ep in entry_points:
        dist = ep.dist
        dist_name = dist.metadata["Name"] if dist is not None else "<unknown>"
        version = dist.version if dist is not None else "0"
        if not ADDON_NAME_PATTERN.match(ep.name):
            raise AddonError(
                f"distribution {dist_name} publishes an add-on named "
                f"'{ep.name}', which is not a valid add-on name (lower-case "
                "letters, digits and '_', starting with a letter)."
            )
        candidate = Candidate(ep.name, dist_name, version, ep)
        previous = found.get(ep.name)
        if previous is not None and previous.distribution != dist_name:
            raise AddonError(
                f"add-on '{ep.name}' is published by two distributions: "
                f"{previous.distribution} {previous.version} and {dist_name} "
                f"{version}. Uninstall one of them (pip uninstall ...)."
            )
        found[ep.name] = candidate
    return dict(sorted(found.items()))
