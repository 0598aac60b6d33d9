"""Email over SMTP: ``auth.mail_delivery = smtp`` sends to the configured server."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator

import pytest
from pyramid_mailer.message import Message

from pyramidion.settings import parse_settings
from pyramidion_auth.mail import make_mailer
from pyramidion_auth.settings import AuthSettings


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough of an SMTP server for one plain (no TLS, no login) email."""

    def handle(self) -> None:
        received: list[str] = self.server.received  # type: ignore[attr-defined]
        self.wfile.write(b"220 test ESMTP\r\n")
        while line := self.rfile.readline():
            command = line.decode().strip().upper()
            if command.startswith(("EHLO", "HELO")):
                self.wfile.write(b"250 test\r\n")
            elif command == "DATA":
                self.wfile.write(b"354 go on\r\n")
                body = []
                while (data := self.rfile.readline()) not in (b".\r\n", b""):
                    body.append(data.decode())
                received.append("".join(body))
                self.wfile.write(b"250 queued\r\n")
            elif command == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:  # MAIL FROM, RCPT TO, RSET, NOOP
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, list[str]]]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.daemon_threads = True
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], server.received  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


def test_smtp_delivery_sends_to_the_configured_server(
    smtp_server: tuple[int, list[str]],
) -> None:
    port, received = smtp_server
    settings = parse_settings(
        AuthSettings,
        "auth",
        {
            "auth.mail_delivery": "smtp",
            "auth.smtp_host": "127.0.0.1",
            "auth.smtp_port": str(port),
            "auth.smtp_tls": "false",
            "auth.mail_sender": "app@example.com",
        },
    )
    mailer = make_mailer(settings, development=False)
    for n in (1, 2):
        message = Message(subject=f"Hello {n}", recipients=["ada@example.com"], body="Hi.")
        mailer.send_immediately(message)

    assert len(received) == 2
    assert "Subject: Hello 1" in received[0]
    assert "From: app@example.com" in received[0]
    assert "Subject: Hello 2" in received[1]
