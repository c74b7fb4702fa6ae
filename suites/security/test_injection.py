"""Injection: what a client puts in headers and query values must not redirect users elsewhere or reach headers.

Open-redirect variants are built from the allow-listed ``--return-to``; each is judged the way a browser reads a URL
(backslashes in http(s) URLs are slashes to a browser). A variant the release profile knows its Kratos release accepts
is tolerated by that profile (its own defect, see kratos_conformance/rules/profiles.py) and shown among the
measurements.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest

from kratos_conformance.flows.admin_api import AdminApi
from kratos_conformance.flows.verifier import Verifier, flow_in
from kratos_conformance.rules import checks
from kratos_conformance.rules.checks import Measurement
from kratos_conformance.run.target import API_INIT, BROWSER_INIT, GET_FLOW, SUBMIT, Target
from kratos_conformance.wire.clients import Client
from kratos_conformance.wire.exchanges import Exchange

EVIL = "evil.conformance.invalid"


def as_a_browser_reads(url: str, base: str) -> str:
    """``url`` resolved the way a browser's URL parser does (WHATWG): leading and trailing blanks and control
    characters dropped, tabs and newlines removed, backslashes read as slashes in http(s) URLs."""
    cleaned = re.sub(r"[\t\n\r]", "", url.strip(" \x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f"))
    scheme = cleaned.split(":", 1)[0].lower() if ":" in cleaned else ""
    if scheme in ("http", "https", ""):
        cleaned = cleaned.replace("\\", "/")
    return urljoin(base, cleaned)


#: variants that lead nowhere else as a browser reads them, only once a server decodes them (``/%2F%2Fevil/`` is a
#: path on the allowed host; ``allowed%40evil`` no valid host): a server may accept them, and they are judged at the
#: continue URL only, which must still lead to the allowed host.
DECODED_ONLY = frozenset({"percent-encoded slashes", "percent-encoded userinfo"})


def variants(allowed: str) -> dict[str, str]:
    """Open-redirect forms of an allow-listed URL, by name (:data:`VARIANTS`)."""
    parts = urlsplit(allowed)
    scheme, host = parts.scheme, parts.netloc
    return {
        "scheme-relative": f"//{EVIL}/",
        "userinfo": f"{scheme}://{host}@{EVIL}/",
        "look-alike suffix": f"{scheme}://{parts.hostname}.{EVIL}/",
        "javascript": "javascript:alert(document.domain)//",
        "percent-encoded": f"{scheme}%3A%2F%2F{EVIL}%2F",
        "percent-encoded slashes": f"/%2F%2F{EVIL}/",
        "percent-encoded userinfo": f"{scheme}://{host}%40{EVIL}/",
        "backslash": f"{scheme}:\\\\{EVIL}\\",
        "backslash userinfo": f"{scheme}://{EVIL}\\@{host}/",
    }


#: the variants' names, one test case each: a server that refuses the first may still accept the last
VARIANTS = tuple(variants("https://allowed.example/"))


@pytest.mark.requirement("VER-RETURN-TO-OPEN-REDIRECT")
@pytest.mark.parametrize("variant", VARIANTS, ids=[name.replace(" ", "-") for name in VARIANTS])
@pytest.mark.parametrize("kind", ["native", "browser"])
def test_return_to_cannot_lead_elsewhere(verifier: Verifier, admin: AdminApi, target: Target, kind: str,
                                         variant: str, req: str) -> None:
    """The variant is refused at init (a 4xx, JSON even for browsers), or else the continue URL of a flow that
    passed with it leads nowhere but the allowed host: the native app's way (both inits, the API flow walked) and
    the browser's (its init, the browser flow walked)."""
    if target.return_to is None:
        pytest.skip("no allow-listed --return-to given for this target: its variants cannot be built")
    allowed = urlsplit(target.return_to)
    value = variants(target.return_to)[variant]
    known = target.profile.tolerates(req, variant)
    answers = [verifier.client.init_browser(return_to=value)]
    if kind == "native":
        answers.append(verifier.client.init_api(return_to=value))
    for init in answers if variant not in DECODED_ONLY else ():
        checks.expect_unless_known(req, 400 <= init.status < 500, f"return_to {variant} ({value!r}) was not refused "
                                   f"by {init.operation}: {init.status}", init, name="return_to_refused", known=known)
    ex = answers[-1]  # the init of the flow this kind walks
    if ex.status >= 400:
        return
    identity = admin.create_identity()
    _, step = verifier.passed(identity.email, return_to=value)
    continue_url = str(step.flow.continue_url if step.flow else "")
    lands = urlsplit(as_a_browser_reads(continue_url, target.public_url))
    elsewhere = lands.scheme not in ("http", "https") or lands.netloc != allowed.netloc
    checks.expect_unless_known(req, not elsewhere, f"return_to {variant} ({value!r}) was accepted and a browser "
                               f"following the continue URL {continue_url!r} lands on "
                               f"{lands.scheme}://{lands.netloc}", ex, step.exchange, name="continue_url_kept_home",
                               known=known,  # a figure only where it led elsewhere, not for one kept home
                               measurement=Measurement(f"return_to {variant} ({value}) became a continue URL "
                                                       "leading elsewhere", 1) if elsewhere else None)


def action_host(ex: Exchange, target: Target) -> str | None:
    """The host of ``ui.action`` in a flow the answer carries, a relative action read against the public URL as a
    browser would (None: no flow, or no action)."""
    flow = flow_in(ex)
    action = str(flow.ui.get("action") or "") if flow is not None else ""
    return urlsplit(urljoin(target.public_url, action)).netloc if action else None


@pytest.mark.requirement("VER-INJECT-HOST-HEADER")
@pytest.mark.parametrize("kind", ["native"])
@pytest.mark.parametrize("header", ["Host", "X-Forwarded-Host"])
def test_a_forged_host_moves_neither_the_link_nor_the_action(verifier: Verifier, admin: AdminApi, target: Target,
                                                             header: str, req: str) -> None:
    """The control is the flow an unforged request creates: a forged host at its creation or at the email
    submission must leave ui.action where the control has it, and the mailed links on the public URL's host."""
    identity = admin.create_identity()
    flow = verifier.new_flow()
    public = urlsplit(target.public_url).netloc
    own = action_host(verifier.client.get_flow(flow.id), target) or public
    forged = {header: EVIL}
    created = verifier.client.init(headers=forged)
    moved = action_host(created, target)
    if moved is not None:  # no flow came back (the forged host refused, say): nothing moved
        checks.expect(req, moved == own, f"with {header}: {EVIL} the new flow's ui.action is on {moved}, not {own}",
                      created, name="forged_host_at_init")
    ex = verifier.client.submit(flow.id, verifier.email_body(flow, identity.email), headers=forged)
    moved = action_host(ex, target)
    if moved is not None:
        checks.expect(req, moved == own, f"with {header}: {EVIL} the submission's ui.action is on {moved}, not {own}",
                      ex, name="forged_host_at_submission")
    if ex.status != 200:
        return  # the forged host was refused (or routed nowhere): no mail to judge
    mail = verifier.wait_mail(identity.email, flow)
    hosts = {urlsplit(link).netloc for link in mail.links}
    if hosts:  # a mail without links has no host to move: not evidence either way
        checks.expect(req, hosts <= {public}, f"the mail links to {sorted(hosts - {public})}, not only to {public}",
                      ex, name="forged_host_in_mail")


@pytest.mark.requirement("VER-INJECT-CRLF")
@pytest.mark.parametrize("kind", ["browser"])
def test_cr_and_lf_in_query_values_never_reach_a_header(client: Client, target: Target, req: str) -> None:
    injected = "%0d%0aX-Injected:%20yes"
    allowed = target.return_to or target.public_url
    for url in (f"{target.public(BROWSER_INIT)}?return_to={allowed}{injected}",
                f"{target.public(API_INIT)}?return_to={allowed}{injected}",
                f"{target.public(GET_FLOW)}?id=00000000-0000-0000-0000-000000000000{injected}",
                f"{target.public(SUBMIT)}?flow=00000000-0000-0000-0000-000000000000{injected}"):
        ex = client.request("GET", url)
        leaked = [(k, v) for k, v in ex.response.headers.multi_items()
                  if k.lower() == "x-injected" or "\r" in v or "\n" in v]
        checks.expect(req, not leaked, f"an injected line reached the headers: {leaked}", ex, name="crlf_in_headers")
