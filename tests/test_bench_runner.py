"""The benchmark runner works end to end (its timings are never asserted)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def require(command: str, package: str, needed_for: str) -> None:
    """Skip without ``command``; fail in CI, which installs it."""
    if shutil.which(command) is None:
        message = f"{needed_for} needs {command}: apt-get install -y {package}"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def run_benchmark(script: str, *args: str, statuses: tuple[int, ...] = (0,)) -> list[str]:
    """The lines ``benchmarks/SCRIPT`` prints after its header line; it must
    exit with one of ``statuses``."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if result.returncode not in statuses:
        print(result.stdout, result.stderr, sep="\n")  # shown with the failure
        result.check_returncode()
    return result.stdout.splitlines()[1:]


@pytest.mark.slow
def test_make_bench_runs_a_quick_case() -> None:
    """``make bench`` with 1 s runs of the hello case prints its full table."""
    require("wrk", "wrk", "the benchmark runner")
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "bench",
            # A setting given to the Pyramidion app, as comparisons give one.
            "BENCH_ARGS=--quick --cases hello --postgresql '' "
            "--setting pyramidion.gc_freeze=false",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    # The runner exits 1 when a target is missed; that is a finding it
    # reports in the table, not a failure of the runner.
    if result.returncode != 0:
        assert "NOT met" in result.stdout, result.stderr[-2000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| JSON hello |")]
    apps = [row.split("|")[2].strip() for row in rows]
    assert apps == [
        "raw WSGI",
        "bare Pyramid",
        "bare Pyramid + security headers",
        "Flask",
        "Pyramidion",
    ]
    # Every app answered every request with a 2xx.
    assert all(row.split("|")[6].strip() == "0" for row in rows)
    # The server's CPU time per request was read, for every app.
    assert all(float(row.split("|")[8]) > 0 for row in rows)
    assert all(float(row.split("|")[9]) >= 0 for row in rows)


def test_served_apps_import_what_the_callers_pythonpath_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkout run with its sources on PYTHONPATH serves those sources."""
    (tmp_path / "bench_probe.py").write_text("WHERE = 'the caller'\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
    assert spec is not None
    assert spec.loader is not None
    run = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_run", run)
    spec.loader.exec_module(run)
    server = run.Server("probe", "pyramidion", "sqlite://")

    result = subprocess.run(
        [sys.executable, "-c", "import bench_probe; print(bench_probe.WHERE)"],
        env=server.environment(),
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stdout.strip() == "the caller"


def test_a_setting_must_be_a_dotted_key_and_a_value() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--setting", "gc_freeze"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert "--setting 'gc_freeze': expected KEY=VALUE with a dotted KEY" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("case", ["hello", "row", "api-page"])
def test_the_in_process_runner_measures_every_app(case: str) -> None:
    # Each app must answer 200 to every request (with its token, for the
    # API), or the runner stops with the status it got.
    lines = run_benchmark("in_process.py", "--case", case, "--rounds", "1", "--requests", "20")
    measured = [line.split()[1] for line in lines]
    expected = {
        "hello": ["raw-wsgi", "bare-pyramid", "pyramid-tm", "flask-sqlalchemy", "pyramidion"],
        "row": ["bare-pyramid", "pyramid-tm", "flask-sqlalchemy", "pyramidion"],
        "api-page": ["drf", "pyramidion"],
    }
    assert measured == expected[case]


def test_the_in_process_runner_runs_on_postgresql() -> None:
    """``--postgresql``: the apps run on a database made on that server."""
    url = os.environ.get("PYRAMIDION_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("needs PYRAMIDION_TEST_DATABASE_URL to a PostgreSQL server")
    args = ("--case", "api-item", "--rounds", "1", "--requests", "20")
    lines = run_benchmark("in_process.py", *args, "--postgresql", url)
    assert [line.split()[1] for line in lines] == ["drf", "pyramidion"]
    # The server named is the one used: one that is not there fails the run.
    with pytest.raises(subprocess.CalledProcessError):
        run_benchmark(
            "in_process.py", *args, "--postgresql", "postgresql+psycopg://postgres@127.0.0.1:1/x"
        )


def test_the_in_process_runner_splits_requests_over_threads() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from in_process import per_request
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    seen: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(threading.current_thread().name)
        start_response("404 Not Found" if environ["PATH_INFO"] == "/missing" else "200 OK", [])
        return [b""]

    assert per_request(app, "/x", 21, threads=4) > 0
    assert len(seen) == 21
    assert len(set(seen)) == 4
    # A thread's failure is the caller's, on one thread as on four.
    with pytest.raises(RuntimeError, match="404"):
        per_request(app, "/missing", 8, threads=4)
    with pytest.raises(RuntimeError, match="404"):
        per_request(app, "/missing", 8)
    # And the command line takes it.
    lines = run_benchmark(
        "in_process.py", "--case", "row", "--rounds", "1", "--requests", "8", "--threads", "4"
    )
    measured = [line.split()[1] for line in lines]
    assert measured == ["bare-pyramid", "pyramid-tm", "flask-sqlalchemy", "pyramidion"]


@pytest.mark.slow
@pytest.mark.parametrize("options", [(), ("--gc",)], ids=["gc-off", "gc-on"])
def test_the_instruction_counter_counts_every_app(options: tuple[str, ...]) -> None:
    require("valgrind", "valgrind", "counting instructions")
    lines = run_benchmark("instructions.py", "--case", "hello", *options)
    rows = {line.split()[1]: line.split()[2:] for line in lines}
    assert list(rows) == [
        "raw-wsgi",
        "bare-pyramid",
        "pyramid-tm",
        "flask-sqlalchemy",
        "pyramidion",
    ]
    counts = {name: int(row[0].replace(",", "")) for name, row in rows.items()}
    assert rows["bare-pyramid"][1] == "1.00x"
    # Only the requests are counted: a WSGI callable that returns a
    # constant runs far fewer instructions than a framework, and start-up
    # (millions of instructions) is not in any figure.
    assert counts["raw-wsgi"] * 10 < counts["bare-pyramid"] < 2_000_000
    assert all(count < 2_000_000 for count in counts.values())


@pytest.mark.slow
def test_the_admin_list_case_seeds_and_times_every_page() -> None:
    """``make bench``'s admin case, on a small table: every page timed, with
    the trigram index the integrator is told to create."""
    from sqlalchemy.engine import make_url

    from pyramidion.testing import DATABASE_URL_VARIABLE

    url = os.environ.get(DATABASE_URL_VARIABLE, "")
    if not url or make_url(url).get_backend_name() != "postgresql":
        pytest.skip(f"the admin case runs on PostgreSQL: set {DATABASE_URL_VARIABLE}")
    # It exits with 1 when a page misses its target: timings are printed,
    # never asserted by a test (a busy CI machine is not a benchmark run).
    lines = run_benchmark(
        "admin_list.py",
        *("--users", "2000", "--requests", "2", "--trigram", "--postgresql", url),
        statuses=(0, 1),
    )
    pages = [line for line in lines if "p50 < 50 ms" in line]
    assert len(pages) == 4, lines
    assert {page.split("  ")[0].strip() for page in pages} == {
        "first page",
        "filtered (inactive)",
        "search",
        "next page",
    }, lines
    assert any(line.startswith("deep page") for line in lines), lines
