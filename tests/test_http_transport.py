"""The one SSL context every transport shares still verifies like httpx's default: sharing it saves CPU, not checks."""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import requests

from kratos_conformance.wire.http_transport import new_transport, shared_ssl_context, trusted_certificates


@pytest.fixture
def tls_server(self_signed_certificate: tuple[Path, Path]) -> Iterator[str]:
    """An https server on 127.0.0.1 answering 204, with a certificate no CA bundle trusts; its base URL."""
    cert, key = self_signed_certificate
    server = http.server.HTTPServer(("127.0.0.1", 0), _NoContent)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _NoContent(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_every_transport_shares_one_context_that_requires_a_trusted_certificate() -> None:
    context = shared_ssl_context()
    assert context is shared_ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_a_server_whose_certificate_is_not_trusted_is_refused(tls_server: str) -> None:
    with httpx.Client(transport=new_transport(), timeout=5) as client, pytest.raises(httpx.ConnectError) as refused:
        client.get(tls_server)
    assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value)


def test_the_same_server_is_reached_when_its_certificate_is_trusted(tls_server: str,
                                                                    self_signed_certificate: tuple[Path, Path]) -> None:
    """The control: trusting the certificate (what SSL_CERT_FILE does for a run, see the https CLI test) reaches the
    server, so the refusal above is about trust and not a broken server."""
    trusting = httpx.create_ssl_context()
    trusting.load_verify_locations(self_signed_certificate[0])
    with httpx.Client(transport=httpx.HTTPTransport(verify=trusting), timeout=5) as client:
        assert client.get(tls_server).status_code == 204


def test_requests_is_told_the_certificates_httpx_trusts(tls_server: str, self_signed_certificate: tuple[Path, Path],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The fuzzer's requests trust SSL_CERT_FILE (then SSL_CERT_DIR) as httpx does, and requests' own bundle when
    neither is set: the private CA's server is refused without the variable and reached with it."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    assert trusted_certificates() is True
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(tls_server, verify=trusted_certificates(), timeout=5)
    monkeypatch.setenv("SSL_CERT_DIR", str(self_signed_certificate[0].parent))
    assert trusted_certificates() == str(self_signed_certificate[0].parent)
    monkeypatch.setenv("SSL_CERT_FILE", str(self_signed_certificate[0]))
    assert trusted_certificates() == str(self_signed_certificate[0])
    assert requests.get(tls_server, verify=trusted_certificates(), timeout=5).status_code == 204
