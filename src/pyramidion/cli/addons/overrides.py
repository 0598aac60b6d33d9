"""``pyramidion addons overrides``: which layer's asset wins."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...overrides import INTEGRATOR
from .listing import package_dir

if TYPE_CHECKING:
    from ...overrides import OverriddenAsset
    from ...state import AppState

__all__ = ["format_overrides"]


def format_overrides(report: list[OverriddenAsset], state: AppState) -> str:
    """The text ``pyramidion addons overrides`` prints."""
    if not report:
        return (
            "Nothing is overridden: no enabled add-on ships overrides/<add-on>/ "
            "files, and pyramidion.overrides is not set."
            if not state.core.overrides
            else "Nothing is overridden: the directories in place mirror no "
            "file of an enabled add-on."
        )
    owners = {a.package: a.name for a in state.addons}
    lines = ["Overridden assets (the first layer wins):"]
    for item in report:
        package, _, rel = item.asset.partition(":")
        lines.append("")
        lines.append(item.asset)
        winner, *shadowed = item.providers
        lines.append(f"  used:     {_layer(winner, INTEGRATOR)}")
        original_dir = package_dir(package)
        if original_dir is not None and (original_dir / rel).is_file():
            shadowed.append(f"original in add-on {owners.get(package, package)}")
        for layer in shadowed:
            lines.append(f"  shadowed: {_layer(layer, INTEGRATOR)}")
    return "\n".join(lines)


def _layer(provider: str, integrator: str) -> str:
    if provider == integrator:
        return "the integrator's overrides (pyramidion.overrides)"
    if provider.startswith("original in "):
        return provider
    return f"add-on {provider}"
