"""The add-on contract: the descriptor an add-on publishes as an entry point.

An add-on is a distribution that declares an entry point in the group
``pyramidion.addons``; the entry point's name is the add-on's name and its
object is an :class:`Addon`::

    # pyproject.toml
    [project.entry-points."pyramidion.addons"]
    blog = "pyramidion_blog:addon"

    # pyramidion_blog/__init__.py
    addon = Addon(
        name="blog",
        includeme="pyramidion_blog.includeme",
        requires=("auth>=0.1",),
        settings=BlogSettings,
        models="pyramidion_blog.models",
        migrations="pyramidion_blog:migrations",
    )

Creating the descriptor does no work: the includeme, models module and
hooks are dotted names resolved only when the add-on is enabled.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import argparse

    from packaging.requirements import Requirement
    from pyramid.config import Configurator
    from pyramid.registry import Registry
    from pyramid.request import Request
    from sqlalchemy.orm import Session

__all__ = [
    "ADDON_NAME_PATTERN",
    "ENTRY_POINT_GROUP",
    "Addon",
    "Command",
    "CommandHandler",
    "DescriptorError",
    "LifecycleContext",
]

#: The entry-point group in which add-ons publish their descriptor.
ENTRY_POINT_GROUP = "pyramidion.addons"

#: Add-on names are lower-case identifiers, so that they work as ini
#: namespaces (``blog.key``), table prefixes (``blog_posts``), route-name
#: prefixes (``blog.post.edit``) and environment variables.
ADDON_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

#: Names an add-on cannot take because the core uses them.
RESERVED_NAMES = frozenset({"pyramidion", "pyramid", "sqlalchemy", "tm", "retry", "alembic"})


class DescriptorError(ValueError):
    """A descriptor field holds the wrong kind of value.

    Raised when the descriptor is created, that is when the add-on's module
    is imported; discovery reports it naming the add-on, the field and the
    fix, and only for applications that enable the add-on.
    """


_DOTTED = re.compile(r"^[A-Za-z_][\w.]*(:[A-Za-z_][\w.]*)?$")


def _check_callable(value: Any, field_name: str, *, optional: bool, what: str) -> None:
    """``value`` is a callable or a dotted name of one (or None when optional)."""
    if value is None and optional:
        return
    if isinstance(value, str):
        if not _DOTTED.match(value):
            raise DescriptorError(
                f"{field_name} = {value!r} is not a dotted name; write "
                f"'package.module:function' or pass {what} itself."
            )
        return
    if not callable(value):
        raise DescriptorError(
            f"{field_name} is a {type(value).__name__}; it must be {what} or its "
            "dotted name ('package.module:function')."
        )


def _check_names(value: Any, field_name: str) -> None:
    if isinstance(value, str) or not isinstance(value, tuple | list):
        raise DescriptorError(
            f"{field_name} = {value!r} must be a tuple of add-on names, such as "
            f"('auth',) (a trailing comma makes a one-item tuple)."
        )
    for item in value:
        if not isinstance(item, str):
            raise DescriptorError(
                f"{field_name} holds {item!r}, a {type(item).__name__}; write each "
                "add-on as a string such as 'auth>=0.1'."
            )


def _check_optional_str(value: Any, field_name: str, example: str) -> None:
    if value is not None and not isinstance(value, str):
        raise DescriptorError(
            f"{field_name} is a {type(value).__name__}; it must be a string such as "
            f"{example!r}, or left out."
        )


@dataclass(frozen=True)
class LifecycleContext:
    """What an install or uninstall hook receives.

    ``dbsession`` is joined to the transaction of the command that runs the
    hook: the hook never commits, and if it raises, nothing the command did
    (migrations included) is kept.
    """

    addon: Addon
    registry: Registry
    dbsession: Session
    settings: Any


class CommandHandler(Protocol):
    """Runs a command: receives the bootstrapped request and parsed args.

    The handler runs inside ``request.tm``; it returns the process exit
    code (``0`` or ``None`` for success).
    """

    def __call__(self, request: Request, args: argparse.Namespace) -> int | None: ...


@dataclass(frozen=True, kw_only=True)
class Command:
    """A subcommand an add-on contributes: ``pyramidion ADDON NAME ...``.

    ``arguments`` adds the command's own arguments to its parser; the core
    adds the ``CONFIG`` positional (and ``-v``) first, so every command
    reads ``pyramidion ADDON NAME CONFIG [ARGS...]``. ``handler`` and
    ``arguments`` are each a function or its dotted name
    (``"pkg.commands:store"``), resolved only when the command is used.
    """

    name: str
    help: str
    handler: CommandHandler | str
    arguments: Callable[[argparse.ArgumentParser], None] | str | None = None
    #: Whether the core wraps the handler in ``request.tm``. Commands that
    #: manage their own transactions (rare) set this to False.
    transactional: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not re.fullmatch(r"[a-z][a-z0-9_-]*", self.name):
            raise DescriptorError(
                f"Command(name={self.name!r}): a command name is a lower-case word "
                "such as 'list-users'."
            )
        where = f"Command {self.name!r}"
        if not isinstance(self.help, str):
            raise DescriptorError(f"{where}: help must be a one-line string.")
        _check_callable(
            self.handler, f"{where}: handler", optional=False, what="a function (request, args)"
        )
        _check_callable(
            self.arguments,
            f"{where}: arguments",
            optional=True,
            what="a function that adds arguments to an argparse parser",
        )
        if not isinstance(self.transactional, bool):
            raise DescriptorError(f"{where}: transactional must be True or False.")


@dataclass(frozen=True, kw_only=True)
class Addon:
    """The descriptor of an add-on. Immutable; compare and hash by value.

    ``version`` and ``distribution`` are filled in from the distribution's
    metadata when the add-on is discovered; add-on authors leave them out.
    """

    #: The word integrators write in ``pyramidion.addons``.
    name: str
    #: Dotted name (``"pkg.includeme"`` or ``"pkg:includeme"``) or callable
    #: that wires the add-on into a Configurator.
    includeme: str | Callable[[Configurator], None]
    #: One-line description shown by ``pyramidion addons list``.
    title: str = ""
    #: Other add-ons this one needs, each with an optional version range in
    #: PEP 440 form: ``("auth", "forms>=0.2,<1")``. They are enabled
    #: automatically and included before this add-on.
    requires: tuple[str, ...] = ()
    #: Add-ons that, when enabled, should be included before this one; no
    #: requirement is implied.
    after: tuple[str, ...] = ()
    #: A dataclass whose fields are declared with :func:`pyramidion.settings.setting`;
    #: read from ``NAME.field`` keys.
    settings: type[Any] | None = None
    #: Dotted name of the module that defines the add-on's models on
    #: :data:`pyramidion.db.Base`. Its tables must be named ``NAME_...``.
    models: str | None = None
    #: Asset spec of the directory holding the add-on's Alembic revisions
    #: (one branch labelled with the add-on's name).
    migrations: str | None = None
    #: Where the add-on's routes live unless the ini sets ``NAME.route_prefix``.
    #: ``None`` means ``/NAME``; ``""`` mounts the routes at the site root.
    route_prefix: str | None = None
    #: Called inside the transaction of ``pyramidion addons install`` (and
    #: of ``pyramidion db upgrade`` the first time) to seed data.
    install: str | Callable[[LifecycleContext], None] | None = None
    #: Called before the add-on's tables are dropped by ``pyramidion addons
    #: uninstall``, to remove what it owns outside its tables.
    uninstall: str | Callable[[LifecycleContext], None] | None = None
    #: Subcommands contributed to ``pyramidion NAME ...``.
    commands: tuple[Command, ...] = ()
    #: The range of Pyramidion core versions the add-on works with.
    core: str = ""
    #: Filled in at discovery from the distribution's metadata.
    version: str = "0"
    distribution: str = ""
    #: Free-form extra metadata for tools; not interpreted by the core.
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def __post_init__(self) -> None:
        if not ADDON_NAME_PATTERN.match(self.name):
            raise ValueError(
                f"add-on name {self.name!r} is not valid: use a lower-case "
                "identifier of at most 40 characters (letters, digits, '_'), "
                "starting with a letter"
            )
        if self.name in RESERVED_NAMES:
            raise ValueError(f"add-on name {self.name!r} is reserved by the core")
        self._check_fields()
        for spec in self.requires:
            parse_requirement(spec, owner=self.name)
        if self.core:
            from packaging.specifiers import InvalidSpecifier, SpecifierSet

            try:
                SpecifierSet(self.core)
            except InvalidSpecifier as exc:
                raise ValueError(
                    f"add-on {self.name!r} declares core={self.core!r}, "
                    f"which is not a version range: {exc}"
                ) from None

    def _check_fields(self) -> None:
        """Each field holds the kind of value it documents."""
        _check_callable(self.includeme, "includeme", optional=False, what="a function (config)")
        _check_names(self.requires, "requires")
        _check_names(self.after, "after")
        if not isinstance(self.title, str):
            raise DescriptorError(f"title is a {type(self.title).__name__}; write one line.")
        if self.settings is not None and not (
            isinstance(self.settings, type) and dataclasses.is_dataclass(self.settings)
        ):
            raise DescriptorError(
                f"settings is {self.settings!r}; it must be a @dataclass class whose "
                "fields use pyramidion.setting(), or left out."
            )
        _check_optional_str(self.models, "models", "my_addon.models")
        _check_optional_str(self.migrations, "migrations", "my_addon:migrations")
        _check_optional_str(self.route_prefix, "route_prefix", "/my_addon")
        if self.route_prefix and not self.route_prefix.startswith("/"):
            raise DescriptorError(
                f"route_prefix = {self.route_prefix!r} must start with '/', as in "
                f"'/{self.route_prefix}' ('' mounts the routes at the site root)."
            )
        for hook in ("install", "uninstall"):
            _check_callable(getattr(self, hook), hook, optional=True, what="a function (context)")
        if not isinstance(self.commands, tuple | list) or not all(
            isinstance(c, Command) for c in self.commands
        ):
            raise DescriptorError(
                "commands must be a tuple of pyramidion.Command(...) entries, such as "
                "(Command(name='gc', help='...', handler='my_addon.commands:gc'),)."
            )
        if not isinstance(self.core, str):
            raise DescriptorError(f"core = {self.core!r} must be a version range string.")

    @property
    def requirements(self) -> tuple[Requirement, ...]:
        """The parsed ``requires`` entries."""
        return tuple(parse_requirement(spec, owner=self.name) for spec in self.requires)

    @property
    def required_names(self) -> tuple[str, ...]:
        return tuple(req.name for req in self.requirements)

    @property
    def package(self) -> str:
        """The top-level package the add-on's code lives in."""
        target = self.includeme
        if callable(target):
            module = target.__module__
        else:
            module = target.replace(":", ".").rsplit(".", 1)[0]
        return module.split(".", 1)[0]

    def prefix(self, override: str | None = None) -> str:
        """The route prefix to include the add-on with."""
        prefix = override if override is not None else self.route_prefix
        if prefix is None:
            prefix = f"/{self.name}"
        return prefix.rstrip("/")


def parse_requirement(spec: str, *, owner: str) -> Requirement:
    """Parse one ``requires`` entry, with an error naming its owner."""
    # packaging is imported here, by the first descriptor that declares a
    # requirement, so that ``import pyramidion`` alone stays small.
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        req = Requirement(spec)
    except InvalidRequirement as exc:
        raise ValueError(
            f"add-on {owner!r} has an invalid requirement {spec!r}: {exc}. "
            "Write a name and an optional range, such as 'auth>=0.1,<1'."
        ) from None
    if req.extras or req.marker or req.url:
        raise ValueError(
            f"add-on {owner!r} requirement {spec!r} may only name an add-on and a version range"
        )
    return req
