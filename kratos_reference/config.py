"""Configuration of the reference target.

Contract:
- ``ReferenceConfig`` is an immutable description of one target deployment. Constructing it validates
  every field and raises ``ConfigError`` (a ``ValueError``) with a one-line message on anything bad.
- ``ReferenceConfig.from_mapping`` accepts a plain dict (e.g. parsed YAML) with the same keys as the
  dataclass fields; durations accept numbers (seconds) or strings like "500ms", "3s", "10m", "1h", "1h30m".
  Unknown keys are rejected.
- URL-valued settings that are ``None`` get their defaults from ``public_url`` through the ``effective_*``
  properties, so a config whose port was resolved later (port 0) still derives the right URLs.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

from .faults import KNOWN_FAULTS


def _loadable_key_pair(cert: str, key: str) -> None:
    """ConfigError (one line) unless ``cert`` and ``key`` are a PEM certificate and its private key."""
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key)
    except OSError as exc:  # ssl.SSLError is an OSError too
        why = exc.strerror or getattr(exc, "reason", None) or str(exc)
        raise ConfigError(f"tls_cert and tls_key: cannot load {cert} with {key}: {why}") from None

SUPPORTED_METHODS: tuple[str, ...] = ("code", "link")

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_DURATION_UNITS: dict[str, float] = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class ConfigError(ValueError):
    """A configuration value is invalid; the message is one line and names the offending key."""


def parse_duration(value: object, key: str = "duration") -> float:
    """Return ``value`` as a positive number of seconds.

    Accepts int/float (seconds) and strings made of number+unit parts ("500ms", "3s", "10m", "1h", "1h30m").
    A bare numeric string counts as seconds. Anything else, zero or negative -> ConfigError.
    """
    if isinstance(value, bool):
        raise ConfigError(f"{key}: expected a duration, got a boolean")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            seconds = float(text)
        else:
            if not text or _DURATION_PART.sub("", text) != "":
                raise ConfigError(f"{key}: cannot parse duration {value!r} (use e.g. 500ms, 3s, 10m, 1h)")
            seconds = sum(float(num) * _DURATION_UNITS[unit] for num, unit in _DURATION_PART.findall(text))
    else:
        raise ConfigError(f"{key}: expected a duration, got {type(value).__name__}")
    if not seconds > 0 or seconds != seconds or seconds == float("inf"):
        raise ConfigError(f"{key}: duration must be positive, got {value!r}")
    return seconds


def _normalized_http_url(value: object, key: str) -> str:
    """Validate an absolute http(s) URL with a host and return it with a trailing slash on the path."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key}: expected an http(s) URL")
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"{key}: invalid URL {value!r}: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{key}: expected an absolute http(s) URL, got {value!r}")
    if port is None:
        raise ConfigError(f"{key}: the URL must name a port (0 picks a free one), got {value!r}")
    if parts.query or parts.fragment:
        raise ConfigError(f"{key}: the URL must not carry a query or fragment, got {value!r}")
    path = parts.path or "/"
    if not path.endswith("/"):
        path += "/"
    return f"{parts.scheme}://{parts.netloc}{path}"


def _absolute_url(value: object, key: str) -> str:
    """Validate an absolute http(s) URL (query allowed, no normalisation)."""
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected an http(s) URL")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise ConfigError(f"{key}: invalid URL {value!r}: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{key}: expected an absolute http(s) URL, got {value!r}")
    return value


def parse_smtp_url(value: str) -> tuple[str, int]:
    """Split "smtp://host:port" into (host, port); ConfigError otherwise."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"smtp_url: invalid URL {value!r}: {exc}") from None
    if parts.scheme != "smtp" or not parts.hostname or port is None:
        raise ConfigError(f"smtp_url: expected smtp://host:port, got {value!r}")
    return parts.hostname, port


@dataclass(frozen=True)
class ReferenceConfig:
    """One deployment of the reference target. All fields are validated on construction."""

    public_url: str = "http://127.0.0.1:4433/"
    admin_url: str = "http://127.0.0.1:4434/"
    method: str = "code"
    enabled: bool = True
    flow_lifespan: float = 3600.0
    code_lifespan: float = 3600.0
    link_lifespan: float = 3600.0
    max_submissions: int = 5
    notify_unknown_recipients: bool = False
    #: whether the identity schema marks the email trait for verification (False: identities get no verifiable
    #: address, and no verification mail is ever sent)
    verifiable_email: bool = True
    #: the one identity schema's id (Kratos's identity.default_schema_id) and the traits it requires besides the
    #: email address (strings, e.g. ("name",))
    identity_schema_id: str = "default"
    identity_required_traits: tuple[str, ...] = ()
    allowed_return_urls: tuple[str, ...] = ()
    ui_url: str | None = None
    error_ui_url: str | None = None
    default_return_url: str | None = None
    smtp_url: str = "smtp://127.0.0.1:1025"
    mail_from: str = "no-reply@reference.test"
    database: str = ":memory:"
    dev_mode: bool = True
    #: the cookies' SameSite and Path (Kratos's cookies.same_site and cookies.path); without Secure (dev mode)
    #: the CSRF cookie is Lax whatever is configured, as Kratos does
    cookie_same_site: str = "Lax"
    cookie_path: str = "/"
    #: a PEM certificate and its key: the public API is then served over TLS (its URL must be https)
    tls_cert: str | None = None
    tls_key: str | None = None
    admin_token: str | None = None
    max_body_bytes: int = 1_048_576
    faults: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "public_url", _normalized_http_url(self.public_url, "public_url"))
        set_(self, "admin_url", _normalized_http_url(self.admin_url, "admin_url"))
        if self.method not in SUPPORTED_METHODS:
            raise ConfigError(f"method: expected one of {', '.join(SUPPORTED_METHODS)}, got {self.method!r}")
        for key in ("enabled", "notify_unknown_recipients", "dev_mode", "verifiable_email"):
            if not isinstance(getattr(self, key), bool):
                raise ConfigError(f"{key}: expected true or false, got {getattr(self, key)!r}")
        for key in ("flow_lifespan", "code_lifespan", "link_lifespan"):
            set_(self, key, parse_duration(getattr(self, key), key))
        for key, minimum in (("max_submissions", 1), ("max_body_bytes", 256)):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ConfigError(f"{key}: expected an integer >= {minimum}, got {value!r}")
        if not isinstance(self.identity_schema_id, str) or not self.identity_schema_id:
            raise ConfigError(f"identity_schema_id: expected a name, got {self.identity_schema_id!r}")
        if isinstance(self.identity_required_traits, str) or not all(
                isinstance(t, str) and t and t != "email" for t in self.identity_required_traits):
            raise ConfigError("identity_required_traits: expected a list of trait names other than email")
        set_(self, "identity_required_traits", tuple(self.identity_required_traits))
        if isinstance(self.allowed_return_urls, str) or not isinstance(self.allowed_return_urls, (tuple, list)):
            raise ConfigError("allowed_return_urls: expected a list of URLs")
        set_(self, "allowed_return_urls", tuple(
            _absolute_url(url, "allowed_return_urls") for url in self.allowed_return_urls))
        for key in ("ui_url", "error_ui_url", "default_return_url"):
            if getattr(self, key) is not None:
                _absolute_url(getattr(self, key), key)
        if not isinstance(self.cookie_same_site, str) or self.cookie_same_site.title() not in ("Lax", "Strict", "None"):
            raise ConfigError(f"cookie_same_site: expected Lax, Strict or None, got {self.cookie_same_site!r}")
        set_(self, "cookie_same_site", self.cookie_same_site.title())
        if not isinstance(self.cookie_path, str) or not self.cookie_path.startswith("/"):
            raise ConfigError(f"cookie_path: expected a path starting with /, got {self.cookie_path!r}")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigError("tls_cert and tls_key: give both or neither")
        if (self.tls_cert is not None) != self.public_url.startswith("https://"):
            raise ConfigError("public_url: https needs tls_cert and tls_key, and they need an https public_url")
        if self.tls_cert is not None and self.tls_key is not None:
            _loadable_key_pair(self.tls_cert, self.tls_key)
        if not isinstance(self.smtp_url, str):
            raise ConfigError("smtp_url: expected smtp://host:port")
        parse_smtp_url(self.smtp_url)
        if not isinstance(self.mail_from, str) or "@" not in self.mail_from:
            raise ConfigError(f"mail_from: expected an email address, got {self.mail_from!r}")
        if not isinstance(self.database, str) or not self.database:
            raise ConfigError("database: expected ':memory:' or a file path")
        if self.admin_token is not None and (not isinstance(self.admin_token, str) or not self.admin_token):
            raise ConfigError("admin_token: expected a non-empty string")
        if isinstance(self.faults, str) or not isinstance(self.faults, (frozenset, set, tuple, list)):
            raise ConfigError("faults: expected a list of fault names")
        unknown = sorted(str(name) for name in self.faults if name not in KNOWN_FAULTS)
        if unknown:
            raise ConfigError(f"faults: unknown fault {unknown[0]!r} (see --list-faults)")
        set_(self, "faults", frozenset(self.faults))

    # --- derived values -------------------------------------------------------------------------

    @property
    def public_prefix(self) -> str:
        """The path prefix of the public API without trailing slash ("" or e.g. "/auth")."""
        return urlsplit(self.public_url).path.rstrip("/")

    @property
    def admin_prefix(self) -> str:
        """The path prefix of the admin API without trailing slash."""
        return urlsplit(self.admin_url).path.rstrip("/")

    @property
    def effective_ui_url(self) -> str:
        """The verification UI URL (default: served by this target under <public>ui/verification)."""
        return self.ui_url or self.public_url + "ui/verification"

    @property
    def effective_error_ui_url(self) -> str:
        """The error UI URL (default: served by this target under <public>ui/error)."""
        return self.error_ui_url or self.public_url + "ui/error"

    @property
    def effective_default_return_url(self) -> str:
        """Where a finished flow continues when no allowed return_to was given."""
        return self.default_return_url or self.public_url + "ui/welcome"

    @property
    def smtp_host_port(self) -> tuple[str, int]:
        """The courier's SMTP server as (host, port)."""
        return parse_smtp_url(self.smtp_url)

    # --- construction from plain data ---------------------------------------------------------

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ReferenceConfig:
        """Build a config from a dict with the dataclass's field names as keys; ConfigError on anything bad."""
        if not isinstance(data, Mapping):
            raise ConfigError("config: expected a mapping of settings")
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(key) for key in data if key not in known)
        if unknown:
            raise ConfigError(f"config: unknown setting {unknown[0]!r}")
        values = dict(data)
        for key in ("allowed_return_urls", "faults"):
            if key in values:
                raw = values[key]
                if raw is None:
                    raw = []
                if isinstance(raw, str) or not isinstance(raw, (list, tuple, set, frozenset)):
                    raise ConfigError(f"{key}: expected a list")
                values[key] = tuple(raw) if key == "allowed_return_urls" else frozenset(raw)
        return cls(**values)
