"""Instructions per request of the benchmark's applications, counted by valgrind.

    .venv/bin/python benchmarks/instructions.py [--case row] [--requests 1000]
                                                [--setting KEY=VALUE ...] [--postgresql URL]
                                                [--gc]

Builds every application of ``apps.py`` as ``in_process.py`` does and calls
each directly as WSGI with the same GET, under valgrind's callgrind, which
counts the machine instructions executed rather than timing them. Counting
is switched on around each application's requests only (imports, start-up
and a warm-up are not counted), with the garbage collector off meanwhile, so
a collection that happens to fall in one application's loop is not charged
to it. With ``--gc`` the collector stays on while counting, so each
application is charged the collections its own garbage causes, as a served
process is (memory freed at once counts in both; objects left in reference
cycles are freed, and counted, only with ``--gc``). Prints the instructions
per request and the throughput they imply against bare Pyramid (hello),
Flask + SQLAlchemy (row), Flask with database sessions (page) or Django
REST Framework (api-item, api-page), the references of the targets in
docs/performance.md.

A count does not depend on what else the machine is doing, so it repeats to
within a few percent from run to run where timings on a shared machine move
by 30%: it shows changes of a few percent that timings cannot. It counts
instructions, not cache misses or waits, so it is a proxy for time; over
HTTP the served ratios have followed it (see docs/performance.md). Needs
valgrind (``apt-get install -y valgrind``); takes about half a minute.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from in_process import (
    PATHS,
    add_database_argument,
    add_setting_argument,
    built_apps,
    per_request,
    report,
)

#: Set in the environment of the run under valgrind, which counts; the run
#: that starts it reads callgrind's dumps.
UNDER_CALLGRIND = "PYRAMIDION_UNDER_CALLGRIND"

REFERENCES = {
    "hello": "bare-pyramid",
    "row": "flask-sqlalchemy",
    "page": "flask-page",
    "api-item": "drf",
    "api-page": "drf",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", choices=sorted(PATHS), default="row", help="(default row)")
    parser.add_argument("--requests", type=int, default=1000, help="requests per app")
    add_setting_argument(parser)
    add_database_argument(parser)
    parser.add_argument(
        "--gc",
        action="store_true",
        help="keep the garbage collector on while counting, as it is when serving "
        "(default: off, so a collection is not charged to whichever app it falls in)",
    )
    args = parser.parse_args(argv)
    if os.environ.get(UNDER_CALLGRIND):
        count(args.case, args.requests, dict(args.setting), args.postgresql, args.gc)
        return 0
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("counting instructions needs valgrind: apt-get install -y valgrind")
    with tempfile.TemporaryDirectory(prefix="pyramidion-callgrind-") as tmp:
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={tmp}/callgrind.out",
                sys.executable,
                __file__,
                *(argv if argv is not None else sys.argv[1:]),
            ],
            env={**os.environ, UNDER_CALLGRIND: "1"},
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        counts = read_counts(Path(tmp), args.requests)
    report(counts, REFERENCES[args.case], f"{args.case}: ", unit="instructions/request")
    return 0


def count(
    case: str,
    requests: int,
    settings: dict[str, str],
    postgresql: str = "",
    collect_garbage: bool = False,
) -> None:
    """Under callgrind: count each app's ``requests`` GETs, one dump per app,
    with the garbage collector off unless ``collect_garbage``."""
    pid = str(os.getpid())

    def control(*options: str) -> None:
        subprocess.run(["callgrind_control", *options, pid], check=True, capture_output=True)

    with built_apps(case, settings, postgresql) as (apps, headers):
        for name, app in apps.items():
            per_request(app, PATHS[case], 200, **headers[name])  # warm-up
        for name, app in apps.items():
            gc.collect()
            if not collect_garbage:
                gc.disable()
            control("--zero")
            control("--instr=on")
            per_request(app, PATHS[case], requests, **headers[name])
            control("--instr=off")
            control(f"--dump={name}")
            gc.enable()


def read_counts(directory: Path, requests: int) -> dict[str, float]:
    """Instructions per request of each app, from callgrind's dumps, in order."""
    counts: dict[int, tuple[str, float]] = {}
    for dump in directory.glob("callgrind.out.*"):
        text = dump.read_text()
        label = re.search(r"^desc: Trigger: dump (.*)$", text, re.M)
        totals = re.search(r"^totals: (\d+)$", text, re.M)
        if label is not None and totals is not None:
            # callgrind.out.N: the Nth dump.
            counts[int(dump.name.rsplit(".", 1)[1])] = (label[1], int(totals[1]) / requests)
    return dict(counts[number] for number in sorted(counts))


if __name__ == "__main__":
    sys.exit(main())
