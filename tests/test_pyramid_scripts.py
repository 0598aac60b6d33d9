"""Pyramid's own ``proutes``, ``pviews`` and ``pshell`` work on a Pyramidion ini.

They run as the console scripts an integrator types, in a subprocess that
sees the test's add-on distributions through ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.distributions import Distributions

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent


@pytest.fixture
def ini(distributions: Distributions, tmp_path: Path) -> str:
    distributions.addon(
        "notes",
        preamble="""
            from pyramidion import PUBLIC


            def home(request):
                return {"notes": []}
        """,
        includeme="""
            config.add_route("notes.home", "/")
            config.add_view(home, route_name="notes.home", renderer="json", permission=PUBLIC)
        """,
    )
    path = tmp_path / "app.ini"
    path.write_text(
        "[app:main]\n"
        "use = egg:pyramidion-core\n"
        "pyramidion.addons = notes\n"
        "pyramidion.environment = development\n"
        f"sqlalchemy.url = sqlite:///{tmp_path}/app.sqlite\n"
    )
    return str(path)


def run_script(
    distributions: Distributions, name: str, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRAMIDION_")}
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(distributions.root), env.get("PYTHONPATH")])
    )
    result = subprocess.run(
        [str(BIN / name), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


def test_proutes_lists_the_core_and_addon_routes(distributions: Distributions, ini: str) -> None:
    out = run_script(distributions, "proutes", ini).stdout

    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[2:] if line.strip()}
    assert rows["notes.home"][:2] == ["/notes/", f"{distributions.package_name('notes')}.home"]
    assert rows["pyramidion.healthz"][:2] == ["/healthz", "pyramidion.web.healthz_view"]


def test_ptweens_shows_the_request_path_in_order(distributions: Distributions, ini: str) -> None:
    out = run_script(distributions, "ptweens", ini).stdout

    # The numbered rows of the "Implicit Tween Chain", from ingress inwards.
    rows = [line.split() for line in out.split("Implicit Tween Chain", 1)[1].splitlines()]
    chain = [row[1] for row in rows if len(row) == 2 and row[0].isdigit()]
    assert chain == [
        "pyramidion.tweens.request_log_tween_factory",
        "pyramidion.tweens.security_headers_tween_factory",
        "pyramidion.web.host_allowlist_tween_factory",
        "pyramidion.inputs.body_size_tween_factory",
        "pyramidion.inputs.url_tween_factory",
        "pyramidion.idempotency.claim_tween_factory",
        "pyramid_tm.tm_tween_factory",
        "pyramidion.idempotency.record_tween_factory",
        "pyramid.tweens.excview_tween_factory",
    ]


def test_pviews_finds_the_view_of_an_addon_url(distributions: Distributions, ini: str) -> None:
    out = run_script(distributions, "pviews", ini, "/notes/").stdout

    assert "route name: notes.home" in out
    # Pyramid shows the pattern of a prefixed route without its leading slash.
    assert "route pattern: notes/" in out
    assert f"{distributions.package_name('notes')}.home" in out


def test_pshell_has_the_request_and_its_database_session(
    distributions: Distributions, ini: str
) -> None:
    script = (
        "from sqlalchemy import text\n"
        "with request.tm:\n"
        "    print('answer', request.dbsession.execute(text('select 40 + 2')).scalar())\n"
        "\n"
        "print('addons', registry.pyramidion.resolution.names)\n"
    )

    out = run_script(distributions, "pshell", ini, stdin=script).stdout

    assert "answer 42" in out
    assert "addons ('notes',)" in out
