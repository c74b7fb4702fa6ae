"""One TLS setup for every connection the suite opens.

Building an httpx transport loads the CA bundle into a new SSL context, about 20 ms of CPU; the race scenarios build
one per racer, and a mutation run builds dozens. Every transport the suite makes shares one context instead, built on
first use and verifying exactly as httpx's default does (its CA bundle, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when
set).
"""

from __future__ import annotations

import functools
import ssl

import httpx

#: httpx's own pool limits, for a transport made without limits of its own
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """The SSL context every transport of the suite verifies with (made once per process)."""
    return httpx.create_ssl_context()


def new_transport(limits: httpx.Limits = DEFAULT_LIMITS) -> httpx.HTTPTransport:
    """A connection pool over the shared SSL context."""
    return httpx.HTTPTransport(verify=shared_ssl_context(), limits=limits)
