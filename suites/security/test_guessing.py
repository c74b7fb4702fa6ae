"""Guessing: a code must be hopeless to guess online, and no code or token may tell the next one.

The arithmetic uses what the server shows: the code space from the codes it mails (their length and alphabet), the
attempt limit from how many wrong codes a flow takes before it is replaced, the flow-creation rate from creating
flows one after the other (one client; an attacker with more clients does better).
"""

from __future__ import annotations

import string
import time

import pytest

from kratos_conformance import checks
from kratos_conformance.admin_api import AdminApi
from kratos_conformance.checks import Measurement
from kratos_conformance.mail import wrong_codes
from kratos_conformance.target import Target
from kratos_conformance.verifier import Verifier, replaced

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
                  f"({len(code)} characters): chance {per_flow:.3g} per flow", ex,
                  measurement=Measurement("chance to guess a flow's code within its attempt limit", per_flow,
                                          limit=f"at most {target.guess_limit_per_flow:g}"))
    hourly = Measurement(f"chance to guess some code within an hour at {rate:.0f} flows/s", per_hour,
                         limit="reported (--guess-limit-per-hour to judge it)")
    detail = f"at {rate:.0f} new flows per second, {attempts} guesses each: chance {per_hour:.3g} within an hour"
    if target.guess_limit_per_hour is None:
        checks.measure(req, hourly, detail)
    else:
        checks.expect(req, per_hour <= target.guess_limit_per_hour, detail, measurement=Measurement(
            hourly.name, per_hour, limit=f"at most {target.guess_limit_per_hour:g}"))


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
                  f"codes or tokens repeat", measurement=Measurement(
                      f"repeated values among {len(secrets)} codes or tokens", len(secrets) - len(set(secrets)),
                      limit="0"))
    # a counter, read as a number in the secrets' alphabet, steps by the same amount each time (wrapping past the
    # largest value of that length)
    alphabet = alphabet_of(secrets)
    numbers, modulus = [as_number(s, alphabet) for s in secrets], len(alphabet) ** max(len(s) for s in secrets)
    steps = {(b - a) % modulus for a, b in zip(numbers, numbers[1:])}
    checks.expect(req, len(steps) > 1, f"consecutive {'codes' if active_method == 'code' else 'tokens'} are "
                  f"{next(iter(steps))} apart every time (read as numbers in base {len(alphabet)}): a sequence")
