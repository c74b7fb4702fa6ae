"""A pytest plugin for the benchmarks only: records every HTTP exchange the suite has with the target, unredacted.

Loaded with ``-p benchmarks.capture_plugin`` and ``KRATOS_CONFORMANCE_CAPTURE=<path>``. It wraps the two HTTP
stacks the suite uses at their lowest level (httpx's transport for the scenarios, the admin API and the fuzzer's
flow pool; requests' adapter for schemathesis), so it sees every request in the order it was sent, including work
done ahead of the scenario that claims it. At the end it writes one JSON line per exchange (request, response and
when it was sent) and one line per mail the SMTP sink received (and when); :mod:`benchmarks.replay` replays them with
a bare client to measure
the floor, and the benchmark deletes the file. Never used by a conformance run: the file holds real cookies, codes
and tokens.
"""

from __future__ import annotations

import base64
import json
import os
import time
from typing import Any

import httpx
import pytest
import requests

from kratos_conformance.run.options import CAPTURE_ENV

ENV = CAPTURE_ENV
_captured: list[dict[str, Any]] = []
_originals: dict[str, Any] = {}


def _b64(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def _httpx_handle_request(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
    body = request.read()
    sent_at = time.time()
    response = _originals["httpx"](self, request)
    try:
        raw = b"".join(response.iter_raw())  # as sent (the suite reads answers raw, to a deadline)
    finally:
        response.close()
    _captured.append({
        "kind": "http", "t": sent_at, "method": request.method, "url": str(request.url),
        "headers": [[k, v] for k, v in request.headers.multi_items() if k.lower() != "content-length"],
        "body": _b64(body), "status": response.status_code,
        "response_headers": [[k, v] for k, v in response.headers.multi_items()],
        "response_body": _b64(raw),
    })
    # the suite streams the answer itself: hand it an unread one holding the same bytes
    return httpx.Response(response.status_code, headers=response.headers, stream=httpx.ByteStream(raw),
                          request=request, extensions=response.extensions)


def _requests_send(self: requests.adapters.HTTPAdapter, request: requests.PreparedRequest,
                   *args: Any, **kwargs: Any) -> requests.Response:
    sent_at = time.time()
    response = _originals["requests"](self, request, *args, **kwargs)
    raw_headers = getattr(getattr(response, "raw", None), "headers", None)
    headers = list(raw_headers.items()) if raw_headers is not None else list(response.headers.items())
    _captured.append({
        "kind": "http", "t": sent_at, "method": request.method, "url": request.url,
        "headers": [[k, v] for k, v in request.headers.items() if k.lower() != "content-length"],
        "body": _b64(request.body), "status": response.status_code,
        "response_headers": [[k, v] for k, v in headers], "response_body": _b64(response.content),
    })
    return response


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get(ENV) or _originals:
        return
    _originals["httpx"] = httpx.HTTPTransport.handle_request
    _originals["requests"] = requests.adapters.HTTPAdapter.send
    httpx.HTTPTransport.handle_request = _httpx_handle_request  # type: ignore[method-assign]
    requests.adapters.HTTPAdapter.send = _requests_send  # type: ignore[method-assign]


@pytest.fixture(scope="session", autouse=True)
def _capture_run(conformance_run: Any) -> Any:  # the plugin's session fixture
    """At the end: the target's base URLs and every mail received, next to the exchanges."""
    yield
    path = os.environ.get(ENV)
    if not path or conformance_run.target is None:
        return
    mails = [{"kind": "mail", "t": m.received_at, "to": list(m.recipients), "code": m.code,
              "link": m.verification_link}
             for m in getattr(conformance_run.mail, "all_messages", list)()]
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps({"kind": "target", "public_url": conformance_run.target.public_url,
                              "admin_url": conformance_run.target.admin_url}) + "\n")
        for item in [*_captured, *mails]:
            out.write(json.dumps(item) + "\n")
    _captured.clear()
