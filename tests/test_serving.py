"""The drain's parts: :class:`RequestsInFlight` counts each request from
the app's call until its response is closed, and a process that serves
with waitress exits once :func:`drain` returns (waitress's threads are
daemon threads, which its documentation does not promise)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from pyramidion.serving import FLUSH_GRACE, RequestsInFlight, drain


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def hello(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def failing(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    raise RuntimeError("the app failed")


def test_a_request_is_in_flight_until_its_response_is_closed() -> None:
    clock = Clock()
    in_flight = RequestsInFlight(hello, clock=clock)
    response = in_flight({}, lambda *args: None)
    assert in_flight.count == 1
    assert list(response) == [b"hello"]
    # Written, not yet closed: waitress may still be sending it.
    assert in_flight.count == 1
    assert in_flight.wait_until_idle(0) is False
    response.close()  # type: ignore[attr-defined]
    response.close()  # type: ignore[attr-defined]
    assert in_flight.count == 0
    assert in_flight.wait_until_idle(0) is True


def test_the_response_of_the_app_is_closed_too() -> None:
    closed: list[bool] = []

    class Body(list[bytes]):
        def close(self) -> None:
            closed.append(True)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("200 OK", [])
        return Body([b"body"])

    response = RequestsInFlight(app)({}, lambda *args: None)
    response.close()  # type: ignore[attr-defined]
    assert closed == [True]


def test_a_request_whose_app_raises_is_no_longer_in_flight() -> None:
    in_flight = RequestsInFlight(failing)
    with pytest.raises(RuntimeError):
        in_flight({}, lambda *args: None)
    assert in_flight.count == 0


def test_idle_means_no_request_for_the_quiet_spell() -> None:
    clock = Clock()
    in_flight = RequestsInFlight(hello, clock=clock)
    in_flight({}, lambda *args: None).close()  # type: ignore[attr-defined]
    assert in_flight.wait_until_idle(0, quiet=FLUSH_GRACE) is False
    clock.now += FLUSH_GRACE
    assert in_flight.wait_until_idle(0, quiet=FLUSH_GRACE) is True


def test_the_drain_waits_for_the_request_in_flight() -> None:
    release = threading.Event()

    def held(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        release.wait(30)
        start_response("200 OK", [])
        return [b"done"]

    in_flight = RequestsInFlight(held)
    responses: list[Any] = []
    request = threading.Thread(target=lambda: responses.append(in_flight({}, lambda *args: None)))
    request.start()
    drained: list[bool] = []
    draining = threading.Thread(
        target=lambda: drained.append(
            drain(in_flight, delay=0, timeout=30, interrupted=threading.Event())
        )
    )
    draining.start()
    draining.join(timeout=0.5)
    assert draining.is_alive()
    release.set()
    request.join(timeout=10)
    responses[0].close()
    draining.join(timeout=10)
    assert drained == [True]


def test_the_drain_gives_up_after_its_timeout() -> None:
    in_flight = RequestsInFlight(hello)
    in_flight({}, lambda *args: None)
    assert drain(in_flight, delay=5, timeout=0, interrupted=threading.Event()) is False


#: Serves one request with waitress through RequestsInFlight, drains, and
#: returns from the main thread with waitress's loop and workers running.
SERVE_ONCE = """
import socket, threading, urllib.request
import waitress
from pyramidion.serving import RequestsInFlight, drain

def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]

with socket.socket() as sock:
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
before = set(threading.enumerate())
in_flight = RequestsInFlight(hello)
server = waitress.create_server(in_flight, listen=f"127.0.0.1:{port}", threads=3)
threading.Thread(target=server.run, daemon=True).start()
with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
    print("body", response.read().decode())
print("drained", drain(in_flight, delay=0, timeout=10, interrupted=threading.Event()))
started = set(threading.enumerate()) - before
print("threads", len(started))
print("not daemon", sorted(t.name for t in started if not t.daemon))
"""


def test_a_process_serving_with_waitress_exits_once_drained() -> None:
    # If waitress's worker threads stop being daemon threads, this process
    # never exits and the drain would hang every deploy: fail here instead.
    try:
        result = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(SERVE_ONCE)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(
            "a process serving with waitress did not exit after the drain: "
            "waitress's threads keep it alive; pyramidion.serving must stop them"
        ) from exc
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == ["body hello", "drained True"]
    assert int(lines[2].split()[1]) >= 3
    assert lines[3] == "not daemon []"
