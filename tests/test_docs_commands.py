"""Every command the docs show is run, and the output they show is checked.

Each page under ``docs/`` is run as a script, top to bottom, in a fresh
temporary project directory:

- a fenced block whose info string names a file (```` ```ini file=app.ini ````)
  is written to that path in the project directory when it is reached;
- a ```` ```console ```` block holds commands after a ``$ `` prompt (a line
  ending in ``\\`` continues on the next); the lines after a command, up to
  the next prompt, are its expected output: they must appear in what the
  command prints (stdout and stderr together), consecutively, except where
  a line ``...`` marks an elision. A last line ``[exit N]`` says the
  command is expected to fail with status N; otherwise it must exit 0;
- ```` ```sh ```` blocks are not run. They are for commands that cannot run
  here (they serve until stopped, or need the network), so each must be
  preceded by ``<!-- exercised by: tests/FILE.py::test_name -->`` naming
  the test that runs the same command; this module checks that the test
  exists;
- ``<!-- docs-test: ... -->`` comments prepare the project directory for
  what the page assumes has happened: ``copy FILE`` copies FILE from the
  repository (``development.ini``, which ``make run`` uses); ``setup
  COMMAND`` runs a command that must succeed (what ``make run`` did before
  the page's commands); ``pip-install DIR`` installs the add-on in DIR, as
  ``pip install DIR`` would, into ``site/`` in the project directory
  (offline, and never into the shared virtual environment).

Commands run with ``bash`` in the project directory, with the virtual
environment's ``bin`` first on ``PATH``, ``site/`` on ``PYTHONPATH`` and no
``PYRAMIDION_*`` variables from the environment of the test run.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
BIN = Path(sys.executable).parent

#: Pages generated from the code rather than written; tests/test_docs.py
#: checks them.
GENERATED = {DOCS / "settings.md"}

FENCE = re.compile(r"^```(\S*)(.*)$")
EXERCISED_BY = re.compile(r"<!--\s*exercised by:\s*(\S+?)::(\w+)\s*-->")
DIRECTIVE = re.compile(r"<!--\s*docs-test:\s*(.+?)\s*-->")
EXIT = re.compile(r"^\[exit (\d+)\]$")


@dataclass
class Command:
    line: int
    text: str
    expected: list[str] = field(default_factory=list)
    exit_status: int = 0


@dataclass
class Step:
    kind: str  # "file", "console", "sh" or "directive"
    line: int
    info: str = ""
    body: str = ""
    commands: list[Command] = field(default_factory=list)
    #: For sh blocks: (test file, test name) from the preceding comment.
    exercised_by: tuple[str, str] | None = None


def pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if p not in GENERATED)


def parse(page: Path) -> list[Step]:
    """The page's steps, in order."""
    lines = page.read_text().splitlines()
    steps: list[Step] = []
    i = 0
    while i < len(lines):
        directive = DIRECTIVE.search(lines[i])
        if directive and not lines[i].startswith("```"):
            steps.append(Step("directive", i + 1, info=directive.group(1)))
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        lang, rest = match.group(1), match.group(2)
        start = i
        i += 1
        body: list[str] = []
        while i < len(lines) and lines[i] != "```":
            body.append(lines[i])
            i += 1
        i += 1
        file_name = re.search(r"\bfile=(\S+)", rest)
        if file_name:
            steps.append(
                Step("file", start + 1, info=file_name.group(1), body="\n".join(body) + "\n")
            )
        elif lang == "console":
            steps.append(Step("console", start + 1, commands=_commands(body, start + 2, page)))
        elif lang == "sh":
            steps.append(
                Step("sh", start + 1, body="\n".join(body), exercised_by=_marker(lines, start))
            )
    return steps


def _commands(body: list[str], first_line: int, page: Path) -> list[Command]:
    commands: list[Command] = []
    continuing = False
    for offset, line in enumerate(body):
        if continuing:
            commands[-1].text += "\n" + line
            continuing = line.endswith("\\")
        elif line.startswith("$ "):
            commands.append(Command(first_line + offset, line[2:]))
            continuing = line.endswith("\\")
        elif not commands:
            raise AssertionError(
                f"{page.relative_to(ROOT)}:{first_line + offset}: a console block must "
                "start with a '$ ' prompt"
            )
        elif EXIT.match(line):
            commands[-1].exit_status = int(EXIT.match(line).group(1))  # type: ignore[union-attr]
        else:
            commands[-1].expected.append(line.rstrip())
    return commands


def _marker(lines: list[str], fence: int) -> tuple[str, str] | None:
    j = fence - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    match = EXERCISED_BY.search(lines[j]) if j >= 0 else None
    return (match.group(1), match.group(2)) if match else None


def shown_output_appears(expected: list[str], output: str) -> bool:
    """Whether the chunks of ``expected`` (split at ``...``) appear in
    ``output`` in order, each as consecutive whole lines."""
    lines = [line.rstrip() for line in output.splitlines()]
    chunks: list[list[str]] = [[]]
    for line in expected:
        if line == "...":
            chunks.append([])
        else:
            chunks[-1].append(line)
    position = 0
    for chunk in chunks:
        if not chunk:
            continue
        for start in range(position, len(lines) - len(chunk) + 1):
            if lines[start : start + len(chunk)] == chunk:
                position = start + len(chunk)
                break
        else:
            return False
    return True


def environment(project: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRAMIDION_")}
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    env["PYTHONPATH"] = str(project / "site")
    env["VIRTUAL_ENV"] = str(BIN.parent)
    # As in the Makefile: Pyramid's own deprecation warning is not the reader's.
    env["PYTHONWARNINGS"] = "ignore:pkg_resources is deprecated as an API:UserWarning"
    env["COLUMNS"] = "80"
    return env


def pip_install(project: Path, directory: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            "--target",
            str(project / "site"),
            str(project / directory),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


def run_page(page: Path, project: Path) -> None:
    (project / "site").mkdir()
    env = environment(project)
    name = page.relative_to(ROOT)
    for step in parse(page):
        if step.kind == "file":
            target = project / step.info
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(step.body)
        elif step.kind == "directive":
            action, _, argument = step.info.partition(" ")
            argument = argument.strip()
            if action == "pip-install":
                pip_install(project, argument)
            elif action == "copy":
                shutil.copy(ROOT / argument, project / argument)
            elif action == "setup":
                result = subprocess.run(
                    ["bash", "-c", argument],
                    cwd=project,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    text=True,
                    timeout=120,
                    check=False,
                )
                assert result.returncode == 0, f"{name}:{step.line}: {argument}\n{result}"
            else:
                raise AssertionError(f"{name}:{step.line}: unknown directive {action!r}")
        elif step.kind == "console":
            for command in step.commands:
                result = subprocess.run(
                    ["bash", "-c", command.text],
                    cwd=project,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    timeout=120,
                    check=False,
                )
                where = f"{name}:{command.line}: $ {command.text}"
                assert result.returncode == command.exit_status, (
                    f"{where}\nexited with {result.returncode}, the docs say "
                    f"{command.exit_status}:\n{result.stdout}"
                )
                assert shown_output_appears(command.expected, result.stdout), (
                    f"{where}\nprinted:\n{result.stdout}\nbut the docs show:\n"
                    + "\n".join(command.expected)
                )


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_the_commands_of_the_page_run_as_shown(page: Path, tmp_path: Path) -> None:
    run_page(page, tmp_path)


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_commands_that_are_not_run_here_are_run_by_a_named_test(page: Path) -> None:
    for step in parse(page):
        if step.kind != "sh":
            continue
        where = f"{page.relative_to(ROOT)}:{step.line}"
        assert step.exercised_by is not None, (
            f"{where}: a sh block is not run by this test; precede it with "
            "<!-- exercised by: tests/FILE.py::test_name --> naming the test that "
            "runs the same command, or make it a console block"
        )
        path, test_name = step.exercised_by
        source = ROOT / path
        assert source.is_file(), f"{where}: {path} does not exist"
        assert re.search(rf"^def {test_name}\(", source.read_text(), re.MULTILINE), (
            f"{where}: {path} has no test named {test_name}"
        )


LINK = re.compile(r"\]\(([^)#\s]+)(#[^)]*)?\)")


@pytest.mark.parametrize(
    "page", [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))], ids=lambda p: p.name
)
def test_relative_links_lead_to_files(page: Path) -> None:
    for target, _anchor in LINK.findall(page.read_text()):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links to {target}"


def test_every_page_is_reachable_from_the_readme() -> None:
    seen: set[Path] = set()
    todo = [ROOT / "README.md"]
    while todo:
        page = todo.pop()
        for target, _anchor in LINK.findall(page.read_text()):
            path = (page.parent / target).resolve()
            if path.suffix == ".md" and path.is_file() and path not in seen:
                seen.add(path)
                todo.append(path)
    unreachable = sorted(
        str(p.relative_to(ROOT)) for p in DOCS.rglob("*.md") if p.resolve() not in seen
    )
    assert not unreachable, f"pages no link leads to: {unreachable}"


def test_shown_output_is_matched_in_order_and_consecutively() -> None:
    output = "a\nb\nc\nd\n"
    assert shown_output_appears(["b", "c"], output)
    assert shown_output_appears(["a", "...", "d"], output)
    assert not shown_output_appears(["a", "c"], output)
    assert not shown_output_appears(["c", "...", "b"], output)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ProcessOutput:
    """What a process group writes to the pipe ``stream``, read by a thread
    as it comes (so the pipe never fills and blocks the writer), each line
    stamped with the seconds since the start, to show where time went."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._started = time.monotonic()
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="process-output", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self._stream:
            with self._changed:
                self._lines.append(f"{time.monotonic() - self._started:6.1f}s  {line.rstrip()}")
                self._changed.notify_all()
        with self._changed:
            self._lines.append(f"{time.monotonic() - self._started:6.1f}s  (end of output)")
            self._changed.notify_all()

    def wait_for(self, text: str, timeout: float) -> bool:
        """Wait until a line contains ``text``: False if the output ended, or
        ``timeout`` seconds passed, first."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if any(text in line for line in self._lines):
                    return True
                remaining = deadline - time.monotonic()
                if not self._reader.is_alive() or remaining <= 0:
                    return False
                self._changed.wait(remaining)

    def wait_for_end(self, timeout: float) -> bool:
        """Wait until every process holding the pipe has closed it."""
        self._reader.join(timeout)
        return not self._reader.is_alive()

    def __str__(self) -> str:
        with self._changed:
            return "\n".join(self._lines)


#: A bound on each step of ``make run``, never reached when it works: the
#: test waits for the step itself (the server saying where it serves, the
#: processes exiting), and this only stops a process that hangs. A fresh
#: ``make run`` migrates a new database and starts three Python processes:
#: about 6 s on a machine busy with other work, more on a slower one.
STEP_TIMEOUT = 120


def test_make_run_migrates_and_serves(tmp_path: Path) -> None:
    """``make run`` (shown in docs/tour.md): migrates the database of the
    development ini, then serves it, and stops on SIGTERM. Run on a copy of
    development.ini that listens on a free port and keeps its files in a
    temporary directory; the install step is skipped (``-o install``)
    because this test runs inside the environment it would install."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    port = _free_port()
    ini = (ROOT / "development.ini").read_text()
    ini = re.sub(r"(?m)^listen = .*$", f"listen = 127.0.0.1:{port}", ini)
    ini = ini.replace("pyramidion.allowed_hosts =", "pyramidion.allowed_hosts = 127.0.0.1")
    config = tmp_path / "development.ini"
    config.write_text(ini)
    env = environment(tmp_path)
    # The context manager closes the pipe and reaps make whatever happens,
    # so a failure here leaves nothing behind for a later test to find.
    with subprocess.Popen(
        ["make", "-C", str(ROOT), "-o", "install", "run", f"CONFIG={config}"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as process:
        assert process.stdout is not None
        output = ProcessOutput(process.stdout)
        try:
            # waitress prints this once it listens, after the migrations.
            served = output.wait_for(f"Serving on http://127.0.0.1:{port}", STEP_TIMEOUT)
            status = _get_status(f"http://127.0.0.1:{port}/readyz") if served else None
        finally:
            stopped = _stop(process, output)
    # Checked once everything has exited, so that the output shown is whole.
    assert served, f"make run did not serve on port {port}:\n{output}"
    assert status == 200, f"/readyz answered {status}:\n{output}"
    assert stopped, f"make run did not exit within {STEP_TIMEOUT} s of SIGTERM:\n{output}"


def _get_status(url: str) -> int | str:
    """The status ``url`` answers with, or why there was none."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        error.close()
        return error.code
    except OSError as error:
        return f"nothing ({error})"


def _stop(process: subprocess.Popen[str], output: ProcessOutput) -> bool:
    """SIGTERM the process group and wait until all of it has exited (the
    server drains first); kill it if it has not within ``STEP_TIMEOUT``.
    True when it stopped by itself."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    if output.wait_for_end(STEP_TIMEOUT):
        process.wait(STEP_TIMEOUT)
        return True
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    output.wait_for_end(STEP_TIMEOUT)
    return False
