"""A URL's query read one way: the flow ids, tokens and codes that redirects, links and requests carry."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit


def query_param(url: str | None, name: str) -> str | None:
    """The first value of query parameter ``name`` in ``url`` (None when ``url`` is empty or has none); a URL that
    cannot be split (an unclosed IPv6 bracket) raises ValueError, as :func:`urllib.parse.urlsplit` does."""
    if not url:
        return None
    values = parse_qs(urlsplit(url).query).get(name)
    return values[0] if values else None
