"""Real servers on loopback for tests: an HTTP receiver that checks jobrunner's webhook
signature and answers as scripted, and an SMTP server (aiosmtpd) that keeps what it got."""

from __future__ import annotations

import email
import email.policy
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from jobrunner.integrations.signing import SIGNATURE_HEADER, verify
from tests.support.processes import free_port


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    signature_ok: bool
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """Answers each POST with the next scripted status (then 200); a request with a bad
    signature gets 401. ``received`` lists every request, whatever the answer."""

    secret: str
    script: list[int] = field(default_factory=list)
    delay: float = 0.0
    """Seconds to wait before answering (timeouts)."""
    received: list[Received] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    check: Callable[[dict[str, str], bytes], bool] | None = None
    """How a request's signature is checked (default: jobrunner's X-Jobrunner-Signature)."""

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        if self.check is not None:
            ok = self.check(headers, body)
        else:
            ok = verify(self.secret, headers.get(SIGNATURE_HEADER.lower(), ""), body)
        with self.lock:
            status = 401 if not ok else (self.script.pop(0) if self.script else 200)
            self.received.append(Received(headers, body, ok, status))
        return status

    def accepted(self) -> list[Received]:
        return [item for item in self.received if item.status < 300]


@contextmanager
def http_receiver(
    secret: str,
    script: list[int] | None = None,
    delay: float = 0.0,
    check: Callable[[dict[str, str], bytes], bool] | None = None,
) -> Iterator[HttpReceiver]:
    receiver = HttpReceiver(secret, list(script or []), delay=delay, check=check)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            time.sleep(receiver.delay)
            status = receiver.answer({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    class QuietServer(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: object, client_address: object) -> None:
            pass  # a client that gave up (timeout tests) is not an error here

    server = QuietServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class SmtpSink:
    """aiosmtpd handler: answers DATA with the scripted codes first (e.g. "451 ..."), then
    accepts and keeps the parsed message."""

    script: list[str] = field(default_factory=list)
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    port: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.script:
            return self.script.pop(0)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)  # type: ignore[arg-type]
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


@contextmanager
def smtp_server(script: list[str] | None = None) -> Iterator[SmtpSink]:
    sink = SmtpSink(list(script or []))
    sink.port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
