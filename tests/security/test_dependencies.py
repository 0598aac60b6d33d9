"""No dependency with a published advisory, without needing the network.

``pip-audit`` (in the dev extra) asks PyPI's API and needs the network;
this is the offline equivalent for the advisories that concern this
stack: every installed release is at least the one that fixed them, and
pyproject.toml's lower bounds exclude the affected releases of the
packages that face the network.
"""

from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

#: package -> (first fixed release, advisories it fixed)
ADVISORIES = {
    "pyramid": ("2.0.2", "CVE-2023-40587 static view path traversal"),
    "waitress": ("3.0.1", "CVE-2024-49768 request smuggling, CVE-2024-49769 DoS"),
    "webob": ("1.8.8", "CVE-2024-42353 open redirect in Location"),
    "mako": ("1.2.2", "CVE-2022-40023 lexer ReDoS"),
    "jinja2": ("3.1.6", "CVE-2024-56201, CVE-2024-56326, CVE-2025-27516 sandbox escapes"),
    "werkzeug": ("3.0.6", "CVE-2024-49767 multipart memory exhaustion"),
    "flask": ("3.1.1", "CVE-2025-47278 signing key fallback"),
    "requests": ("2.32.4", "CVE-2024-35195, CVE-2024-47081 credential leaks"),
    "urllib3": ("2.5.0", "CVE-2025-50181, CVE-2025-50182 redirect control"),
    "idna": ("3.7", "CVE-2024-3651 encode() DoS"),
    "certifi": ("2024.7.4", "CVE-2024-39689 GLOBALTRUST roots"),
    "cryptography": ("44.0.1", "CVE-2024-12797 OpenSSL in wheels"),
    "setuptools": ("78.1.1", "CVE-2024-6345, CVE-2025-47273 path traversal"),
}

#: The network-facing packages whose lower bounds pyproject.toml must raise.
BOUNDED = ("pyramid", "waitress", "webob")


@pytest.mark.parametrize("package", sorted(ADVISORIES))
def test_installed_release_is_not_affected(package: str) -> None:
    fixed, advisories = ADVISORIES[package]
    try:
        installed = version(package)
    except PackageNotFoundError:
        pytest.skip(f"{package} is not installed")
    assert Version(installed) >= Version(fixed), f"{package} {installed}: {advisories}"


def _declared() -> dict[str, Requirement]:
    project = tomllib.loads(Path("pyproject.toml").read_text())["project"]
    requirements = [Requirement(r) for r in project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        requirements += [Requirement(r) for r in extra if not r.startswith("pyramidion")]
    return {r.name.lower(): r for r in requirements}


@pytest.mark.parametrize("package", [*BOUNDED, "setuptools", "flask"])
def test_lower_bounds_exclude_affected_releases(package: str) -> None:
    fixed, advisories = ADVISORIES[package]
    requirement = _declared()[package]
    # The lowest release the specifier allows is at least the fixed one:
    # the fixed release is allowed and the last affected one is not.
    assert requirement.specifier.contains(fixed), f"{requirement} refuses the fix"
    release = Version(fixed).release
    last_affected = (*release[:-1], release[-1] - 1)
    affected = ".".join(str(n) for n in last_affected)
    assert not requirement.specifier.contains(affected), f"{requirement} allows {advisories}"
