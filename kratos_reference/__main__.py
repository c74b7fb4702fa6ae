"""Command line: ``python -m kratos_reference`` / ``kratos-reference``.

Contract:
- ``--config FILE.yaml`` loads settings (keys as ReferenceConfig.from_mapping); the flags override single
  settings; list flags (--allowed-return-url, --fault) replace the file's list when given.
- On start prints ONE line to stdout: ``reference target listening: public <url> admin <url> method <m>``
  (real URLs, port 0 resolved) and runs until SIGTERM/SIGINT, then exits 0.
- A bad option, bad config or a port in use: one line ``kratos-reference: error: <why>`` on stderr, exit 2.
- ``--list-faults`` prints ``<name>\t<methods>\t<description>`` per known fault and exits 0; ``<methods>`` is
  ``code``, ``link`` or ``code,link``: the methods whose behaviour the fault changes.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import yaml

from .config import ConfigError, ReferenceConfig
from .faults import FAULT_METHODS, KNOWN_FAULTS
from .server import serve

PROG = "kratos-reference"


class UsageError(Exception):
    """A command-line problem; the message is one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    """The option parser (errors raise UsageError instead of exiting)."""
    parser = _Parser(prog=PROG, description="Run the embedded Kratos-compatible verification reference target.")
    parser.add_argument("--config", metavar="FILE.yaml", help="YAML file with settings (ReferenceConfig keys)")
    parser.add_argument("--public-url", dest="public_url")
    parser.add_argument("--admin-url", dest="admin_url")
    parser.add_argument("--method", choices=["code", "link"])
    parser.add_argument("--flow-lifespan", dest="flow_lifespan", metavar="DURATION")
    parser.add_argument("--code-lifespan", dest="code_lifespan", metavar="DURATION")
    parser.add_argument("--link-lifespan", dest="link_lifespan", metavar="DURATION")
    parser.add_argument("--max-submissions", dest="max_submissions", type=int)
    parser.add_argument("--notify-unknown-recipients", dest="notify_unknown_recipients", action="store_true",
                        default=None)
    parser.add_argument("--allowed-return-url", dest="allowed_return_urls", action="append", metavar="URL")
    parser.add_argument("--ui-url", dest="ui_url")
    parser.add_argument("--error-ui-url", dest="error_ui_url")
    parser.add_argument("--default-return-url", dest="default_return_url")
    parser.add_argument("--smtp", dest="smtp_url", metavar="smtp://HOST:PORT")
    parser.add_argument("--mail-from", dest="mail_from")
    parser.add_argument("--database", help=":memory: (default) or a SQLite file path")
    parser.add_argument("--admin-token", dest="admin_token")
    parser.add_argument("--max-body-bytes", dest="max_body_bytes", type=int)
    parser.add_argument("--fault", dest="faults", action="append", metavar="NAME", help="see --list-faults")
    parser.add_argument("--disabled", dest="enabled", action="store_false", default=None,
                        help="verification disabled")
    parser.add_argument("--secure-cookies", dest="dev_mode", action="store_false", default=None,
                        help="set the Secure attribute on cookies (not dev mode)")
    parser.add_argument("--cookie-same-site", dest="cookie_same_site", metavar="Lax|Strict|None",
                        help="the cookies' SameSite (Kratos: cookies.same_site); Lax whenever they are not Secure")
    parser.add_argument("--cookie-path", dest="cookie_path", help="the cookies' Path (Kratos: cookies.path)")
    parser.add_argument("--tls-cert", dest="tls_cert", metavar="CERT.pem",
                        help="serve the public API over TLS with this certificate (an https --public-url)")
    parser.add_argument("--tls-key", dest="tls_key", metavar="KEY.pem", help="the certificate's private key")
    parser.add_argument("--unverifiable-email", dest="verifiable_email", action="store_false", default=None,
                        help="the identity schema does not mark the email trait for verification")
    parser.add_argument("--identity-schema-id", dest="identity_schema_id", metavar="ID",
                        help="the id of the one identity schema (Kratos: identity.default_schema_id; default: default)")
    parser.add_argument("--identity-required-trait", dest="identity_required_traits", action="append", metavar="NAME",
                        help="a string trait the identity schema requires besides the email address (repeatable)")
    parser.add_argument("--list-faults", action="store_true", help="list the known faults and exit")
    parser.add_argument("--parent-pid", type=int, metavar="PID",
                        help="stop when the process PID is gone (a test run that started the target and was killed)")
    return parser


def load_config(args: argparse.Namespace) -> ReferenceConfig:
    """Merge the YAML file (if any) and the flags into a validated config."""
    settings: dict[str, Any] = {}
    if args.config:
        try:
            loaded = yaml.safe_load(Path(args.config).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"--config: cannot read {args.config}: {exc.strerror or exc}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"--config: {args.config} is not valid YAML: {str(exc).splitlines()[0]}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"--config: {args.config} must hold a mapping of settings")
        settings.update(loaded or {})
    for key in ("public_url", "admin_url", "method", "flow_lifespan", "code_lifespan", "link_lifespan",
                "max_submissions", "notify_unknown_recipients", "allowed_return_urls", "ui_url", "error_ui_url",
                "default_return_url", "smtp_url", "mail_from", "database", "admin_token", "max_body_bytes",
                "faults", "enabled", "dev_mode", "verifiable_email", "cookie_same_site", "cookie_path",
                "tls_cert", "tls_key", "identity_schema_id", "identity_required_traits"):
        value = getattr(args, key)
        if value is not None:
            settings[key] = value
    return ReferenceConfig.from_mapping(settings)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process of that id: there
    return True


def _fail(message: str) -> int:
    print(f"{PROG}: error: {' '.join(str(message).split())}", file=sys.stderr, flush=True)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the target until SIGTERM/SIGINT; 0 on a clean stop, 2 on a usage/config/start problem."""
    try:
        args = build_parser().parse_args(argv)
        if args.list_faults:
            for name, description in KNOWN_FAULTS.items():
                print(f"{name}\t{','.join(FAULT_METHODS[name])}\t{description}")
            return 0
        config = load_config(args)
        target = serve(config)
    except (UsageError, ConfigError) as exc:
        return _fail(str(exc))
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        print(f"reference target listening: public {target.public_url} admin {target.admin_url} "
              f"method {target.config.method}", flush=True)
        while not stop.wait(0.5):
            if args.parent_pid and not _alive(args.parent_pid):
                print(f"{PROG}: process {args.parent_pid} that started it is gone: stopping", flush=True)
                break
    finally:
        target.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
