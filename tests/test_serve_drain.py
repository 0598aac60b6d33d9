"""``pyramidion serve`` drains on SIGTERM: ``/readyz`` turns 503 at once,
the request in flight completes, then the process exits 0."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.inifiles import write_ini

#: A plain Pyramid package (enabled by dotted name) whose view holds the
#: request until a file appears, so the test decides when it finishes.
HOLD_VIEWS = """
import pathlib
import time

from pyramid.response import Response

from pyramidion import PUBLIC


def hold(request):
    marker = pathlib.Path(request.registry.settings["hold.marker"])
    marker.with_suffix(".started").write_text("started")
    deadline = time.monotonic() + 30
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return Response("released", content_type="text/plain")


def includeme(config):
    config.add_route("hold", "/hold")
    config.add_view(hold, route_name="hold", permission=PUBLIC)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(port: int, path: str, timeout: float = 30) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _wait_until_serving(port: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if _get(port, "/healthz", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"pyramidion serve did not start:\n{process.communicate()[0]}")
        time.sleep(0.1)


def test_sigterm_finishes_the_request_in_flight_and_exits_0(tmp_path: Path) -> None:
    (tmp_path / "holdviews.py").write_text(HOLD_VIEWS)
    marker = tmp_path / "release"
    port = _free_port()
    ini = write_ini(
        tmp_path,
        {
            "pyramidion.addons": "holdviews",
            "pyramidion.environment": "development",
            "pyramidion.shutdown_delay": "1",
            "pyramidion.shutdown_timeout": "20",
            "hold.marker": str(marker),
        },
    )
    Path(ini).write_text(Path(ini).read_text().replace("localhost:6543", f"127.0.0.1:{port}"))
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    serve = Path(sys.executable).parent / "pyramidion"
    process = subprocess.Popen(
        [str(serve), "serve", ini],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_until_serving(port, process)
        held: list[tuple[int, bytes]] = []
        request = threading.Thread(target=lambda: held.append(_get(port, "/hold")))
        request.start()
        deadline = time.monotonic() + 10
        while not marker.with_suffix(".started").exists() and time.monotonic() < deadline:
            time.sleep(0.02)

        process.send_signal(signal.SIGTERM)
        # Readiness turns 503 while the request is still in flight.
        deadline = time.monotonic() + 10
        while True:
            status, body = _get(port, "/readyz", timeout=5)
            if (status == 503 and b"draining" in body) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert (status, b"draining" in body) == (503, True)
        assert process.poll() is None
        assert request.is_alive()

        marker.write_text("go")
        request.join(timeout=20)
        assert held == [(200, b"released")]
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        output = process.communicate()[0]
    assert "Traceback" not in output


def test_the_health_listener_answers_while_every_worker_thread_is_busy(tmp_path: Path) -> None:
    (tmp_path / "holdviews.py").write_text(HOLD_VIEWS)
    marker = tmp_path / "release"
    port, health_port = _free_port(), _free_port()
    ini = write_ini(
        tmp_path,
        {
            "pyramidion.addons": "holdviews",
            "pyramidion.environment": "development",
            "pyramidion.shutdown_delay": "0",
            "pyramidion.health_listen": f"127.0.0.1:{health_port}",
            "hold.marker": str(marker),
        },
    )
    Path(ini).write_text(
        Path(ini)
        .read_text()
        .replace("listen = localhost:6543", f"listen = 127.0.0.1:{port}\nthreads = 1")
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "pyramidion"), "serve", ini],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_until_serving(port, process)
        held: list[tuple[int, bytes]] = []
        request = threading.Thread(target=lambda: held.append(_get(port, "/hold")))
        request.start()
        deadline = time.monotonic() + 10
        while not marker.with_suffix(".started").exists() and time.monotonic() < deadline:
            time.sleep(0.02)

        # The app's only worker thread is held; the health listener answers.
        started = time.monotonic()
        assert _get(health_port, "/healthz", timeout=5) == (200, b'{"status": "ok"}')
        assert time.monotonic() - started < 1
        assert _get(health_port, "/elsewhere", timeout=5)[0] == 404

        marker.write_text("go")
        request.join(timeout=20)
        assert held == [(200, b"released")]
        status, body = _get(health_port, "/readyz", timeout=10)
        assert (status, b'"status"' in body) in ((200, True), (503, True))
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        output = process.communicate()[0]
    assert "Traceback" not in output
