"""https health probes through asyncio's own TLS, against a real server.

Real daemons from the console script, a real https server on loopback with the certificate in
tests/engine/tls/ (self-signed for 127.0.0.1, trusted through SSL_CERT_FILE, which OpenSSL's
default verify paths read)."""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import DaemonProcess, retry_until

TLS = Path(__file__).resolve().parent / "tls"
PROCESS = "workspace: ws\nprocesses:\n  api:\n    command: sleep 600\n    start_secs: 0\n"


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def https_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(TLS / "cert.pem", TLS / "key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_port}/health"
    server.shutdown()
    server.server_close()
    thread.join(10)


def test_an_https_probe_passes_against_a_trusted_certificate(daemon_factory: Any, https_url: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(TLS / "cert.pem"))  # the daemon inherits it
    conf = PROCESS + f"    health: [{{kind: http, url: '{https_url}', interval: 100ms}}]\n"
    d: DaemonProcess = daemon_factory({"ws.yaml": conf}).start()
    api = retry_until(lambda: (p := d.process("ws:api"))["health"] != "unknown" and p, 15,
                      0.05, "a first https check")
    assert api["health"] == "healthy", api["health_reason"]


def test_an_untrusted_certificate_fails_the_probe_with_the_reason(
        daemon_factory: Any, https_url: str) -> None:
    conf = PROCESS + (f"    health: [{{kind: http, url: '{https_url}', interval: 100ms,"
                      " retries: 1}]\n")
    d: DaemonProcess = daemon_factory({"ws.yaml": conf}).start()
    api = retry_until(lambda: (p := d.process("ws:api"))["health"] == "unhealthy" and p, 15,
                      0.05, "unhealthy")
    assert "CERTIFICATE_VERIFY_FAILED" in api["health_reason"], api["health_reason"]
