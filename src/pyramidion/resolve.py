"""Turning the ini's list of add-on names into an ordered, checked set.

Resolution is a graph, never the ini's order: requirements are pulled in,
``requires`` and ``after`` become edges, and a deterministic topological
sort (ties broken by name) gives the include order. Every way this can fail
raises an :class:`~pyramidion.errors.AddonError` whose message names the
cause and the fix.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from .addon import Addon
from .discovery import Candidate
from .errors import (
    AddonNotFound,
    DependencyCycle,
    MissingRequirement,
    VersionConflict,
    did_you_mean,
)

__all__ = [
    "EnabledAddon",
    "Resolution",
    "resolve_addons",
]


@dataclass(frozen=True)
class EnabledAddon:
    """An add-on in the resolved set, with why it is enabled."""

    addon: Addon
    #: True when the ini names it; otherwise it was pulled in.
    explicit: bool
    #: The enabled add-ons that require it, sorted.
    required_by: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.addon.name

    @property
    def reason(self) -> str:
        parts = []
        if self.explicit:
            parts.append("listed in pyramidion.addons")
        if self.required_by:
            parts.append("required by " + ", ".join(self.required_by))
        return "; ".join(parts)


@dataclass(frozen=True)
class Resolution:
    """The result of :func:`resolve_addons`: add-ons in include order."""

    addons: tuple[EnabledAddon, ...]
    #: Edges of the graph as (before, after, kind) with kind "requires" or
    #: "after": ``before`` is included before ``after``.
    edges: tuple[tuple[str, str, str], ...] = ()
    by_name: Mapping[str, EnabledAddon] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.addons)

    def __contains__(self, name: object) -> bool:
        return name in self.by_name

    def __getitem__(self, name: str) -> EnabledAddon:
        return self.by_name[name]

    def dependents(self, name: str) -> tuple[str, ...]:
        """Enabled add-ons that require ``name``, directly or not, sorted."""
        found: set[str] = set()
        frontier = [name]
        while frontier:
            current = frontier.pop()
            for enabled in self.addons:
                if current in enabled.addon.required_names and enabled.name not in found:
                    found.add(enabled.name)
                    frontier.append(enabled.name)
        return tuple(sorted(found))


def resolve_addons(
    requested: Iterable[str],
    installed: Mapping[str, Candidate],
    *,
    core_version: str,
    source: str = "pyramidion.addons",
) -> Resolution:
    """Resolve the requested add-on names against the installed ones.

    ``requested`` may be in any order and contain duplicates; the result is
    the same for every permutation.
    """
    wanted = sorted(set(requested))
    loaded: dict[str, Addon] = {}
    required_by: dict[str, set[str]] = {}

    for name in wanted:
        if name not in installed:
            raise _not_found(name, installed, source)

    frontier = list(wanted)
    while frontier:
        name = frontier.pop()
        if name in loaded:
            continue
        addon = installed[name].load()
        _check_core(addon, core_version)
        loaded[name] = addon
        for req in addon.requirements:
            if req.name not in installed:
                raise MissingRequirement(
                    f"add-on '{name}' ({addon.distribution}) requires add-on "
                    f"'{req.name}', which is not installed.{did_you_mean(req.name, installed)}\n"
                    f"Install the distribution that provides '{req.name}' "
                    f"(often pyramidion-{req.name.replace('_', '-')}), or remove "
                    f"'{name}' from {source}.\n"
                    f"Installed add-ons: {_listing(installed)}"
                )
            required_by.setdefault(req.name, set()).add(name)
            frontier.append(req.name)

    for name, addon in loaded.items():
        for req in addon.requirements:
            dep = loaded[req.name]
            if req.specifier and not _version_in(dep.version, req.specifier):
                raise VersionConflict(
                    f"add-on '{name}' requires {req.name}{req.specifier}, but "
                    f"'{req.name}' {dep.version} is installed (distribution "
                    f"{dep.distribution}).\nInstall a version of "
                    f"{dep.distribution} in {req.specifier}, or a version of "
                    f"{addon.distribution} that works with {req.name} {dep.version}."
                )

    edges: set[tuple[str, str, str]] = set()
    for name, addon in loaded.items():
        for required in addon.required_names:
            edges.add((required, name, "requires"))
        for before in addon.after:
            if before in loaded and (before, name, "requires") not in edges:
                edges.add((before, name, "after"))

    order = _toposort(sorted(loaded), sorted(edges))
    enabled = tuple(
        EnabledAddon(
            addon=loaded[name],
            explicit=name in wanted,
            required_by=tuple(sorted(required_by.get(name, ()))),
        )
        for name in order
    )
    return Resolution(
        addons=enabled,
        edges=tuple(sorted(edges)),
        by_name={e.name: e for e in enabled},
    )


def _toposort(nodes: Sequence[str], edges: Sequence[tuple[str, str, str]]) -> list[str]:
    """Kahn's algorithm with a heap, so ties resolve by name."""
    incoming: dict[str, set[str]] = {n: set() for n in nodes}
    outgoing: dict[str, set[str]] = {n: set() for n in nodes}
    for before, after, _kind in edges:
        incoming[after].add(before)
        outgoing[before].add(after)
    ready = [n for n in nodes if not incoming[n]]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for nxt in sorted(outgoing[node]):
            incoming[nxt].discard(node)
            if not incoming[nxt]:
                heapq.heappush(ready, nxt)
    if len(order) != len(nodes):
        remaining = sorted(set(nodes) - set(order))
        raise DependencyCycle(_describe_cycle(remaining, edges))
    return order


def _describe_cycle(remaining: Sequence[str], edges: Sequence[tuple[str, str, str]]) -> str:
    kinds = {(b, a): k for b, a, k in edges}
    # Follow "must come after" links backwards from the first stuck node
    # until a node repeats: that stretch is a cycle.
    needs: dict[str, list[str]] = {n: [] for n in remaining}
    for before, after, _kind in edges:
        if before in needs and after in needs:
            needs[after].append(before)
    path = [remaining[0]]
    while True:
        nxt = sorted(needs[path[-1]])[0]
        if nxt in path:
            cycle = [*path[path.index(nxt) :], nxt]
            break
        path.append(nxt)
    cycle.reverse()
    steps = []
    for before, after in itertools.pairwise(cycle):
        kind = kinds[(before, after)]
        verb = "is required by" if kind == "requires" else "must come before (after=)"
        steps.append(f"  '{before}' {verb} '{after}'")
    return (
        "the add-on graph has a cycle: "
        + " -> ".join(cycle)
        + "\n"
        + "\n".join(steps)
        + "\nBreak the cycle by removing one of these requires/after entries."
    )


def _check_core(addon: Addon, core_version: str) -> None:
    if addon.core and not _version_in(core_version, SpecifierSet(addon.core)):
        raise VersionConflict(
            f"add-on '{addon.name}' ({addon.distribution} {addon.version}) works "
            f"with Pyramidion {addon.core}, but Pyramidion {core_version} is "
            f"installed.\nInstall a version of {addon.distribution} made for "
            f"Pyramidion {core_version}, or a Pyramidion in {addon.core}."
        )


def _version_in(version: str, spec: SpecifierSet) -> bool:
    try:
        return spec.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return False


def _not_found(name: str, installed: Mapping[str, Candidate], source: str) -> AddonNotFound:
    return AddonNotFound(
        f"{source} names add-on '{name}', but no installed distribution "
        f"provides it.{did_you_mean(name, installed)}\n"
        f"Installed add-ons: {_listing(installed)}\n"
        f"Install the add-on's distribution (pip install ...) or correct the "
        f"name in {source}."
    )


def _listing(installed: Mapping[str, Candidate]) -> str:
    if not installed:
        return "(none)"
    return ", ".join(f"{c.name} ({c.distribution} {c.version})" for c in installed.values())
