"""Template and static-asset overrides with one precedence rule.

An add-on overrides another add-on's assets by mirroring them under
``overrides/<target>/`` in its own package: ``pyramidion_blog`` shipping
``overrides/auth/templates/login.pt`` replaces
``pyramidion_auth:templates/login.pt``. The integrator does the same in the
directory named by ``pyramidion.overrides`` (an asset spec such as
``myproject:overrides``, or an absolute path).

Precedence follows the add-on graph: layers are applied in resolution order
(dependencies before dependents) and the integrator's last, and the last
layer that has a file wins. So a dependent overrides what it depends on, and
the integrator overrides everything. Files a layer does not have fall
through to the layer below, and finally to the original.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigurationError

if TYPE_CHECKING:
    from pyramid.config import Configurator

    from .state import AppState

__all__ = [
    "INTEGRATOR",
    "OverriddenAsset",
    "OverrideLayer",
    "apply_overrides",
    "override_layers",
    "override_report",
]

INTEGRATOR = "(integrator)"


@dataclass(frozen=True)
class OverrideLayer:
    """One directory that overrides one add-on's package."""

    provider: str
    target: str
    target_package: str
    directory: Path


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _integrator_dir(spec: str) -> Path:
    path = Path(spec)
    if path.is_absolute():
        directory = path
    else:
        package, _, sub = spec.partition(":")
        base = _package_dir(package)
        if base is None:
            raise ConfigurationError(
                f"pyramidion.overrides = {spec}: package '{package}' cannot be "
                "found. Write an asset spec such as 'myproject:overrides' or "
                "an absolute path."
            )
        directory = base / sub
    if not directory.is_dir():
        raise ConfigurationError(f"pyramidion.overrides = {spec}: {directory} is not a directory.")
    return directory


def override_layers(state: AppState) -> list[OverrideLayer]:
    """Every override layer, lowest precedence first."""
    targets = {a.name: a.package for a in state.addons}
    layers: list[OverrideLayer] = []
    for addon in state.addons:
        base = _package_dir(addon.package)
        if base is None or not (base / "overrides").is_dir():
            continue
        for child in sorted((base / "overrides").iterdir()):
            if child.is_dir() and child.name in targets and child.name != addon.name:
                layers.append(OverrideLayer(addon.name, child.name, targets[child.name], child))
    if state.core.overrides:
        root = _integrator_dir(state.core.overrides)
        for child in sorted(root.iterdir()):
            if child.is_dir() and child.name in targets:
                layers.append(OverrideLayer(INTEGRATOR, child.name, targets[child.name], child))
    return layers


def apply_overrides(config: Configurator, state: AppState) -> None:
    """Register every layer with Pyramid's asset overrides, in order."""
    for layer in override_layers(state):
        config.override_asset(f"{layer.target_package}:", str(layer.directory) + "/")


@dataclass(frozen=True)
class OverriddenAsset:
    """An asset and the layers that provide it, winner first."""

    asset: str
    providers: tuple[str, ...]


def override_report(state: AppState) -> list[OverriddenAsset]:
    """What overrides what: every overridden file, with its winner first."""
    found: dict[str, list[str]] = {}
    for layer in override_layers(state):
        for path in sorted(layer.directory.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                rel = path.relative_to(layer.directory).as_posix()
                found.setdefault(f"{layer.target_package}:{rel}", []).append(layer.provider)
    return [
        OverriddenAsset(asset, tuple(reversed(providers)))
        for asset, providers in sorted(found.items())
    ]
