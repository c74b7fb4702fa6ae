"""Profiles: what differs between the Kratos releases deployed in the field.

A profile is selected by name (``--profile``). Scenarios ask the profile for the texts and message ids that changed
between releases instead of hard-coding one release.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from kratos_conformance.errors import CannotJudge
from kratos_conformance.flows.flow_document import items, mapping, message_id
from kratos_conformance.rules import message_ids as ids


@dataclass(frozen=True)
class Profile:
    """Release-specific expectations."""

    name: str
    #: message id given to an email submission whose address is not a valid email.
    invalid_email_message_id: int
    #: the text of that message, for a submitted value.
    invalid_email_template: str
    #: message ids the release can emit on this flow (a message outside this set is unknown to the release).
    known_message_ids: frozenset[int]
    #: the recordings of this release (kratos_conformance/recordings/<name>): its node layouts and message types.
    recording: str = "kratos-v26.2.0"
    #: the release's own measured defects, by key (a requirement id, or ``REQUIREMENT/case`` for one case of it),
    #: with what was measured: tolerated under this profile (shown among the measurements, not failed) so that a
    #: server behaving like the release passes, unless the run says ``--known-defects fail``.
    known_defects: Mapping[str, str] = field(default_factory=dict)

    def invalid_email_text(self, value: str) -> str:
        """The expected message text for an invalid email ``value``."""
        return self.invalid_email_template.format(value=value)

    def tolerates(self, requirement: str, case: str | None = None) -> str | None:
        """Why this profile tolerates ``requirement`` (or one ``case`` of it) failing, or None if it does not."""
        return self.known_defects.get(f"{requirement}/{case}" if case else requirement)

    def tolerates_transient(self, status: int, body: str) -> str | None:
        """Why an answer (``status``, ``body``) is a transient server error this profile knows as the release's own
        defect, so that the request may be sent once more (see :data:`TRANSIENT_DEFECTS`); None otherwise."""
        for case, shows in TRANSIENT_DEFECTS.items():
            known = self.tolerates("VER-RESP-NO-5XX", case)
            if known and shows(status, body):
                return known
        return None

    def strict(self) -> Profile:
        """This profile with no known defect tolerated (``--known-defects fail``)."""
        return replace(self, known_defects={})


#: message ids the verification flow can show in every release: labels, infos, its own errors, and the validation
#: errors its body schemas can raise (generic, required, wrong type).
_COMMON_IDS = frozenset({
    ids.LABEL_EMAIL, ids.LABEL_RESEND_CODE, ids.LABEL_CONTINUE, ids.LABEL_VERIFICATION_CODE,
    ids.LINK_SENT, ids.VERIFIED, ids.CODE_SENT,
    ids.GENERIC_ERROR, ids.REQUIRED, ids.WRONG_TYPE, ids.NO_METHOD,
    ids.LINK_INVALID_OR_USED, ids.ALREADY_PASSED, ids.STATE_FAILURE, ids.FLOW_EXPIRED, ids.CODE_INVALID_OR_USED,
})

#: measured on Kratos v1.3.1, v25.4.0 and v26.2.0 (built from their release tags): defects to report upstream.
KRATOS_BACKSLASH_RETURN_TO = (
    "Ory Kratos accepts return_to=http:\\\\<any host>\\ (its allow-list check finds no host in it) and makes it the "
    "continue URL, which browsers read as http://<any host>/: an open redirect in Kratos itself")
KRATOS_SINGLE_USE_RACE = (
    "Ory Kratos on PostgreSQL can read a code or link token as unused in several simultaneous requests before one "
    "marks it used: 2 to 4 of 10 simultaneous submissions each answered that the flow passed in 17 of 31 runs "
    "across the three releases, up to 2 of 4 in 12 runs of v26.2.0 (on SQLite, which serialises writers, never more "
    "than one); more winners than half the racers (and than 2) are beyond it, and fail")


KRATOS_RACE_NO_WINNER = (
    "Ory Kratos on an in-memory SQLite can let none of N simultaneous correct codes (or openings of a link) verify, "
    "every racer answered as the flow replaced (a 410 self_service_flow_replaced, or a 303 to a new flow) or with "
    "a transient answer it is known for (the table lock, a concurrent-update conflict): v1.3.1's code in 9 of 24 "
    "runs of 10 racers, v26.2.0's code in 1 of 8 (all 10 answered 410), v26.2.0's link in none of 12 runs and once "
    "in the earlier compatibility runs. The user proved the challenge and must start over. Tolerated only in that "
    "shape")


def within_known_race(winners: int, racers: int) -> bool:
    """Whether ``winners`` among ``racers`` simultaneous uses of one code or link stay within Kratos's known
    single-use race (:data:`KRATOS_SINGLE_USE_RACE`): at most half the racers, or 2. A server that lets more through
    has another defect, which no profile excuses."""
    return winners <= max(2, -(-racers // 2))


KRATOS_SQLITE_LOCKED = (
    "Ory Kratos on an in-memory SQLite (dsn: memory) fails a write that meets another one with SQLite's "
    "'database table is locked' (a shared-cache lock, which no busy timeout waits for), answered as an error saying "
    "so (a 500, or a 400 whose error says code 500), or, where the flow's error handler catches it, as the flow "
    "with message 4000001 and no text (a 400, or the flow a browser is sent to): measured on v1.3.1 under the "
    "timing scenario's load and in a resend racing a code (2 of 12 full runs, 1 of 3 security-suite runs); after "
    "more than 30 full runs without it, once on v26.2.0 (the timing scenario's flow init answered 500) and once on "
    "v25.4.0 (a resend racing a code answered 400); never on PostgreSQL. The request is sent once more, and that "
    "answer is judged")
KRATOS_CONCURRENT_UPDATE = (
    "Ory Kratos answers a write it cannot serialise against another one with a 400 'Unable to serialize access due "
    "to a concurrent update in another session' (ory/x sqlcon's ErrConcurrentUpdate, a conflict to retry): "
    "measured on v1.3.1's in-memory SQLite in the single-use race, where 9 of 24 runs had no winner among 10 "
    "simultaneous correct codes, their refusals answered so or as the table lock. The request is sent once more, "
    "and that answer is judged")
KRATOS_TWO_FLOWS_SQLITE = (
    "Ory Kratos on an in-memory SQLite can refuse one of two flows for one address proven at the same moment, as it "
    "does other writes that meet (see the table lock): v1.3.1 answered a code with a 410 replacing the flow (1 of 4 "
    "security-suite runs), v26.2.0 a link with a 303 to a new flow (1 of 15 link runs); never on PostgreSQL (8 "
    "runs of v1.3.1, 24 of v26.2.0, 8 of v25.4.0). Tolerated only as Kratos does it: one of the two flows replaced "
    "(a 410 naming a new flow, or a 303 to one), not both, and not another answer")
KRATOS_RESEND_RACE = (
    "Ory Kratos can take a resend and the old code racing it both: the resend answers sent_email (a new code mailed) "
    "and the old code verifies the flow, as no order of the two would. On SQLite, v26.2.0 did in 4 of 6 runs, "
    "v25.4.0 and v1.3.1 in none of 6 (each once since, in the matrix at 1b58ebb); an earlier version of the "
    "scenario, which saw only the cases where the resend answered first, caught v1.3.1 in 1 of 4 SQLite and 3 of 8 "
    "PostgreSQL runs. The old code sent after the resend's answer is refused, as it should be")


def _sqlite_table_locked(status: int, body: str) -> bool:
    """Kratos's locked in-memory SQLite as it reaches a client (see :data:`KRATOS_SQLITE_LOCKED`)."""
    if status >= 400 and "database table is locked" in body:  # a 500, or a 400 whose error says code 500
        return True
    if status not in (200, 400) or str(ids.GENERIC_ERROR) not in body:
        return False
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return False
    ui = mapping(mapping(doc).get("ui"))
    return any(message_id(m) == ids.GENERIC_ERROR and not mapping(m).get("text") for m in items(ui.get("messages")))


def _concurrent_update(status: int, body: str) -> bool:
    """Kratos's answer to a write conflict (see :data:`KRATOS_CONCURRENT_UPDATE`)."""
    return status == 400 and "Unable to serialize access due to a concurrent update" in body


#: transient server errors a release may be known for, by case of VER-RESP-NO-5XX: whether an answer (status,
#: body) shows one. A profile tolerates a case through its known defects.
TRANSIENT_DEFECTS: dict[str, Callable[[int, str], bool]] = {"sqlite-table-locked": _sqlite_table_locked,
                                                             "concurrent-update": _concurrent_update}
_KRATOS_DEFECTS = {
    "VER-RETURN-TO-OPEN-REDIRECT/backslash": KRATOS_BACKSLASH_RETURN_TO,
    "VER-RACE-CODE-SINGLE-USE": KRATOS_SINGLE_USE_RACE,
    "VER-RACE-LINK-SINGLE-USE": KRATOS_SINGLE_USE_RACE,
    "VER-RACE-CODE-SINGLE-USE/no-winner": KRATOS_RACE_NO_WINNER,
    "VER-RACE-LINK-SINGLE-USE/no-winner": KRATOS_RACE_NO_WINNER,
    "VER-RESP-NO-5XX/sqlite-table-locked": KRATOS_SQLITE_LOCKED,
    "VER-RESP-NO-5XX/concurrent-update": KRATOS_CONCURRENT_UPDATE,
    "VER-RACE-TWO-FLOWS": KRATOS_TWO_FLOWS_SQLITE,
    "VER-RACE-RESEND": KRATOS_RESEND_RACE,
}

PROFILES: dict[str, Profile] = {
    "kratos-v26": Profile("kratos-v26", ids.INVALID_EMAIL, "Enter a valid email address",
                          _COMMON_IDS | {ids.INVALID_EMAIL}, "kratos-v26.2.0", _KRATOS_DEFECTS),
    "kratos-v25": Profile("kratos-v25", ids.GENERIC_ERROR, '"{value}" is not valid "email"', _COMMON_IDS,
                          "kratos-v25.4.0", _KRATOS_DEFECTS),
    "kratos-v1.3": Profile("kratos-v1.3", ids.GENERIC_ERROR, '"{value}" is not valid "email"', _COMMON_IDS,
                           "kratos-v1.3.1", _KRATOS_DEFECTS),
}
DEFAULT_PROFILE = "kratos-v26"


#: the profile of each Kratos release line, by the release line its admin API's ``/admin/version`` names.
RELEASE_PROFILES = {"v26": "kratos-v26", "v25": "kratos-v25", "v1.3": "kratos-v1.3"}
_RELEASE = re.compile(r"(v\d+)\.(\d+)\.\d+")


def profile_of_release(version: str | None) -> str | None:
    """The profile of the Kratos release ``version`` as ``/admin/version`` answers it (``v26.2.0`` -> kratos-v26);
    None for anything but a release's own version: ``master`` (a build without its version stamped), a pre-release,
    another server's ``v26.2.0-compatible``."""
    found = _RELEASE.fullmatch(version or "")
    if found is None:
        return None
    major, minor = found.groups()
    return RELEASE_PROFILES.get(major) or RELEASE_PROFILES.get(f"{major}.{minor}")


class ProfileChoice(NamedTuple):
    """The run's profile, the line that says why, and where it came from (``given``, ``learned`` from the server's
    admin/version, or ``default``: the report's ``target.settings.profile``)."""

    profile: Profile
    line: str
    source: str


def choose_profile(name: str | None, release: str | None, known_defects: str | None) -> ProfileChoice:
    """The run's profile and one line saying why, from ``--profile`` (``name``), the release the server named
    (``release``, from the preflight) and ``--known-defects``.

    A release's known defects are tolerated only for that release: when ``--profile`` names it or the server names
    it, unless ``--known-defects fail``. Any other server is held to every requirement (the default profile's
    message ids and texts still apply), unless ``--known-defects tolerate`` says otherwise."""
    named = profile_of_release(release)
    chosen, source, why = ((name, "given", "given") if name else
                           (named, "learned", f"the server's admin/version says {release}") if named else
                           (DEFAULT_PROFILE, "default", "the default" + (
                               f"; the server's admin/version says {release!r}, which no profile names"
                               if release else "")))
    tolerate = known_defects == "tolerate" or (known_defects is None and (name is not None or named is not None))
    profile = get_profile(chosen, tolerate_known_defects=tolerate)
    how = ("its known defects tolerated (shown as measurements; --known-defects fail fails them)" if tolerate else
           "its known defects not tolerated" + ("" if known_defects == "fail" else
                                                 " (--profile names a release whose known defects are tolerated)"))
    return ProfileChoice(profile, f"profile {chosen} ({why}), {how}", source)


def get_profile(name: str, *, tolerate_known_defects: bool = True) -> Profile:
    """Return the named profile (without its known defects if not ``tolerate_known_defects``) or raise
    :class:`CannotJudge` naming the known ones."""
    try:
        profile = PROFILES[name]
    except KeyError:
        raise CannotJudge(f"unknown profile {name!r} (known: {', '.join(PROFILES)})") from None
    return profile if tolerate_known_defects else profile.strict()
