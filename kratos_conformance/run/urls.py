"""URLs a user gives (options, mail sources, recordings' settings), checked once: a malformed one ends the run with
one line naming the option, never an error of the URL parser."""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

from kratos_conformance.errors import CannotJudge


def parse_given_url(option: str, value: str, *, schemes: tuple[str, ...] = ("http", "https"),
                    port_required: bool = False, example: str = "https://id.example.com/") -> SplitResult:
    """``value`` split, once it has one of ``schemes``, a host and, if given (or ``port_required``), a port in
    1-65535; else :class:`CannotJudge` naming ``option`` (``--public-url``) and ``example``."""
    try:
        parts = urlsplit(value)
        port = parts.port  # raises on a port that is no number or out of range
        host = parts.hostname
    except ValueError as exc:
        raise CannotJudge(f"{option}: {value!r} is not a URL ({exc}), e.g. {example}") from None
    if parts.scheme not in schemes or not host:
        kind = "http(s)" if set(schemes) == {"http", "https"} else "/".join(schemes)
        raise CannotJudge(f"{option}: {value!r} is not an {kind} URL with a host, e.g. {example}")
    if port == 0 or (port_required and port is None):
        raise CannotJudge(f"{option}: {value!r} needs a port in 1-65535, e.g. {example}")
    return parts


def is_port(value: str) -> bool:
    """``value`` is a TCP port number, 1-65535 (ASCII digits only: ``"²".isdigit()`` is true)."""
    return value.isascii() and value.isdigit() and 0 < int(value) < 65536
