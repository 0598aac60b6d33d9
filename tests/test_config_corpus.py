"""A corpus of broken configurations, run through every way in.

Each case is an ini file (as data) and the words its message must hold.
Every case goes through three entry points, as separate processes, the way
people run them: ``pyramidion check``, another command (``pyramidion db
upgrade``, the first step of ``make run``) and serving (``pyramidion
serve``, which is what ``make run`` serves with, and hands over to pserve).
Each must exit non-zero with one message naming the file, section, key or
add-on, print no traceback and never print a secret. Cases found by the
app factory (``pyramidion:main``) are also served with plain ``pserve``,
which reports them the same way.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent

BASE = """\
[app:main]
use = egg:pyramidion-core
pyramidion.addons = storage
pyramidion.environment = development
pyramidion.allowed_hosts = localhost
sqlalchemy.url = sqlite:///%(here)s/app.sqlite
storage.local_root = %(here)s/files

[server:main]
use = egg:waitress#main
listen = 127.0.0.1:0

[loggers]
keys = root, pyramidion

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARN
handlers = console

[logger_pyramidion]
level = INFO
handlers =
qualname = pyramidion

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
class = pyramidion.logging.RequestIdFormatter
format = %(asctime)s %(levelname)-5.5s [%(name)s] %(message)s
"""


def edit(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


def app(*lines: str) -> str:
    """BASE with ``lines`` added to [app:main]."""
    return edit("storage.local_root", "\n".join(lines) + "\nstorage.local_root")


def without(section: str) -> str:
    """BASE without ``[section]`` and its lines."""
    start = BASE.index(f"[{section}]")
    end = BASE.find("\n[", start + 1)
    return BASE[:start] + (BASE[end + 1 :] if end >= 0 else "")


@dataclass(frozen=True)
class Case:
    id: str
    #: The file's text; bytes for what is not text.
    ini: str | bytes
    #: Words the message must hold (the file name is checked separately
    #: for problems in the file itself).
    words: tuple[str, ...]
    #: A value that must never be printed.
    secrets: tuple[str, ...] = ()
    #: Whether the message names the file: problems in the file do;
    #: problems in settings name the key instead.
    names_file: bool = True
    #: Commands other than check need no server section: only check and
    #: serving refuse a file without one.
    commands_refuse: bool = True
    #: Found by the app factory, so plain pserve reports it too.
    app_level: bool = False
    #: "file" (the default), "missing" or "directory".
    kind: str = "file"


# A URL-encoded "@" inside: the "%" that configparser refuses.
PASSWORD = "Xq7%40pw"

CASES = [
    # -- the file itself
    Case("missing file", "", ("does not exist",), kind="missing"),
    Case("directory", "", ("is a directory",), kind="directory"),
    Case("byte-order mark", b"\xef\xbb\xbf" + BASE.encode(), ("byte-order mark", "without BOM")),
    Case("not utf-8", app("blog.title = caf\xe9").encode("latin-1"), ("line 7", "not UTF-8")),
    Case("empty file", "", ("no [app:main] section", "no sections at all")),
    Case("text before any section", "addons = blog\n" + BASE, ("line 1", "before the first")),
    Case(
        "same key twice",
        app("pyramidion.addons = forms"),
        ("line 7", "[app:main]", "'pyramidion.addons' a second time", "first on line 3"),
    ),
    Case("same section twice", BASE + "\n[server:main]\nport = 1\n", ("[server:main]", "second")),
    Case(
        "continuation line not indented",
        edit("pyramidion.addons = storage", "pyramidion.addons =\nstorage\nforms"),
        ("line 4", "'pyramidion.addons'", "indent it"),
    ),
    Case(
        "misspelt here",
        edit("%(here)s/app.sqlite", "%(hre)s/app.sqlite"),
        ("[app:main] sqlalchemy.url", "%(hre)s refers to nothing", "did you mean %(here)s"),
    ),
    Case(
        "percent in a URL-encoded password",
        edit(
            "sqlite:///%(here)s/app.sqlite",
            f"postgresql+psycopg://app:{PASSWORD}@127.0.0.1:5432/app",
        ),
        ("[app:main] sqlalchemy.url", "'%%'"),
        secrets=(PASSWORD, "Xq7"),
    ),
    Case("no app:main", edit("[app:main]", "[app:web]"), ("no [app:main] section", "[app:web]")),
    Case(
        "use names a distribution not installed",
        edit("use = egg:pyramidion-core", "use = egg:pyramidion-cor"),
        (
            "[app:main] use = egg:pyramidion-cor",
            "'pyramidion-cor'",
            "did you mean 'pyramidion-core'",
        ),
    ),
    Case(
        "use names an app the distribution lacks",
        edit("use = egg:pyramidion-core", "use = egg:pyramidion-core#web"),
        ("[app:main]", "no application called 'web'", "main"),
    ),
    Case(
        "use names a module that does not exist",
        edit("use = egg:pyramidion-core", "use = call:pyramidion_nowhere:main"),
        ("[app:main]", "'pyramidion_nowhere' cannot be imported"),
    ),
    Case(
        "use is not PasteDeploy's form",
        edit("use = egg:pyramidion-core", "use = pyramidion"),
        ("[app:main] use = pyramidion", "egg:pyramidion-core"),
    ),
    Case(
        "no use line", edit("use = egg:pyramidion-core\n", ""), ("[app:main]", "no 'use =' line")
    ),
    # -- the server section
    Case(
        "no server section",
        without("server:main"),
        ("no [server:main] section", "pserve cannot serve it"),
        commands_refuse=False,
    ),
    Case(
        "listen port is not a number",
        edit("listen = 127.0.0.1:0", "listen = 127.0.0.1:http"),
        ("[server:main] listen", "'127.0.0.1:http'", "port number"),
    ),
    Case(
        "port out of range",
        edit("listen = 127.0.0.1:0", "port = 99999"),
        ("[server:main] port", "'99999'", "1 to 65535"),
    ),
    Case(
        "listen without a port",
        edit("listen = 127.0.0.1:0", "listen = localhost"),
        ("[server:main] listen", "'localhost' has no port"),
    ),
    Case(
        "server distribution misspelt",
        edit("use = egg:waitress#main", "use = egg:waitres#main"),
        ("[server:main] use = egg:waitres#main", "did you mean 'waitress'"),
    ),
    Case(
        "server the distribution lacks",
        edit("use = egg:waitress#main", "use = egg:pyramidion-core#main"),
        ("[server:main]", "no server called 'main'"),
    ),
    Case(
        "unknown waitress setting",
        edit("listen = 127.0.0.1:0", "listen = 127.0.0.1:0\nthread = 4"),
        ("[server:main]", "waitress refuses", "thread"),
    ),
    # -- the logging sections
    Case(
        "formatter class does not exist",
        edit("pyramidion.logging.RequestIdFormatter", "pyramidion.logging.RequestFormatter"),
        ("[formatter_generic] class", "pyramidion.logging.RequestFormatter"),
    ),
    Case(
        "handler class does not exist",
        edit("class = StreamHandler", "class = StreamHandlr"),
        ("[handler_console] class", "'StreamHandlr'"),
    ),
    Case(
        "handler listed without a section",
        edit("keys = console", "keys = console, file"),
        ("[handlers] keys", "no [handler_file] section"),
    ),
    Case(
        "logger names a handler not listed",
        edit("handlers = console", "handlers = console, file"),
        ("[logger_root] handlers", "'file' is not listed"),
    ),
    Case(
        "logging level misspelt",
        edit("level = WARN", "level = WARNNG"),
        ("[logger_root] level", "'WARNNG' is not a logging level"),
    ),
    Case(
        "handler args that fail",
        edit("args = (sys.stderr,)", "args = (sys.stderr, 1, 2, 3)"),
        ("logging sections", "[handlers]", "cannot be applied"),
    ),
    Case(
        "handler formatter not listed",
        edit("formatter = generic", "formatter = json"),
        ("[handler_console] formatter", "'json' is not listed in [formatters]"),
    ),
    Case("no root logger", edit("keys = root, pyramidion", "keys = pyramidion"), ("'root'",)),
    # -- settings valid one by one that fail at first use
    Case(
        "storage directory cannot be created",
        edit("%(here)s/files", "%(here)s/app.ini/files"),
        ("storage.local_root", "cannot be created"),
        names_file=False,
        app_level=True,
    ),
    Case(
        "route prefix inside another add-on's static view",
        edit("pyramidion.addons = storage", "pyramidion.addons = storage forms").replace(
            "storage.local_root", "storage.route_prefix = /forms/static\nstorage.local_root"
        ),
        ("add-on 'storage'", "add-on 'forms'", "can never be reached", "route_prefix"),
        names_file=False,
        app_level=True,
    ),
    Case(
        "placeholder secret in production",
        edit(
            "pyramidion.environment = development", "pyramidion.environment = production"
        ).replace(
            "storage.local_root", "storage.s3_secret_access_key = changeme\nstorage.local_root"
        ),
        ("storage.s3_secret_access_key", "placeholder", "production"),
        secrets=("changeme",),
        names_file=False,
        app_level=True,
    ),
    Case(
        "add-on name misspelt",
        edit("pyramidion.addons = storage", "pyramidion.addons = stroage"),
        ("stroage", "Did you mean 'storage'"),
        names_file=False,
        app_level=True,
    ),
    Case(
        "setting of the wrong type",
        app("storage.max_upload_size = ten megabytes"),
        ("storage.max_upload_size",),
        names_file=False,
        app_level=True,
    ),
    Case(
        "database driver not installed",
        edit(
            "sqlite:///%(here)s/app.sqlite",
            "postgresql+nodriver://app:Xq7-secret@127.0.0.1/app",
        ),
        ("postgresql+nodriver://app:***@127.0.0.1/app",),
        secrets=("Xq7-secret",),
        names_file=False,
        app_level=True,
    ),
    Case(
        "sqlalchemy.url is not a URL",
        edit("sqlite:///%(here)s/app.sqlite", "app.sqlite"),
        ("sqlalchemy.url is not a database URL",),
        names_file=False,
        app_level=True,
    ),
]


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRAMIDION_")}
    env["PYTHONWARNINGS"] = "ignore:pkg_resources is deprecated as an API:UserWarning"
    return env


def place(case: Case, tmp_path: Path) -> Path:
    path = tmp_path / "app.ini"
    if case.kind == "missing":
        return path
    if case.kind == "directory":
        path.mkdir()
        return path
    if isinstance(case.ini, bytes):
        path.write_bytes(case.ini)
    else:
        path.write_text(case.ini)
    return path


def run_all(
    commands: dict[str, list[str]], cwd: Path
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Start every command at once and wait for each (at most a minute)."""
    running = {
        name: subprocess.Popen(
            argv,
            cwd=cwd,
            env=environment(),
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name, argv in commands.items()
    }
    done = {}
    for name, process in running.items():
        try:
            out, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
            pytest.fail(f"{name} did not stop within a minute (it serves a broken file?)\n{err}")
        done[name] = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    return done


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_entry_point_answers_a_bad_configuration_with_a_sentence(
    case: Case, tmp_path: Path
) -> None:
    ini = place(case, tmp_path)
    commands = {
        "check": [str(BIN / "pyramidion"), "check", str(ini)],
        "db upgrade": [str(BIN / "pyramidion"), "db", "upgrade", str(ini)],
        "serve": [str(BIN / "pyramidion"), "serve", str(ini)],
    }
    if case.app_level:
        commands["pserve"] = [str(BIN / "pserve"), str(ini)]

    results = run_all(commands, tmp_path)

    for name, result in results.items():
        output = result.stdout + result.stderr
        where = f"{name} on '{case.id}':\n{output}"
        assert "Traceback" not in output, where
        for secret in case.secrets:
            assert secret not in output, where
        if name == "db upgrade" and not case.commands_refuse:
            assert result.returncode == 0, where
            continue
        assert result.returncode != 0, where
        errors = [line for line in result.stderr.splitlines() if "error:" in line]
        assert len(errors) == 1, where
        # A few of the core's messages go on with the list of what is
        # installed or of each setting's problem, on lines of their own.
        message = result.stderr
        if case.names_file:
            assert str(ini) in message, where
        for word in case.words:
            assert word in message, where


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)


def test_the_base_file_is_valid_and_pserve_serves_it(tmp_path: Path) -> None:
    """The corpus's cases differ from a file that works, served by plain
    pserve and by pyramidion serve alike."""
    ini = tmp_path / "app.ini"
    # At INFO, waitress says where it serves.
    ini.write_text(BASE.replace("level = WARN", "level = INFO"))
    check = subprocess.run(
        [str(BIN / "pyramidion"), "check", str(ini)],
        env=environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    for argv in ([str(BIN / "pserve"), str(ini)], [str(BIN / "pyramidion"), "serve", str(ini)]):
        process = subprocess.Popen(
            argv,
            env=environment(),
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        # A server that never says where it serves is stopped after a minute.
        timer = threading.Timer(60, process.kill)
        timer.start()
        try:
            assert process.stdout is not None
            seen = []
            for line in process.stdout:
                seen.append(line)
                if "Serving on http://127.0.0.1:" in line:
                    break
            else:
                pytest.fail("".join(seen))
        finally:
            timer.cancel()
            process.terminate()
            # communicate() closes the pipe; a pipe left open would be
            # reported as an unclosed file in whichever test runs next.
            try:
                process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
