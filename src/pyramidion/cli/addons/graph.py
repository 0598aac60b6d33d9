"""``pyramidion addons graph``: the add-on dependency graph, as text or DOT."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ...resolve import Resolution

__all__ = ["graph_dot", "graph_text"]


def graph_text(resolution: Resolution) -> str:
    """A tree per top-level add-on: what each requires, and its ``after``."""
    if not resolution.addons:
        return "No add-ons are enabled."
    requires: dict[str, list[str]] = {n: [] for n in resolution.names}
    after: dict[str, list[str]] = {n: [] for n in resolution.names}
    for before, later, kind in resolution.edges:
        (requires if kind == "requires" else after)[later].append(before)
    required = {before for before, _later, kind in resolution.edges if kind == "requires"}
    roots = [n for n in resolution.names if n not in required]
    lines: list[str] = []
    shown: set[str] = set()

    def label(name: str) -> str:
        e = resolution[name]
        how = "listed" if e.explicit else "pulled in"
        return f"{name} {e.addon.version} [{how}]"

    def walk(name: str, prefix: str) -> None:
        children = [("requires", n) for n in sorted(requires[name])] + [
            ("after", n) for n in sorted(after[name])
        ]
        for i, (kind, child) in enumerate(children):
            last = i == len(children) - 1
            branch = "└── " if last else "├── "
            if kind == "after":
                lines.append(f"{prefix}{branch}after {child} (order only)")
                continue
            repeat = child in shown and bool(requires[child])
            lines.append(
                f"{prefix}{branch}requires {label(child)}{' (see above)' if repeat else ''}"
            )
            if not repeat:
                shown.add(child)
                walk(child, prefix + ("    " if last else "│   "))

    for root in sorted(roots):
        lines.append(label(root))
        shown.add(root)
        walk(root, "")
    lines.append("")
    lines.append("Include order: " + ", ".join(resolution.names))
    lines.append(
        "[listed] = named in pyramidion.addons; [pulled in] = required by another add-on."
    )
    return "\n".join(lines)


def graph_dot(resolution: Resolution) -> str:
    """The graph in Graphviz DOT: an arrow points from an add-on to one it
    needs; solid arrows are ``requires``, dashed ones ``after``."""
    lines = [
        "digraph pyramidion_addons {",
        "  // Boxes with a bold border are listed in pyramidion.addons; dashed",
        "  // boxes were pulled in by a requirement. Solid arrows: requires;",
        "  // dashed arrows: after (include order only).",
        "  rankdir=LR;",
        '  node [shape=box, fontname="sans-serif"];',
    ]
    for e in resolution.addons:
        style = "style=bold" if e.explicit else "style=dashed"
        lines.append(
            f"  {_dot_id(e.name)} [label={_dot_id(e.name + chr(10) + e.addon.version)}, {style}];"
        )
    for before, later, kind in resolution.edges:
        attrs = 'label="requires"' if kind == "requires" else 'label="after", style=dashed'
        lines.append(f"  {_dot_id(later)} -> {_dot_id(before)} [{attrs}];")
    lines.append("}")
    return "\n".join(lines)


def _dot_id(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
