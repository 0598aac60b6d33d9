"""``pyramidion addons why``: why an add-on is enabled, or why not."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import close_matches

if TYPE_CHECKING:
    from ...resolve import Resolution
    from ...state import AppState

__all__ = ["requirement_chains", "why_enabled"]


def why_enabled(state: AppState, name: str, config: str) -> tuple[bool, str]:
    """Explain whether ``name`` is enabled and why; (enabled, text)."""
    resolution = state.resolution
    if name in resolution:
        e = resolution[name]
        lines = [f"{name} {e.addon.version} ({e.addon.distribution}) is enabled in {config}:"]
        if e.explicit:
            lines.append("  - pyramidion.addons lists it")
        for chain in requirement_chains(resolution, name):
            first = chain[0]
            spec = _requirement_spec(resolution, chain[-2], name)
            lines.append(
                f"  - {first} requires it: {' -> '.join(chain)}"
                + (f" ({chain[-2]} asks for {spec})" if spec != name else "")
            )
        return True, "\n".join(lines)
    if name in state.plain_includes:
        return True, (
            f"{name} is not an add-on, but pyramidion.addons in {config} names "
            "it, so it is included as a plain Pyramid package."
        )
    lines = [f"{name} is not enabled in {config}."]
    candidate = state.installed.get(name)
    if candidate is not None:
        lines.append(
            f"It is installed ({candidate.distribution} {candidate.version}); "
            "add it to pyramidion.addons to enable it."
        )
    else:
        lines.append("No installed distribution provides an add-on by that name.")
        similar = close_matches(name, [*state.installed, *resolution.names])
        if similar:
            lines.append("Did you mean " + " or ".join(f"'{s}'" for s in similar) + "?")
        installed = ", ".join(state.installed) or "(none)"
        lines.append(f"Installed add-ons: {installed}")
    return False, "\n".join(lines)


def requirement_chains(resolution: Resolution, name: str) -> list[list[str]]:
    """Every chain of ``requires`` from a listed add-on down to ``name``.

    A chain stops at the first add-on named in the ini, since that one is
    enabled for its own reason.
    """
    chains: list[list[str]] = []

    def up(path: list[str]) -> None:
        for parent in resolution[path[0]].required_by:
            if parent in path:  # pragma: no cover - resolution rejects cycles
                continue
            chain = [parent, *path]
            if resolution[parent].explicit:
                chains.append(chain)
            else:
                up(chain)

    up([name])
    return sorted(chains, key=lambda c: (len(c), c))


def _requirement_spec(resolution: Resolution, parent: str, name: str) -> str:
    for req in resolution[parent].addon.requirements:
        if req.name == name:
            return f"{req.name}{req.specifier}"
    return name
