"""Assembling and running the reference target.

Contract:
- ``build_services(config)`` opens storage, starts the courier and creates the flow service and identity admin.
- ``create_public_app(config, services=None)`` / ``create_admin_app(config, services=None)`` build the two
  Starlette apps; pass the same ``services`` to both so they share storage (without it each builds its own).
  The public app marks every GET answer no-cache (http_common.NoCacheForGet).
- ``serve(config)`` binds 127.0.0.1 on the ports of ``public_url`` / ``admin_url`` (0 = a free port), rewrites
  the URLs with the real ports, starts both apps with uvicorn in background threads, waits (bounded) until both
  accept connections and returns a ``RunningTarget``. A port in use or a start-up timeout raises ``ConfigError``.
- ``RunningTarget.stop()`` (also on leaving ``with``) stops the servers, the courier and closes storage; it
  is idempotent.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import uvicorn
from starlette.applications import Starlette

from .admin import AdminTokenGuard, admin_routes
from .config import ConfigError, ReferenceConfig
from .courier import Courier
from .flows import VerificationService
from .http_common import NoCacheForGet, install_error_handlers
from .identities import IdentityAdmin
from .public import public_routes
from .storage import Storage

log = logging.getLogger("kratos_reference")
START_TIMEOUT_SECONDS = 15.0
STOP_TIMEOUT_SECONDS = 10.0


@dataclass
class TargetServices:
    """The shared back end of both apps."""

    config: ReferenceConfig
    storage: Storage
    courier: Courier
    verification: VerificationService
    identities: IdentityAdmin

    def close(self) -> None:
        """Stop the courier and close storage."""
        self.courier.stop()
        self.storage.close()


def build_services(config: ReferenceConfig) -> TargetServices:
    """Open storage, start the courier, create the services; ConfigError when the database cannot be opened."""
    try:
        storage = Storage(config.database)
    except sqlite3.Error as exc:
        raise ConfigError(f"database: cannot open {config.database}: {exc}") from None
    host, port = config.smtp_host_port
    courier = Courier(storage, host, port, config.mail_from)
    courier.start()
    return TargetServices(config, storage, courier, VerificationService(config, storage, courier),
                          IdentityAdmin(config, storage))


def create_public_app(config: ReferenceConfig, services: TargetServices | None = None) -> Starlette:
    """The public API app (self-service verification, UI pages, health)."""
    services = services or build_services(config)
    app = Starlette(routes=public_routes(services.verification))
    install_error_handlers(app)
    if "no_cache_control" not in config.faults:
        app.add_middleware(NoCacheForGet)
    return app


def create_admin_app(config: ReferenceConfig, services: TargetServices | None = None) -> Starlette:
    """The admin API app (identities, courier messages, health, version)."""
    services = services or build_services(config)
    app = Starlette(routes=admin_routes(services.identities))
    install_error_handlers(app)
    app.add_middleware(AdminTokenGuard, token=config.admin_token)
    return app


def _bind(url: str, key: str) -> socket.socket:
    port = urlsplit(url).port or 0
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and accepted
    # sockets inherit it. Without it, Nagle + delayed ACK add ~40 ms to every response.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    # a restarted target takes its port back at once (connections of the last one may linger in TIME_WAIT)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"{key}: cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _with_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    return urlunsplit(parts._replace(netloc=f"{host}:{port}"))


class RunningTarget:
    """A started target: its real URLs and config; ``stop()`` shuts it down."""

    def __init__(self, config: ReferenceConfig, services: TargetServices,
                 servers: list[tuple[uvicorn.Server, threading.Thread, socket.socket]]) -> None:
        self.config = config
        self.public_url = config.public_url
        self.admin_url = config.admin_url
        self.services = services
        self._servers = servers
        self._stopped = False

    def stop(self) -> None:
        """Stop both servers (bounded wait), the courier, and close storage."""
        if self._stopped:
            return
        self._stopped = True
        for server, _, _ in self._servers:
            server.should_exit = True
        for _, thread, sock in self._servers:
            thread.join(STOP_TIMEOUT_SECONDS)
            sock.close()
        self.services.close()

    def __enter__(self) -> RunningTarget:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _start(app: Starlette, sock: socket.socket, name: str, tls: tuple[str, str] | None = None
           ) -> tuple[uvicorn.Server, threading.Thread]:
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, log_level="warning", access_log=False,
                                          lifespan="off", ssl_certfile=tls[0] if tls else None,
                                          ssl_keyfile=tls[1] if tls else None))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    return server, thread


def serve(config: ReferenceConfig) -> RunningTarget:
    """Start public and admin apps in background threads; return once both accept connections."""
    public_sock = _bind(config.public_url, "public_url")
    try:
        admin_sock = _bind(config.admin_url, "admin_url")
    except ConfigError:
        public_sock.close()
        raise
    config = dataclasses.replace(config, public_url=_with_port(config.public_url, public_sock.getsockname()[1]),
                                 admin_url=_with_port(config.admin_url, admin_sock.getsockname()[1]))
    try:
        services = build_services(config)
    except ConfigError:
        public_sock.close()
        admin_sock.close()
        raise
    servers: list[tuple[uvicorn.Server, threading.Thread, socket.socket]] = []
    tls = (config.tls_cert, config.tls_key) if config.tls_cert and config.tls_key else None
    for app, sock, name, app_tls in ((create_public_app(config, services), public_sock, "reference-public", tls),
                                     (create_admin_app(config, services), admin_sock, "reference-admin", None)):
        server, thread = _start(app, sock, name, app_tls)
        servers.append((server, thread, sock))
    target = RunningTarget(config, services, servers)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not all(server.started for server, _, _ in servers):
        if time.monotonic() > deadline or any(not thread.is_alive() for _, thread, _ in servers):
            target.stop()
            raise ConfigError("the reference target did not start in time")
        time.sleep(0.01)
    return target
