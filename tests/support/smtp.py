"""A real SMTP server on loopback (aiosmtpd) that keeps the messages it receives."""

from __future__ import annotations

import threading
from email import message_from_bytes, policy

from support.procs import free_port


class Mailbox:
    """An aiosmtpd handler: ``messages`` are the received emails, parsed."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        msg = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(msg)
        return "250 OK"


class SmtpServer(Mailbox):
    """A Mailbox served on ``port`` (a free one by default); ``url`` is its apprise mailto URL."""

    def __init__(self, port: int | None = None):
        from aiosmtpd.controller import Controller

        super().__init__()
        self.port = port or free_port()
        self.url = (f"mailto://127.0.0.1:{self.port}?from=monitor@example.org&to=desk@example.org"
                    f"&mode=insecure&name=media-monitor")
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
