"""Content negotiation: is a request a JSON (API/SPA) request or a browser request?

Contract (mirrors Kratos's x.IsJSONRequest / AcceptToRedirectOrJSON, which use golang gddo's negotiation):
- ``negotiate(accept, offers, default)`` picks the offer best matched by the Accept header: higher q wins;
  at equal q an exact match beats ``type/*`` which beats ``*/*``; earlier offers win remaining ties; no
  usable Accept -> ``default``. q=0 entries are ignored.
- ``is_json_request``: Accept negotiates to application/json among
  [text/html, text/*, */*, application/json] (default text/html), or Content-Type is exactly
  ``application/json``. So ``application/json, text/plain, */*`` (axios) is JSON; ``*/*`` and browsers are not.
- ``is_browser_request``: Accept alone negotiates to text/html among the same offers (Content-Type does not
  count); a successful submission answers such requests with a 303 to the UI.
- ``init_wants_json``: flow init negotiates on Accept only, among [text/html, application/json].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

_JSON = "application/json"
_SUBMIT_OFFERS: tuple[str, ...] = ("text/html", "text/*", "*/*", _JSON)
_INIT_OFFERS: tuple[str, ...] = ("text/html", _JSON)


def parse_accept(accept: str) -> list[tuple[str, float]]:
    """Split an Accept header into (media range, q) pairs; unparsable q values drop the entry."""
    specs: list[tuple[str, float]] = []
    for part in accept.split(","):
        pieces = [piece.strip() for piece in part.split(";")]
        value = pieces[0].lower()
        if not value or "/" not in value:
            continue
        quality = 1.0
        for param in pieces[1:]:
            if param.lower().startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = -1.0
        if 0.0 <= quality <= 1.0:
            specs.append((value, quality))
    return specs


def negotiate(accept: str | None, offers: Sequence[str], default: str) -> str:
    """Return the offer the Accept header prefers (gddo NegotiateContentType semantics)."""
    best_offer, best_q, best_wild = default, -1.0, 3
    specs = parse_accept(accept or "")
    for offer in offers:
        for value, quality in specs:
            if quality == 0.0 or quality < best_q:
                continue
            if value == "*/*":
                if quality > best_q or best_wild > 2:
                    best_offer, best_q, best_wild = offer, quality, 2
            elif value.endswith("/*"):
                if offer.startswith(value[:-1]) and (quality > best_q or best_wild > 1):
                    best_offer, best_q, best_wild = offer, quality, 1
            elif value == offer and (quality > best_q or best_wild > 0):
                best_offer, best_q, best_wild = offer, quality, 0
    return best_offer


def is_json_request(headers: Mapping[str, str]) -> bool:
    """True for API/SPA requests: Accept negotiates to JSON, or Content-Type is exactly application/json."""
    if headers.get("content-type", "") == _JSON:
        return True
    return negotiate(headers.get("accept"), _SUBMIT_OFFERS, "text/html") == _JSON


def is_browser_request(headers: Mapping[str, str]) -> bool:
    """True when Accept (alone) negotiates to text/html: successful submissions then redirect to the UI."""
    return negotiate(headers.get("accept"), _SUBMIT_OFFERS, "text/html") == "text/html"


def init_wants_json(headers: Mapping[str, str]) -> bool:
    """True when a browser-flow init should answer with the flow JSON instead of a redirect."""
    return negotiate(headers.get("accept"), _INIT_OFFERS, "text/html") == _JSON

