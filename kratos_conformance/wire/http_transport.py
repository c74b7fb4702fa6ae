"""One TLS setup for every connection the suite opens.

Building an httpx transport loads the CA bundle into a new SSL context, about 20 ms of CPU; the race scenarios build
one per racer, and a mutation run builds dozens. Every transport the suite makes shares one context instead, built on
first use and verifying exactly as httpx's default does (its CA bundle, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when
set). The fuzzer's requests (schemathesis sends them with ``requests``, which reads neither variable) are told the
same certificates by :func:`trusted_certificates`.
"""

from __future__ import annotations

import functools
import os
import ssl

import httpx


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """The SSL context every transport of the suite verifies with (made once per process)."""
    return httpx.create_ssl_context()


def new_transport(limits: httpx.Limits | None = None) -> httpx.HTTPTransport:
    """A connection pool over the shared SSL context, with ``limits`` or httpx's own."""
    if limits is None:
        return httpx.HTTPTransport(verify=shared_ssl_context())
    return httpx.HTTPTransport(verify=shared_ssl_context(), limits=limits)


def trusted_certificates() -> str | bool:
    """What ``requests`` must be given as ``verify`` to trust what the shared context trusts: ``SSL_CERT_FILE``, else
    ``SSL_CERT_DIR``, else True (its own bundle, certifi's, as httpx's default)."""
    return os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR") or True
