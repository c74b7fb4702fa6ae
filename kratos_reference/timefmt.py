"""Time in the reference target: integer microseconds since the epoch, rendered like Go's RFC3339Nano.

Contract: ``now_us()`` is the current UTC time in microseconds; ``format_time(us)`` renders it as
"2024-05-01T12:00:00.123456Z" (UTC, "Z", fractional seconds without trailing zeros, none when zero),
which is how Kratos (Go's time.Time JSON) writes timestamps.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now_us() -> int:
    """The current time in whole microseconds since the Unix epoch."""
    return time.time_ns() // 1000


def format_time(us: int) -> str:
    """Render microseconds since the epoch as an RFC3339 UTC timestamp with trimmed fractional seconds."""
    seconds, micros = divmod(us, 1_000_000)
    stamp = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{micros:06d}".rstrip("0")
    return f"{stamp}.{fraction}Z" if fraction else f"{stamp}Z"
