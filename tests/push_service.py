"""A real Web Push service on loopback for the reminder tests: the npm package `web-push-testing`
(installed into tests/push_service by `make install-dev`: npm ci). It checks each request's VAPID
signature against the key the subscription was made with, decrypts the aes128gcm payload, keeps
what it received, and can expire a subscription so the next push gets 410.

    with web_push_testing() as service:
        subscription = service.subscribe(application_server_key)   # endpoint, keys, clientHash
        ...
        service.messages(subscription)      # the decrypted payloads, in order
        service.expire(subscription)        # the next push to it answers 410

and for the answers it never gives (a push service in trouble), a loopback HTTP server:

    with failing_push_service((503, {}), (429, {"Retry-After": "300"})) as endpoint: ...
"""

from __future__ import annotations

import contextlib
import shutil
import ssl
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.pg_server import free_port
from tests.servers import PROJECT_ROOT, wait_for_port

FOLDER = PROJECT_ROOT / "tests" / "push_service"
SERVE = FOLDER / "serve.js"
PACKAGE = FOLDER / "node_modules" / "web-push-testing"


@dataclass
class PushService:
    url: str

    def subscribe(self, application_server_key: str) -> dict[str, Any]:
        """A new browser subscription bound to the server's public key (as pushManager makes)."""
        response = requests.post(
            f"{self.url}/subscribe",
            # The service wants userVisibleOnly as the string "true", as a form would send it.
            json={"userVisibleOnly": "true", "applicationServerKey": application_server_key},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()["data"]

    def messages(self, subscription: dict[str, Any]) -> list[str]:
        response = requests.post(
            f"{self.url}/get-notifications",
            json={"clientHash": subscription["clientHash"]},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()["data"]["messages"]

    def expire(self, subscription: dict[str, Any]) -> None:
        response = requests.post(
            f"{self.url}/expire-subscription/{subscription['clientHash']}", timeout=10
        )
        response.raise_for_status()


@contextlib.contextmanager
def web_push_testing() -> Iterator[PushService]:
    node = shutil.which("node")
    if node is None or not PACKAGE.exists():
        pytest.skip("web-push-testing is not installed: make install-dev (npm ci)")
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="skinlog-push-", suffix=".log")[1])
    with log.open("wb") as output:
        process = subprocess.Popen(
            [node, str(SERVE), str(port)],
            cwd=FOLDER,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, process)
        yield PushService(f"http://127.0.0.1:{port}")
    except Exception as exc:
        exc.add_note(f"web-push-testing log:\n{log.read_text(errors='replace')[-4000:]}")
        raise
    finally:
        process.terminate()
        process.wait(10)
        log.unlink(missing_ok=True)


@contextlib.contextmanager
def failing_push_service(
    *answers: tuple[int, dict[str, str]], tls: ssl.SSLContext | None = None
) -> Iterator[str]:
    """A loopback HTTP server answering each push with the next (status, headers), then 201;
    yields its endpoint URL. With `tls` (a server context), HTTPS at https://localhost:<port>."""
    pending = list(answers)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))  # the encrypted push, unread
            status, headers = pending.pop(0) if pending else (201, {})
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        if tls is not None:
            yield f"https://localhost:{server.server_port}/push/device"
        else:
            yield f"http://127.0.0.1:{server.server_port}/push/device"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
