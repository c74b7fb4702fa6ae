"""Enumeration beyond the body: an unknown address must not be told apart by the time or the headers of its answer."""

from __future__ import annotations

import math
import statistics
import uuid
from typing import cast

import pytest
from security_load import Load

from kratos_conformance.flows.admin_api import AdminApi, unique_address
from kratos_conformance.flows.verifier import Verifier
from kratos_conformance.rules import checks
from kratos_conformance.rules.checks import Measurement
from kratos_conformance.rules.response_rules import cookie_shape
from kratos_conformance.run.target import Target
from kratos_conformance.wire.clients import Client
from kratos_conformance.wire.exchanges import Exchange

#: how sure a timing difference must be before it counts (two-sided Mann-Whitney)
SIGNIFICANCE = 0.01
#: headers whose values differ on every answer
VOLATILE_HEADERS = {"date", "content-length", "location", "x-request-id", "traceparent"}


def mann_whitney_p(a: list[float], b: list[float]) -> float:
    """Two-sided p-value of the Mann-Whitney U test (normal approximation, ties given their mean rank)."""
    ranked = sorted([(v, 0) for v in a] + [(v, 1) for v in b])
    ranks = [0.0] * len(ranked)
    i = 0
    while i < len(ranked):
        j = i
        while j + 1 < len(ranked) and ranked[j + 1][0] == ranked[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        i = j + 1
    r_a = sum(rank for rank, (_, group) in zip(ranks, ranked) if group == 0)
    n_a, n_b = len(a), len(b)
    u = r_a - n_a * (n_a + 1) / 2
    mean, sd = n_a * n_b / 2, math.sqrt(n_a * n_b * (n_a + n_b + 1) / 12)
    z = (u - mean) / sd if sd else 0.0
    return math.erfc(abs(z) / math.sqrt(2))


def cohens_d(a: list[float], b: list[float]) -> float:
    pooled = math.sqrt(((len(a) - 1) * statistics.variance(a) + (len(b) - 1) * statistics.variance(b))
                       / (len(a) + len(b) - 2)) or 1e-9
    return (statistics.mean(a) - statistics.mean(b)) / pooled


def submit_timed(client: Client, verifier: Verifier, address: str) -> tuple[float, Exchange]:
    """The milliseconds the server took to answer an email submission for ``address`` (request sent to answer
    read: not the suite's own judging of it, nor a known transient defect's first answer), and its exchange."""
    flow = verifier.new_flow()
    ex = client.submit(flow.id, verifier.email_body(flow, address))
    return ex.elapsed * 1000, ex


@pytest.mark.requirement("VER-ENUM-TIMING")
@pytest.mark.parametrize("kind", ["native"])
def test_known_and_unknown_addresses_take_as_long(verifier: Verifier, admin: AdminApi, target: Target,
                                                  load: Load, req: str) -> None:
    known = [admin.create_identity().email for _ in range(load.samples)]
    known_ms, unknown_ms = [], []
    for address in known:  # interleaved, so drift in the server's load hits both alike
        known_took, known_ex = submit_timed(verifier.client, verifier, address)
        unknown_took, unknown_ex = submit_timed(verifier.client, verifier, unique_address("nobody"))
        known_ms.append(known_took)
        unknown_ms.append(unknown_took)
    evidence = (known_ex, unknown_ex)  # the last pair timed: what was asked and answered, for the report
    difference = statistics.median(known_ms) - statistics.median(unknown_ms)
    p = mann_whitney_p(known_ms, unknown_ms)
    d = cohens_d(known_ms, unknown_ms)
    checks.measure(req, Measurement("effect size (Cohen's d) of the answer time, known vs unknown address",
                                    round(d, 3), limit="reported"), f"effect size d={d:.2f}", *evidence)
    checks.expect(req, abs(difference) <= target.timing_limit_ms or p >= SIGNIFICANCE,
                  f"a known address is answered {difference:+.1f} ms slower (median of {load.samples}; p={p:.2g}, "
                  f"d={d:.2f})", *evidence, name="timing_difference", measurement=Measurement(
                      f"median answer time, known minus unknown address ({load.samples} each; p={p:.2g})",
                      round(difference, 2), "ms", limit=f"at most {target.timing_limit_ms:g} ms, or p >= "
                      f"{SIGNIFICANCE:g}"))


def header_shape(ex: Exchange) -> dict[str, object]:
    """The headers of an answer without what differs on every answer: names, cookie names and attributes, and the
    values of the others."""
    shape: dict[str, object] = {}
    for name, value in ex.response.headers.multi_items():
        name = name.lower()
        if name == "set-cookie":
            cookies = cast(list[tuple[str, tuple[str, ...]]], shape.setdefault("set-cookie", []))
            cookies.append(cookie_shape(value))
        else:
            shape[name] = "<varies>" if name in VOLATILE_HEADERS else value
    return shape


@pytest.mark.requirement("VER-ENUM-SAME-HEADERS")
def test_known_and_unknown_addresses_get_the_same_headers(verifier: Verifier, admin: AdminApi, req: str) -> None:
    known = admin.create_identity().email
    _, known_ex = submit_timed(verifier.client, verifier, known)
    _, unknown_ex = submit_timed(verifier.client, verifier, f"nobody-{uuid.uuid4().hex[:10]}@conformance.test")
    a, b = header_shape(known_ex), header_shape(unknown_ex)
    differing = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    checks.expect(req, not differing,
                  f"headers differ for a known and an unknown address: {differing}", known_ex, unknown_ex,
                  name="same_headers")
