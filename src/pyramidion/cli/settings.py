"""``pyramidion settings``: every setting of the core and the add-ons.

With CONFIG, the settings of the core and of each add-on that ini enables,
with their current values (secrets masked) and where each value came from.
With ``--all-installed``, the settings of every installed add-on, without
values; ``--format markdown`` turns either into the page of the docs that
lists every setting, so the page is generated rather than kept by hand.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..discovery import discover_addons
from ..errors import CommandError
from ..settings import MASK, CoreSettings, describe_settings, env_name, format_value
from ..state import app_state
from . import bootstrap_app

if TYPE_CHECKING:
    from pyramid.registry import Registry

    from ..addon import Addon

__all__ = [
    "CORE_NAMESPACE",
    "SettingRow",
    "SettingsSection",
    "app_settings",
    "format_markdown",
    "format_text",
    "installed_settings",
    "register",
    "run",
]

CORE_NAMESPACE = "pyramidion"


@dataclass(frozen=True)
class SettingRow:
    key: str
    type: str
    #: The default as people write it in an ini; masked for secrets.
    default: str
    required: bool
    secret: bool
    env: str
    doc: str
    #: The value in use (masked for secrets); None when no app was loaded.
    current: str | None = None
    #: "ini", "default" or the environment variable the value came from.
    source: str | None = None


@dataclass(frozen=True)
class SettingsSection:
    """The settings of one namespace: the core's or one add-on's."""

    namespace: str
    title: str
    rows: tuple[SettingRow, ...]


def app_settings(registry: Registry) -> list[SettingsSection]:
    """The settings of a loaded app: the core's, then each enabled add-on's
    in include order, with the values in use."""

    state = app_state(registry)
    raw = registry.settings
    sections = [
        _section(
            CORE_NAMESPACE,
            "Pyramidion core",
            CoreSettings,
            None,
            parsed=state.core,
            raw=raw,
            env_overrides=state.env_overrides,
        )
    ]
    for enabled in state.resolution.addons:
        addon = enabled.addon
        sections.append(
            _section(
                addon.name,
                _addon_title(addon),
                addon.settings,
                addon,
                parsed=state.settings.get(addon.name),
                raw=raw,
                env_overrides=state.env_overrides,
                route_prefix=state.route_prefixes.get(addon.name),
            )
        )
    return sections


def installed_settings() -> list[SettingsSection]:
    """The settings of the core and of every installed add-on, without values.

    Every installed add-on is imported; one that fails to import stops the
    listing with its error, so generated documentation is never silently
    incomplete.
    """

    sections = [_section(CORE_NAMESPACE, "Pyramidion core", CoreSettings, None)]
    for candidate in discover_addons().values():
        addon = candidate.load()
        sections.append(_section(addon.name, _addon_title(addon), addon.settings, addon))
    return sections


def _addon_title(addon: Addon) -> str:
    title = f"Add-on {addon.name} ({addon.distribution} {addon.version})"
    return f"{title}: {addon.title}" if addon.title else title


def _section(
    namespace: str,
    title: str,
    cls: type[Any] | None,
    addon: Addon | None,
    *,
    parsed: Any = None,
    raw: Mapping[str, Any] | None = None,
    env_overrides: Mapping[str, str] | None = None,
    route_prefix: str | None = None,
) -> SettingsSection:
    described = describe_settings(cls, namespace) if cls is not None else []
    rows = []
    for d in described:
        name = d["key"][len(namespace) + 1 :]
        current = source = None
        if raw is not None:
            current = format_value(getattr(parsed, name, None), secret=d["secret"])
            source = _source(d["key"], raw, env_overrides or {})
        rows.append(
            SettingRow(
                key=d["key"],
                type=d["type"],
                default="" if d["required"] else _default_text(d["default"], secret=d["secret"]),
                required=d["required"],
                secret=d["secret"],
                env=d["env"],
                doc=d["doc"],
                current=current,
                source=source,
            )
        )
    if addon is not None:
        # Every add-on accepts NAME.route_prefix; the core reads it, so it
        # is not on the add-on's own settings class.
        key = f"{namespace}.route_prefix"
        rows.append(
            SettingRow(
                key=key,
                type="str",
                default=addon.prefix() or "/",
                required=False,
                secret=False,
                env=env_name(key),
                doc="Where the add-on's routes are mounted; '' or '/' mounts them "
                "at the site root.",
                current=route_prefix if raw is not None else None,
                source=_source(key, raw, env_overrides or {}) if raw is not None else None,
            )
        )
    return SettingsSection(namespace=namespace, title=title, rows=tuple(rows))


def _default_text(value: Any, *, secret: bool) -> str:
    if secret and value:
        return MASK
    return format_value(value, secret=False)


def _source(key: str, raw: Mapping[str, Any], env_overrides: Mapping[str, str]) -> str:
    if key in env_overrides:
        return env_overrides[key]
    return "ini" if key in raw else "default"


# -- output -------------------------------------------------------------------


def format_text(sections: Iterable[SettingsSection]) -> str:
    """One block per setting, grouped by namespace."""
    lines: list[str] = []
    for section in sections:
        if lines:
            lines.append("")
        lines.append(section.title)
        if not section.rows:
            lines.append("  (no settings)")
        for row in section.rows:
            lines.append("")
            flags = (
                [row.type]
                + (["required"] if row.required else [])
                + (["secret"] if row.secret else [])
            )
            lines.append(f"  {row.key}  ({', '.join(flags)})")
            if not row.required:
                lines.append(f"    default: {row.default or '(empty)'}")
            if row.current is not None:
                where = "" if row.source in (None, "default") else f"  [from {row.source}]"
                lines.append(f"    current: {row.current or '(empty)'}{where}")
            lines.append(f"    env:     {row.env}")
            if row.doc:
                lines.append(f"    {row.doc}")
    return "\n".join(lines)


def format_markdown(sections: Iterable[SettingsSection]) -> str:
    """A Markdown page with one table per namespace.

    Current values are left out on purpose: the page documents the
    settings, not one deployment.
    """
    lines = [
        "# Settings",
        "",
        "<!-- Generated by `pyramidion settings --format markdown`; do not edit by hand. -->",
        "",
        "Every setting can be written in the `[app:main]` section of the ini "
        "file or given as the environment variable shown, which wins over the "
        "ini. Secrets are marked; `pyramidion check` warns when one is empty, "
        "left at its default or short.",
    ]
    for section in sections:
        lines += ["", f"## {_md(section.title)}", ""]
        if not section.rows:
            lines.append("This add-on has no settings.")
            continue
        lines.append("| Setting | Type | Default | Environment variable | Description |")
        lines.append("| --- | --- | --- | --- | --- |")
        for row in section.rows:
            if row.required:
                default = "*required*"
            elif row.default:
                default = f"`{_md(row.default)}`"
            else:
                default = "*empty*"
            doc = _md(row.doc) + (" *(secret)*" if row.secret else "")
            lines.append(f"| `{row.key}` | `{_md(row.type)}` | {default} | `{row.env}` | {doc} |")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """Make text safe inside a Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


# -- command ------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    if args.all_installed == (args.config is not None):
        raise CommandError(
            "give either CONFIG (the settings of the app that ini configures, "
            "with their values) or --all-installed (the settings of every "
            "installed add-on), not both and not neither."
        )
    if args.all_installed:
        sections = installed_settings()
    else:
        with bootstrap_app(args.config) as env:
            sections = app_settings(env.registry)
    if args.format == "markdown":
        print(format_markdown(sections), end="")
    else:
        print(format_text(sections))
    return 0


def register(groups: Any) -> None:
    parser = groups.add_parser(
        "settings",
        help="every setting of the core and the add-ons, with current values",
        description="Describe every setting of the core (pyramidion.*) and of "
        "each add-on CONFIG enables: key, type, default, current value and where "
        "it came from (ini, default or an environment variable), the "
        "environment variable that overrides it, and what it does. Secret "
        "values are shown masked. With --all-installed instead of CONFIG, "
        "describe the settings of every installed add-on, without values.",
        epilog="`pyramidion settings --all-installed --format markdown > "
        "docs/settings.md` regenerates the settings page of the docs.",
    )
    parser.add_argument(
        "config",
        metavar="CONFIG",
        nargs="?",
        help="the application's ini file (leave out with --all-installed)",
    )
    parser.add_argument(
        "--all-installed",
        action="store_true",
        help="describe every installed add-on's settings, without loading an app",
    )
    parser.add_argument(
        "--format",
        choices=("text", "markdown"),
        default="text",
        help="output format (default: text); markdown leaves out current values",
    )
    parser.set_defaults(handler=run)
