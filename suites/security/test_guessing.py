"""Guessing: a code must be hopeless to guess online, and no code or token may tell the next one.

The arithmetic uses what the server shows: the code space from the codes it mails (their length and alphabet), the
attempt limit from how many wrong codes a flow takes before it is replaced, the flow-creation rate from creating
flows one after the other (one client; an attacker with more clients does better).
"""

from __future__ import annotations

import string
import time

import pytest

from kratos_conformance.flows.admin_api import AdminApi
from kratos_conformance.flows.verifier import Verifier, replaced
from kratos_conformance.mail import wrong_codes
from kratos_conformance.rules import checks
from kratos_conformance.rules.checks import Measurement
from kratos_conformance.run.target import Target

#: wrong codes tried at most before the attempt limit counts as missing (or one more than --max-submissions, if
#: that is higher: a server configured for more attempts is judged by the arithmetic, not by this cap)
ATTEMPT_CAP = 30
#: flows created to measure the creation rate
RATE_FLOWS = 10
#: codes read to tell their alphabet (one code of a hex alphabet may hold digits only)
ALPHABET_SAMPLES = 3
#: the alphabets a code may be drawn from, smallest first
ALPHABETS = (string.digits, string.digits + "abcdef", string.digits + "ABCDEF", string.ascii_lowercase,
             string.ascii_uppercase, string.digits + string.ascii_lowercase, string.ascii_letters,
             string.digits + string.ascii_letters)


def alphabet_of(samples: list[str]) -> str:
    """The smallest common alphabet the samples are drawn from (digits, hex, letters, both; else printable)."""
    chars = set("".join(samples))
    return next((alphabet for alphabet in ALPHABETS if chars <= set(alphabet)),
                "".join(sorted(chars | set(string.printable))))


def as_number(value: str, alphabet: str) -> int:
    """``value`` read as a number written in ``alphabet``'s characters, in its order (base ``len(alphabet)``)."""
    number = 0
    for char in value:
        number = number * len(alphabet) + alphabet.index(char)
    return number


@pytest.mark.requirement("VER-CODE-GUESSING")
@pytest.mark.parametrize("kind", ["native"])
@pytest.mark.usefixtures("code_method")
def test_online_guessing_of_a_code_is_hopeless(verifier: Verifier, admin: AdminApi, target: Target, req: str) -> None:
    identity = admin.create_identity()
    flow, mail = verifier.sent(identity.email)
    code = str(mail.code)
    cap = max(ATTEMPT_CAP, target.max_submissions + 1)
    attempts, ended = 0, "never stopped evaluating them"
    for guess in wrong_codes(code, cap):  # distinct guesses, as a guesser sends them
        ex = verifier.client.submit(flow.id, verifier.code_body(flow, guess))
        # the flow ended (replaced, or gone) or the server turned the client away: the guesses on this flow end.
        # Any other answer may have evaluated the guess (an error without the flow tells nothing): it counts.
        if ex.status in (410, 429) or replaced(ex, flow.id):
            ended = f"answer {attempts + 1} was {ex.status}" + (f" {ex.error_id}" if ex.error_id else "")
            break
        attempts += 1
    samples = [code] + [str(verifier.sent(identity.email)[1].code) for _ in range(ALPHABET_SAMPLES - 1)]
    space = len(alphabet_of(samples)) ** len(code)
    started = time.perf_counter()
    for _ in range(RATE_FLOWS):
        verifier.new_flow()
    rate = RATE_FLOWS / (time.perf_counter() - started)
    per_flow = min(1.0, attempts / space)
    per_hour = 1 - (1 - per_flow) ** (rate * 3600)
    capped = attempts >= cap
    checks.expect(req, not capped and per_flow <= target.guess_limit_per_flow,
                  f"{attempts}{'+' if capped else ''} guesses per flow ({ended}) on a space of {space} "
                  f"({len(code)} characters): chance {per_flow:.3g} per flow", ex, name="guess_probability_per_flow",
                  measurement=Measurement("chance to guess a flow's code within its attempt limit", per_flow,
                                          limit=f"at most {target.guess_limit_per_flow:g}"))
    hourly = Measurement(f"chance to guess some code within an hour at {rate:.0f} flows/s", per_hour,
                         limit="reported (--guess-limit-per-hour to judge it)")
    detail = f"at {rate:.0f} new flows per second, {attempts} guesses each: chance {per_hour:.3g} within an hour"
    if target.guess_limit_per_hour is None:
        checks.measure(req, hourly, detail)
    else:
        checks.expect(req, per_hour <= target.guess_limit_per_hour, detail, name="guess_probability_per_hour",
                      measurement=Measurement(hourly.name, per_hour, limit=f"at most {target.guess_limit_per_hour:g}"))


@pytest.mark.requirement("VER-CHALLENGE-UNPREDICTABLE")
@pytest.mark.parametrize("kind", ["native"])
def test_codes_and_tokens_tell_nothing_about_each_other(verifier: Verifier, admin: AdminApi,
                                                        active_method: str, req: str) -> None:
    secrets = []
    for _ in range(2):  # two addresses, two flows each
        identity = admin.create_identity()
        for _ in range(2):
            _, mail = verifier.sent(identity.email)
            secrets.append(str(mail.code if active_method == "code" else mail.token))
    checks.expect(req, len(set(secrets)) == len(secrets), f"{len(secrets) - len(set(secrets))} of {len(secrets)} "
                  f"codes or tokens repeat", name="no_repeated_challenge", measurement=Measurement(
                      f"repeated values among {len(secrets)} codes or tokens", len(secrets) - len(set(secrets)),
                      limit="0"))
    what = "codes" if active_method == "code" else "tokens"
    sequence = next(filter(None, (sequence_problem(secrets, digits) for digits in digit_orders(secrets))), None)
    checks.expect(req, sequence is None, f"consecutive {what} {sequence}: a sequence", name="no_sequence")


#: the orders a counter's digits may be written in (0-9a-zA-Z, base64's A-Za-z0-9, hex...), smallest alphabet first
DIGIT_ORDERS = (*ALPHABETS, string.digits + string.ascii_uppercase + string.ascii_lowercase,
                string.ascii_uppercase + string.ascii_lowercase, string.ascii_letters + string.digits,
                string.ascii_uppercase + string.ascii_lowercase + string.digits,
                string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_")
#: consecutive values all closer than this share of the value space: a counter (or a clock) with a varying step;
#: random values of 6 digits are that close with odds 2e-3 a pair, 8e-9 for three pairs
NEAR = 1e-3


def digit_orders(samples: list[str]) -> list[str]:
    """Every digit order of :data:`DIGIT_ORDERS` whose characters cover the samples'."""
    chars = set("".join(samples))
    return [order for order in DIGIT_ORDERS if chars <= set(order)]


def sequence_problem(samples: list[str], digits: str) -> str | None:
    """How consecutive samples, read as numbers written with ``digits`` (most significant digit first, or last),
    follow a sequence: the same step every time, or, when ``digits`` is no larger than the samples' own alphabet
    (in a larger base random values cluster), every step tiny next to the value space; None if neither."""
    modulus = len(digits) ** max(len(s) for s in samples)
    near = len(digits) <= len(alphabet_of(samples))
    for order, written in (("first", samples), ("last", [s[::-1] for s in samples])):
        numbers = [as_number(s, digits) for s in written]
        steps = [(b - a) % modulus for a, b in zip(numbers, numbers[1:])]
        base = f"read as numbers in base {len(digits)} ({digits[:3]}...{digits[-3:]}, most significant digit {order})"
        if len(set(steps)) == 1:
            return f"are {steps[0]} apart every time, {base}"
        if near and all(min(step, modulus - step) < modulus * NEAR for step in steps):
            return f"are within {max(min(st, modulus - st) for st in steps)} of each other, {base}"
    return None
