"""Errors that stop start-up or a command with a message written for people.

Every error here carries a complete explanation in its message: what went
wrong, where (which add-on, setting, file) and what to do about it. The app
factory and the ``pyramidion`` command print the message alone, never a
traceback.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "AddonConflict",
    "AddonError",
    "AddonImportError",
    "AddonNotFound",
    "CommandError",
    "ConfigurationError",
    "DatabaseError",
    "DependencyCycle",
    "MissingRequirement",
    "PyramidionError",
    "SettingsError",
    "VersionConflict",
    "close_matches",
    "did_you_mean",
]


class PyramidionError(Exception):
    """Base class for every error Pyramidion reports to a person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigurationError(PyramidionError):
    """The ini file, the environment or an add-on's configuration is wrong."""


class AddonError(ConfigurationError):
    """Base class for add-on discovery and resolution errors."""


class AddonNotFound(AddonError):
    """A name in ``pyramidion.addons`` matches no installed add-on."""


class MissingRequirement(AddonError):
    """An enabled add-on requires an add-on that is not installed."""


class DependencyCycle(AddonError):
    """The add-on graph has a cycle, so no order satisfies it."""


class VersionConflict(AddonError):
    """An installed version falls outside a range that someone requires."""


class AddonImportError(AddonError):
    """An add-on's entry point could not be imported or is not a descriptor."""


class AddonConflict(AddonError):
    """Two add-ons claim the same route name, traversal name or table."""


class SettingsError(ConfigurationError):
    """One or more settings are missing, unknown or malformed."""


class DatabaseError(PyramidionError):
    """The database is unreachable or not in the state a command needs."""


class CommandError(PyramidionError):
    """A command was called in a way that cannot work."""


def close_matches(word: str, candidates: Iterable[str]) -> list[str]:
    """Return the candidates that look like a misspelling of ``word``."""
    import difflib

    return difflib.get_close_matches(word, sorted(set(candidates)), n=3, cutoff=0.6)


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` or an empty string."""
    matches = close_matches(word, candidates)
    if not matches:
        return ""
    quoted = " or ".join(f"'{m}'" for m in matches)
    return f" Did you mean {quoted}?"
