"""``pyramidion new addon|app NAME``: start an add-on or an application.

The files come from cookiecutter templates shipped in
``pyramidion/scaffolds/`` (``addon/`` and ``app/``); :func:`generate_addon`
and :func:`generate_app` fill them in with values computed here, so the
templates need no prompts and no hooks. Nothing is written when a name or
the target directory is refused.
"""

from __future__ import annotations

import argparse
import importlib.util
import secrets
from collections.abc import Iterable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ..addon import ADDON_NAME_PATTERN, RESERVED_NAMES
from ..discovery import discover_addons
from ..errors import CommandError

__all__ = [
    "DEFAULT_APP_ADDONS",
    "NAME_RULE",
    "SCAFFOLDS",
    "check_addon_name",
    "check_name",
    "generate_addon",
    "generate_app",
    "parse_addon_list",
    "register",
    "run_addon",
    "run_app",
]

#: Where the cookiecutter templates live inside the package.
SCAFFOLDS = Path(__file__).resolve().parent.parent / "scaffolds"

#: What ``pyramidion new app`` enables unless ``--addons`` says otherwise.
DEFAULT_APP_ADDONS = ("auth", "forms", "storage")

NAME_RULE = (
    "use a lower-case identifier of at most 40 characters (letters, digits, "
    "'_'), starting with a letter, such as 'blog' or 'field_notes'"
)


# -- plain functions -------------------------------------------------------------


def generate_addon(name: str, directory: Path | None = None) -> Path:
    """Write a new add-on distribution named ``name`` and return its directory.

    ``directory`` is the directory to create (``./pyramidion-NAME`` when
    None); it must not exist. The add-on is importable as package
    ``pyramidion_NAME`` once installed, requires ``forms``, and comes with a
    model, its first migration, settings, a page, a form and tests.
    Raises :class:`CommandError` for a name that cannot be an add-on's (not
    a lower-case identifier, reserved by the core, or already taken by an
    installed add-on or package) or a directory that exists.
    """
    check_addon_name(name)
    distribution = _distribution(name)
    target = _target(directory, default=distribution)
    context = {
        "directory": target.name,
        "name": name,
        "package": f"pyramidion_{name}",
        "distribution": distribution,
        "title": name.replace("_", " ").capitalize(),
        "class_prefix": "".join(part.capitalize() for part in name.split("_")),
        # Alembic's own revision ids are 12 hex digits.
        "revision": secrets.token_hex(6),
        # Version specifiers of the releases this add-on is written against.
        "core_range": compatible_range(_version("pyramidion-core")),
        "forms_range": compatible_range(_version("pyramidion-forms")),
    }
    return _render("addon", context, target)


def generate_app(
    name: str, directory: Path | None = None, addons: Sequence[str] = DEFAULT_APP_ADDONS
) -> Path:
    """Write a new application project named ``name``; return its directory.

    ``directory`` is the directory to create (``./NAME`` when None); it
    must not exist. Its ``development.ini`` and ``production.ini`` enable
    ``addons``, and ``requirements.txt`` names the core
    (``pyramidion-core[postgresql]``) and their distributions: the
    installed distribution for an installed add-on, ``pyramidion-NAME``
    (the bundled add-ons' convention) otherwise. Each is pinned to the
    release series installed here (see :func:`compatible_range`), or to the
    core's series for an add-on that is not installed.
    """
    check_name(name, what="application")
    wanted = list(dict.fromkeys(addons))
    for addon in wanted:
        check_name(addon, what="add-on")
        if addon in RESERVED_NAMES:
            raise CommandError(
                f"'{addon}' in --addons is a name the core reserves, not an add-on; "
                "leave it out (the core is always enabled)."
            )
    target = _target(directory, default=name)
    installed = _installed_distributions()
    core_range = compatible_range(_version("pyramidion-core"))
    requirements = [f"pyramidion-core[postgresql]{core_range}"]
    for addon in wanted:
        distribution = installed.get(addon)
        if distribution is None:
            requirements.append(_distribution(addon) + core_range)
        else:
            requirements.append(distribution + compatible_range(_version(distribution)))
    context = {
        "directory": target.name,
        "name": name,
        "addons": " ".join(wanted),
        "requirements": "\n".join(dict.fromkeys(requirements)),
    }
    return _render("app", context, target)


def check_name(name: str, *, what: str) -> None:
    """Refuse a name that is not a lower-case identifier."""
    if not ADDON_NAME_PATTERN.match(name):
        raise CommandError(f"{what} name {name!r} is not valid: {NAME_RULE}.")


def check_addon_name(name: str) -> None:
    """Refuse a name that cannot be a new add-on's."""
    check_name(name, what="add-on")
    if name in RESERVED_NAMES:
        raise CommandError(
            f"add-on name {name!r} is reserved: the core uses these names for its "
            f"own settings and tables ({', '.join(sorted(RESERVED_NAMES))}); choose another."
        )
    owner = _installed_distributions().get(name)
    if owner is not None:
        raise CommandError(
            f"an add-on named {name!r} is already installed (distribution {owner}); "
            "two add-ons cannot share a name, so choose another."
        )
    package = f"pyramidion_{name}"
    if importlib.util.find_spec(package) is not None:
        raise CommandError(
            f"a package named {package!r} is already importable here, so the new "
            "add-on's package would clash with it; choose another name."
        )


def parse_addon_list(text: str) -> list[str]:
    """``auth,storage`` (commas and/or spaces) as a list of names."""
    return [word for word in text.replace(",", " ").split() if word]


def _target(directory: Path | None, *, default: str) -> Path:
    target = (Path.cwd() / default) if directory is None else directory
    target = target.expanduser().absolute()
    if target.exists():
        kind = "directory" if target.is_dir() else "file"
        raise CommandError(
            f"{target} already exists ({kind}); nothing was written. Choose "
            "another place with --directory, or move it out of the way."
        )
    return target


def _render(template: str, context: dict[str, Any], target: Path) -> Path:
    # cookiecutter's high-level cookiecutter() would prompt, read the user's
    # ~/.cookiecutterrc and write a replay file into the home directory; the
    # two functions below only render the template with our values.
    try:
        from cookiecutter.exceptions import CookiecutterException  # type: ignore[import-untyped]
        from cookiecutter.generate import (  # type: ignore[import-untyped]
            generate_context,
            generate_files,
        )
    except ModuleNotFoundError as exc:
        raise CommandError(
            f"'pyramidion new' needs the scaffold extra, which is not installed ({exc.name} "
            "is missing): pip install 'pyramidion-core[scaffold]'"
        ) from exc

    source = SCAFFOLDS / template
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        full = generate_context(
            context_file=str(source / "cookiecutter.json"), extra_context=context
        )
        created = generate_files(
            repo_dir=str(source), context=full, output_dir=str(target.parent), accept_hooks=False
        )
    except (OSError, CookiecutterException) as exc:
        raise CommandError(f"could not write {target}: {exc}") from exc
    return Path(created)


def _distribution(name: str) -> str:
    """The distribution name an add-on gets by convention: ``pyramidion-NAME``."""
    return "pyramidion-" + name.replace("_", "-")


def _installed_distributions() -> dict[str, str]:
    """Installed add-on names mapped to their distribution's name."""

    return {name: candidate.distribution for name, candidate in discover_addons().items()}


def compatible_range(release: str) -> str:
    """The releases compatible with ``release``, as a version specifier.

    From its ``MAJOR.MINOR`` up to the next release that may break: the
    next minor release before 1.0 (``0.1.3`` gives ``>=0.1,<0.2``), the
    next major one after (``2.4.0`` gives ``>=2.4,<3``).
    """
    from packaging.version import Version

    major, minor = (*Version(release).release, 0)[:2]
    upper = f"0.{minor + 1}" if major == 0 else str(major + 1)
    return f">={major}.{minor},<{upper}"


def _version(distribution: str) -> str:
    """The installed version of ``distribution``; the core's when not installed."""
    try:
        return version(distribution)
    except PackageNotFoundError:
        return version("pyramidion-core")


# -- handlers ------------------------------------------------------------------


def run_addon(args: argparse.Namespace) -> int:
    target = generate_addon(args.name, args.directory)
    package = f"pyramidion_{args.name}"
    print(f"Created the add-on '{args.name}' (package {package}) in {target}.")
    print("Next:")
    for line in _next_steps_addon(target, args.name):
        print(f"  {line}")
    return 0


def run_app(args: argparse.Namespace) -> int:
    addons = parse_addon_list(args.addons)
    target = generate_app(args.name, args.directory, addons)
    enabled = ", ".join(addons) if addons else "no add-ons"
    print(f"Created the application '{args.name}' ({enabled}) in {target}.")
    installed = _installed_distributions()
    for addon in addons:
        if addon not in installed:
            print(
                f"The add-on '{addon}' is not installed here, so requirements.txt "
                f"guesses its distribution: {_distribution(addon)}. Correct it if needed."
            )
    print(f"Next: see {target / 'README.md'} (set up and serve in one command).")
    return 0


def _next_steps_addon(target: Path, name: str) -> Iterable[str]:
    yield f"pip install -e '{target}[testing]'"
    yield f"add '{name}' to pyramidion.addons in your ini, then: pyramidion db upgrade CONFIG"
    yield f"cd {target} && pytest"


def register(groups: Any) -> None:
    group = groups.add_parser(
        "new",
        help="start a new add-on or application from a template",
        description="Generate the files of a new add-on distribution or of an "
        "application project (cookiecutter templates shipped with Pyramidion). "
        "No ini file is needed.",
    )
    commands = group.add_subparsers(dest="command", metavar="KIND")
    commands.required = True

    sub = commands.add_parser(
        "addon",
        help="an add-on distribution: model, migration, settings, page, form and tests",
        description="Create an add-on distribution 'pyramidion-NAME' ('_' "
        "becomes '-'; package pyramidion_NAME, entry point NAME) that requires "
        "the forms add-on: a model with its table NAME_items and the first revision of the "
        "migration branch NAME, a settings dataclass, a list page in the forms "
        "layout, a FormView that adds items, and tests that use Pyramidion's "
        "test kit. After 'pip install -e DIR', add NAME to pyramidion.addons "
        "and run 'pyramidion db upgrade CONFIG'.",
        epilog="Exit status: 0 when created, 2 when the name or directory is "
        "refused (nothing is written then).",
    )
    sub.add_argument("name", metavar="NAME", help="the add-on's name: a lower-case identifier")
    sub.add_argument(
        "--directory",
        metavar="DIR",
        type=Path,
        help="the directory to create (default: ./pyramidion-NAME); it must not exist",
    )
    sub.set_defaults(handler=run_addon)

    sub = commands.add_parser(
        "app",
        help="an application project: ini files, requirements, README",
        description="Create an application project: development.ini (SQLite "
        "under var/) and production.ini (PostgreSQL) enabling the chosen "
        "add-ons, requirements.txt naming their distributions, a README with "
        "the commands to set up, serve and check, and a .gitignore.",
        epilog="Exit status: 0 when created, 2 when a name or the directory is "
        "refused (nothing is written then).",
    )
    sub.add_argument(
        "name", metavar="NAME", help="the application's name: a lower-case identifier"
    )
    sub.add_argument(
        "--directory",
        metavar="DIR",
        type=Path,
        help="the directory to create (default: ./NAME); it must not exist",
    )
    sub.add_argument(
        "--addons",
        metavar="NAMES",
        default=",".join(DEFAULT_APP_ADDONS),
        help="add-ons to enable, separated by commas (default: %(default)s; '' for none)",
    )
    sub.set_defaults(handler=run_app)
