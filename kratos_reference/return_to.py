"""The return_to allow-list (Kratos's SecureRedirectTo).

Contract:
- The allow-list is the configured ``allowed_return_urls`` plus ``<public base>self-service``.
- A return_to is allowed when, after filling a missing scheme/host from the default return URL, some
  allow-list entry has the same scheme (case-insensitive), a matching host (exact, case-insensitive, port
  included; an entry host ``*.example.com`` matches any host ending in ``.example.com``) and a path that is a
  prefix of the return_to path (an empty path counts as "/").
- ``check_return_to`` returns the resolved URL, or raises ``ReturnToForbidden`` with the Kratos reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import SplitResult, urlsplit, urlunsplit


class ReturnToForbidden(ValueError):
    """return_to is not on the allow-list (or cannot be parsed); ``str(exc)`` is the error reason."""

    error_id: str | None

    def __init__(self, reason: str, error_id: str | None = "self_service_flow_return_to_forbidden") -> None:
        super().__init__(reason)
        self.error_id = error_id


def _host_allowed(candidate: SplitResult, allowed: SplitResult) -> bool:
    allowed_host = allowed.netloc.rpartition("@")[2].lower()
    candidate_host = candidate.netloc.rpartition("@")[2].lower()
    if allowed_host.startswith("*"):
        return candidate_host.endswith(allowed_host[1:])
    return allowed_host == candidate_host


def check_return_to(raw: str, allow_list: Sequence[str], public_url: str, default_return_url: str) -> str:
    """Resolve ``raw`` against the allow-list; the resolved URL string, or ReturnToForbidden."""
    try:
        candidate = urlsplit(raw)
        default = urlsplit(default_return_url)
        candidate = candidate._replace(scheme=candidate.scheme or default.scheme,
                                       netloc=candidate.netloc or default.netloc)
    except ValueError as exc:
        raise ReturnToForbidden(f"Unable to parse the return_to query parameter as an URL: {exc}", None) from None
    entries = [*allow_list, public_url.rstrip("/") + "/self-service"]
    for entry in entries:
        allowed = urlsplit(entry)
        if (allowed.scheme.lower() == candidate.scheme.lower() and _host_allowed(candidate, allowed)
                and (candidate.path or "/").startswith(allowed.path or "/")):
            return urlunsplit(candidate)
    raise ReturnToForbidden(f'Requested return_to URL "{urlunsplit(candidate)}" is not allowed.')
