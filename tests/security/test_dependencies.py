"""No dependency with a published advisory: the installed set and our bounds.

``pip-audit`` (in the dev extra) asks the Python Packaging Advisory
Database, through PyPI's JSON API, about every installed distribution, and
about the lowest release that each of the core's requirements allows (so a
lower bound never lets an affected release in). It needs that service:
without it, or without pip-audit, these tests are skipped and say why.
The distributions of this checkout are not on the index and are left out.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
from importlib.metadata import distributions
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

CHECKOUT = Path(__file__).resolve().parent.parent.parent

#: A release whose advisories PyPI's JSON API lists; answering for it is
#: what "the advisory service is reachable" means here.
PROBE = "https://pypi.org/pypi/pyramid/2.0.1/json"


def local_distributions() -> set[str]:
    """This checkout's distributions: the core and the bundled add-ons."""
    paths = [CHECKOUT / "pyproject.toml", *CHECKOUT.glob("addons/*/pyproject.toml")]
    return {canonicalize_name(tomllib.loads(p.read_text())["project"]["name"]) for p in paths}


@pytest.fixture(scope="module")
def advisory_service() -> None:
    """Skip unless pip-audit is installed and PyPI's advisories can be read."""
    if find_spec("pip_audit") is None:
        pytest.skip("pip-audit is not installed: pip install -e '.[dev]' (make install)")
    try:
        with urllib.request.urlopen(PROBE, timeout=10) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as exc:
        exc.close()
        pytest.skip(f"the advisory service is not reachable ({PROBE}: {exc})")
    except (OSError, ValueError) as exc:
        pytest.skip(f"the advisory service is not reachable ({PROBE}: {exc})")
    if "vulnerabilities" not in answer:
        pytest.skip(f"the advisory service is not reachable ({PROBE} lists no advisories)")


def audit(*args: str) -> list[dict[str, Any]]:
    """Run pip-audit with ``args``; its report's dependencies."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip_audit",
            "--format",
            "json",
            "--progress-spinner",
            "off",
            "--timeout",
            "30",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    try:
        report = json.loads(result.stdout)
    except ValueError:
        pytest.fail(f"pip-audit gave no report (exit {result.returncode}):\n{result.stderr}")
    dependencies: list[dict[str, Any]] = report["dependencies"]
    return dependencies


def findings(dependencies: list[dict[str, Any]]) -> list[str]:
    """One line per advisory: distribution, version, advisory and fixed releases."""
    return [
        f"{d['name']} {d['version']}: {v['id']} (fixed in {', '.join(v['fix_versions']) or '-'})"
        for d in dependencies
        for v in d.get("vulns", [])
    ]


def test_no_installed_distribution_has_a_published_advisory(advisory_service: None) -> None:
    dependencies = audit("--local")

    local = local_distributions()
    audited = {canonicalize_name(d["name"]) for d in dependencies if "skip_reason" not in d}
    installed = {canonicalize_name(d.metadata["Name"]) for d in distributions()}
    not_audited = sorted(installed - audited - local - {"pip"})
    assert not not_audited, f"pip-audit could not look these up: {not_audited}"
    assert not findings(dependencies), "\n".join(findings(dependencies))


def test_the_lowest_releases_the_core_allows_have_no_published_advisory(
    advisory_service: None, tmp_path: Path
) -> None:
    project = tomllib.loads((CHECKOUT / "pyproject.toml").read_text())["project"]
    lowest = []
    for line in project["dependencies"]:
        requirement = Requirement(line)
        floors = [s.version for s in requirement.specifier if s.operator in (">=", "==")]
        assert floors, f"{requirement} has no lower bound"
        lowest.append(f"{requirement.name}=={max(floors)}")
    requirements = tmp_path / "lowest.txt"
    requirements.write_text("\n".join(lowest) + "\n")

    dependencies = audit("--requirement", str(requirements), "--no-deps", "--disable-pip")

    assert len(dependencies) == len(lowest), dependencies
    assert not findings(dependencies), "\n".join(findings(dependencies))


# -- the JavaScript the site serves ----------------------------------------------

#: Files the site serves that come from the npm registry: (locked package,
#: the file in the package, the served copy).
VENDORED_JAVASCRIPT = [
    (
        "jquery",
        "dist/jquery.min.js",
        CHECKOUT / "addons/forms/pyramidion_forms/static/vendor/jquery-{version}.min.js",
    ),
]

#: npm audit's severities, lowest first; "moderate" and above fail the check.
SEVERITIES = ["info", "low", "moderate", "high", "critical"]


def locked_version(package: str) -> str:
    """The version of ``package`` that package-lock.json pins."""
    lock = json.loads((CHECKOUT / "package-lock.json").read_text())
    entry = lock["packages"].get(f"node_modules/{package}")
    assert entry is not None, f"package-lock.json does not lock {package}: npm install {package}"
    assert not entry.get("dev"), f"{package} is served, so it belongs in 'dependencies'"
    version: str = entry["version"]
    return version


@pytest.mark.parametrize(("package", "inside", "served"), VENDORED_JAVASCRIPT)
def test_served_javascript_is_the_locked_release(package: str, inside: str, served: Path) -> None:
    version = locked_version(package)
    copy = Path(str(served).format(version=version))

    assert copy.is_file(), (
        f"package-lock.json locks {package} {version}, but {copy.name} is not served: "
        f"copy node_modules/{package}/{inside} there and point the add-on at it"
    )
    others = sorted(p.name for p in copy.parent.glob(Path(str(served)).name.format(version="*")))
    assert others == [copy.name], f"other releases of {package} are still served: {others}"
    assert f"v{version}" in copy.read_text()[:200]
    installed = CHECKOUT / "node_modules" / package / inside
    if installed.is_file():
        assert copy.read_bytes() == installed.read_bytes()


def test_served_javascript_has_no_published_advisory() -> None:
    """``npm audit`` over the locked packages the site serves (not the
    test tools); any advisory of moderate severity or above fails."""
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed (apt-get install -y npm): the npm advisories are unread")
    try:
        result = subprocess.run(
            ["npm", "audit", "--omit=dev", "--json", "--package-lock-only"],
            cwd=CHECKOUT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.skip("the npm registry's advisory service did not answer within 120 seconds")
    try:
        report = json.loads(result.stdout)
    except ValueError:
        pytest.skip(f"npm audit gave no report (exit {result.returncode}): {result.stderr[-300:]}")
    if "vulnerabilities" not in report:
        reason = report.get("message") or report.get("error", {}).get("summary") or report
        pytest.skip(f"the npm registry's advisory service is not reachable ({reason})")
    serious = [
        f"{name} ({found['severity']}): {found.get('range', '')}"
        for name, found in report["vulnerabilities"].items()
        if SEVERITIES.index(found["severity"]) >= SEVERITIES.index("moderate")
    ]
    assert not serious, "served JavaScript with published advisories:\n" + "\n".join(serious)
