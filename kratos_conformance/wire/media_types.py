"""What a ``Content-Type`` value names, read the same way everywhere: its media type, without parameters."""

from __future__ import annotations


def media_type(content_type: str | None) -> str:
    """The media type of a ``Content-Type`` value in lower case, its parameters dropped (``""`` for none):
    ``Application/JSON; charset=utf-8`` is ``application/json``."""
    return (content_type or "").split(";")[0].strip().lower()
