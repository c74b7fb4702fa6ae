"""A pytest plugin for the benchmarks only: writes every request the suite sent, unredacted, to a file.

Loaded with ``-p benchmarks.capture_plugin`` and ``KRATOS_CONFORMANCE_CAPTURE=<path>``; the benchmark replays the
requests with a bare client to measure the floor, then deletes the file. Never used by a conformance run: the file
holds real cookies, codes and tokens.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator

import pytest

from kratos_conformance.exchanges import Exchange


@pytest.fixture(scope="session", autouse=True)
def _capture_requests(conformance_run) -> Iterator[None]:  # noqa: ANN001 - the plugin's session fixture
    path = os.environ.get("KRATOS_CONFORMANCE_CAPTURE")
    if not path:
        yield
        return
    captured: list[dict[str, object]] = []

    def keep(ex: Exchange) -> None:
        request = ex.response.request
        captured.append({
            "method": request.method,
            "url": str(request.url),
            "headers": [[k, v] for k, v in request.headers.multi_items() if k.lower() != "content-length"],
            "body": base64.b64encode(request.content).decode(),
            "public_url": conformance_run.target.public_url,
            "admin_url": conformance_run.target.admin_url,
        })

    conformance_run.recorder.add_listener(keep)
    yield
    with open(path, "a", encoding="utf-8") as out:
        for item in captured:
            out.write(json.dumps(item) + "\n")
