"""Races: what one request may do once must stay done once when many arrive at the same moment.

Each scenario proves a challenge the ordinary way first (a native app's API flow: no cookie binds the racers), then
sends the racing requests through :meth:`Client.race`: every racer on its own connection, released together (all
at once, or in rounds of ``--race-concurrency``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest
from security_load import Load

from kratos_conformance.flows.admin_api import AdminApi, Identity
from kratos_conformance.flows.verifier import Verifier, flow_in, replaced
from kratos_conformance.mail import wrong_codes
from kratos_conformance.rules import checks
from kratos_conformance.rules import message_ids as ids
from kratos_conformance.rules.checks import Measurement
from kratos_conformance.rules.profiles import within_known_race
from kratos_conformance.run.target import SUBMIT, Target
from kratos_conformance.wire.exchanges import Exchange
from kratos_conformance.wire.query import query_param

#: one racing request for :meth:`Client.race`: method, URL, httpx keyword arguments
Racer = tuple[str, str, dict[str, Any]]

pytestmark = pytest.mark.parametrize("kind", ["native"])


def passed(ex: Exchange) -> bool:
    """The answer says the flow passed its challenge (JSON body, or a 200 from the link)."""
    flow = flow_in(ex)
    return ex.status == 200 and flow is not None and flow.state == "passed_challenge"


def judged_wrong(ex: Exchange) -> bool:
    """The answer says the code was wrong (CODE_INVALID_OR_USED): the server evaluated the attempt."""
    flow = flow_in(ex)
    return ex.status == 200 and flow is not None and ids.CODE_INVALID_OR_USED in flow.message_ids


def locked_out(racing: Sequence[Exchange], target: Target) -> str | None:
    """Why one of the racing answers is a transient error the release profile knows as its own defect (Kratos's
    locked SQLite refusing a write, or its concurrent-update conflict), which may have refused the racer that
    should have won; None if none is."""
    return next(filter(None, (target.profile.tolerates_transient(ex.status, ex.response_body) for ex in racing)), None)


def answers(racing: Sequence[Exchange]) -> str:
    """The racers' answers, counted by status and what they said (flow state or error id), for a failure's detail."""
    def said(ex: Exchange) -> str:
        flow = flow_in(ex)
        if flow is not None:
            return f"{ex.status} {flow.state}"
        return f"{ex.status} {ex.error_id or ''}".rstrip()
    return ", ".join(f"{n}x {what}" for what, n in Counter(map(said, racing)).most_common())


def single_use(racing: Sequence[Exchange], req: str, what: str, admin: AdminApi, identity: Identity,
               target: Target) -> None:
    """Exactly one of the racers verified, and then the address is verified; the count is reported.

    A few winners are tolerated where the release profile knows them as its defect (Kratos on PostgreSQL), no more
    than that defect was measured to let through (:func:`within_known_race`). None is a failure too (the user proved
    the code and stays unverified), tolerated only in the shape the profile knows it in (Kratos on SQLite: every
    racer answered as the flow replaced, or with a transient answer the profile knows)."""
    wins = [ex for ex in racing if passed(ex)]
    if wins:
        known = target.profile.tolerates(req) if within_known_race(len(wins), len(racing)) else None
    else:
        like_kratos = all(replaced(ex, query_param(ex.url, "flow")) or locked_out([ex], target) for ex in racing)
        known = target.profile.tolerates(req, "no-winner") if like_kratos else None
    checks.expect_unless_known(req, len(wins) == 1,
                               f"{len(wins)} of {len(racing)} {what} verified (answers: {answers(racing)})",
                               *(wins or racing)[:3], name="single_verification", known=known,
                               measurement=Measurement(f"verifications among {len(racing)} {what}", len(wins),
                                                       limit="exactly 1"))
    if wins:
        checks.address_verified(*admin.address(identity), req)


def submissions(target: Target, flow_id: str, bodies: list[dict[str, Any]]) -> list[Racer]:
    """One code submission to a flow per body, for :meth:`Client.race`."""
    return [("POST", target.public(SUBMIT, flow=flow_id), {"json": body}) for body in bodies]


@pytest.mark.requirement("VER-RACE-CODE-SINGLE-USE")
@pytest.mark.usefixtures("code_method")
def test_one_correct_code_verifies_once_however_many_race(verifier: Verifier, admin: AdminApi, target: Target,
                                                          load: Load, req: str) -> None:
    identity = admin.create_identity()
    flow, mail = verifier.sent(identity.email)
    racing = verifier.client.race(submissions(target, flow.id,
                                              [verifier.code_body(flow, str(mail.code))] * load.racers),
                                  load.at_once(load.racers))
    single_use(racing, req, "simultaneous correct codes", admin, identity, target)


@pytest.mark.requirement("VER-RACE-LINK-SINGLE-USE")
@pytest.mark.usefixtures("link_method")
def test_one_link_verifies_once_however_many_race(verifier: Verifier, admin: AdminApi, target: Target,
                                                 load: Load, req: str) -> None:
    identity = admin.create_identity()
    _, mail = verifier.sent(identity.email)
    link = str(mail.verification_link)
    racing = verifier.client.race([("GET", link, {}) for _ in range(load.racers)], load.at_once(load.racers))
    single_use(racing, req, "simultaneous openings of the link", admin, identity, target)


@pytest.mark.requirement("VER-RACE-ATTEMPT-LIMIT")
@pytest.mark.usefixtures("code_method")
def test_simultaneous_wrong_codes_are_counted_against_the_limit(verifier: Verifier, admin: AdminApi, target: Target,
                                                                load: Load, req: str) -> None:
    limit = target.max_submissions
    if load.wrong_codes <= limit:
        pytest.skip(f"{load.wrong_codes} wrong codes cannot exceed max_submissions {limit} "
                    "(--race-wrong-codes)")
    identity = admin.create_identity()
    flow, mail = verifier.sent(identity.email)
    together = load.at_once(load.wrong_codes)
    bodies = [verifier.code_body(flow, wrong) for wrong in wrong_codes(mail.code, load.wrong_codes)]
    racing = verifier.client.race(submissions(target, flow.id, bodies), together)
    evaluated = [ex for ex in racing if judged_wrong(ex)]
    sent = "at once" if together == len(racing) else f"{together} at a time"
    checks.expect(req, len(evaluated) <= limit,
                  f"{len(evaluated)} of {len(racing)} wrong codes sent {sent} were evaluated (max_submissions "
                  f"{limit})", *evaluated[:3], name="attempts_evaluated",
                  measurement=Measurement(f"wrong codes evaluated among {len(racing)} sent {sent}", len(evaluated),
                                          limit=f"at most {limit}"))
    late = verifier.client.submit(flow.id, verifier.code_body(flow, str(mail.code)))
    checks.expect(req, not passed(late), "the right code still verified the flow after the attempt limit", late,
                  name="right_code_refused_after_limit")
    checks.address_not_verified(*admin.address(identity), req, after="the right code after the attempt limit")


@pytest.mark.requirement("VER-RACE-TWO-FLOWS")
def test_two_flows_for_one_address_proven_at_once(verifier: Verifier, admin: AdminApi, active_method: str,
                                                  target: Target, load: Load, req: str) -> None:
    identity = admin.create_identity()
    first, first_mail = verifier.sent(identity.email)
    second, second_mail = verifier.sent(identity.email)
    if active_method == "code":
        racing = verifier.client.race([
            ("POST", target.public(SUBMIT, flow=first.id), {"json": verifier.code_body(first, str(first_mail.code))}),
            ("POST", target.public(SUBMIT, flow=second.id), {"json": verifier.code_body(second,
                                                                                         str(second_mail.code))}),
        ], 2)
    else:
        racing = verifier.client.race([("GET", str(first_mail.verification_link), {}),
                                       ("GET", str(second_mail.verification_link), {})], 2)
    wins = [ex for ex in racing if passed(ex)]
    # a racer answered with the release's known transient defect (SQLite's table lock) is not held to passing
    lost = [ex for ex in racing
            if not passed(ex) and not target.profile.tolerates_transient(ex.status, ex.response_body)]
    # the profile's known defect is one flow refused the way Kratos refuses it, by replacing it; not two, not another
    like_kratos = len(lost) == 1 and replaced(lost[0], query_param(lost[0].url, "flow"))
    known = (target.profile.tolerates(req) if like_kratos else None) if lost else locked_out(racing, target)
    checks.expect_unless_known(req, len(wins) == 2, f"{len(wins)} of the two flows passed, each proven with its own "
                               f"{'code' if active_method == 'code' else 'link'} (answers: {answers(racing)})",
                               *(lost or racing), name="both_flows_passed", known=known,
                               measurement=Measurement("flows passed among two proven at once", len(wins), limit="2"))
    if wins:
        checks.address_verified(*admin.address(identity), req)


@pytest.mark.requirement("VER-RACE-RESEND")
@pytest.mark.usefixtures("code_method")
def test_a_resend_racing_the_old_code(verifier: Verifier, admin: AdminApi, target: Target, load: Load,
                                      req: str) -> None:
    identity = admin.create_identity()
    flow, mail = verifier.sent(identity.email)
    racing = verifier.client.race([
        ("POST", target.public(SUBMIT, flow=flow.id), {"json": verifier.email_body(flow, identity.email)}),
        ("POST", target.public(SUBMIT, flow=flow.id), {"json": verifier.code_body(flow, str(mail.code))}),
    ], 2)
    # the race records its answers in the order they came back: tell the two apart by what they sent
    resend, code = sorted(racing, key=lambda ex: '"email"' not in ex.request_body)
    now = verifier.fetch(flow.id)
    checks.expect(req, now.state in ("passed_challenge", "sent_email"),
                  f"after the race the flow is in {now.state!r}", resend, code, name="flow_state_after_race")
    # one of them came first: the code (the flow passed, and a resend to a passed flow sends nothing) or the resend
    # (it dropped the old code, which then no longer verifies); a resend that mailed a new code AND the old code
    # verifying means the old code outlived the resend (a known defect of Kratos)
    resent = resend.status == 200 and (flow_in(resend) or now).state == "sent_email"
    checks.expect_unless_known(req, not (resent and passed(code)), "the resend mailed a new code, and the old code, "
                               "racing it, verified the flow all the same", resend, code,
                               known=target.profile.tolerates(req), name="old_code_lost_race")
