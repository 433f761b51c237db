"""A real SMTP server for tests: aiosmtpd on a free loopback port, keeping every message it receives.

Used by routing's notification e-mail (tests/routing/test_work.py) and the gateway's password reset
(tests/gateway/test_password_reset*.py) through the `smtp_server` fixture of tests/conftest.py.
"""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.policy import default as default_policy


class Inbox:
    """aiosmtpd handler: keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    def parsed(self) -> list[EmailMessage]:
        """The messages as a mail reader shows them (RFC 2047 subjects decoded)."""
        return [email.message_from_bytes(raw, policy=default_policy) for _to, raw in self.messages]


@contextmanager
def running_smtp() -> Iterator[tuple[Inbox, int]]:
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:  # a free loopback port for this test
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()
