"""Profiles: what differs between the Kratos releases deployed in the field.

A profile is selected by name (``--profile``). Scenarios ask the profile for the texts and message ids that changed
between releases instead of hard-coding one release.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from . import message_ids as ids
from .errors import CannotJudge


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
    #: return_to open-redirect variants (by name, see suites/security/test_injection.py) the release is known to
    #: accept, with why they are tolerated under this profile: the release's own defects, shown in the report, so a
    #: server behaving like it passes while every other variant is still refused.
    tolerated_open_redirects: Mapping[str, str] = field(default_factory=dict)

    def invalid_email_text(self, value: str) -> str:
        """The expected message text for an invalid email ``value``."""
        return self.invalid_email_template.format(value=value)


#: message ids the verification flow can show in every release: labels, infos, its own errors, and the validation
#: errors its body schemas can raise (generic, required, wrong type).
_COMMON_IDS = frozenset({
    ids.LABEL_EMAIL, ids.LABEL_RESEND_CODE, ids.LABEL_CONTINUE, ids.LABEL_VERIFICATION_CODE,
    ids.LINK_SENT, ids.VERIFIED, ids.CODE_SENT,
    ids.GENERIC_ERROR, ids.REQUIRED, ids.WRONG_TYPE, ids.NO_METHOD,
    ids.LINK_INVALID_OR_USED, ids.ALREADY_PASSED, ids.STATE_FAILURE, ids.FLOW_EXPIRED, ids.CODE_INVALID_OR_USED,
})

#: measured on Kratos v1.3.1, v25.4.0 and v26.2.0 (built from their release tags): a defect to report upstream.
KRATOS_BACKSLASH_RETURN_TO = (
    "Ory Kratos accepts return_to=http:\\\\<any host>\\ (its allow-list check finds no host in it) and makes it the "
    "continue URL, which browsers read as http://<any host>/: an open redirect in Kratos itself, tolerated under "
    "this profile so a server that behaves like the release passes")
_KRATOS_TOLERATES = {"backslash": KRATOS_BACKSLASH_RETURN_TO}

PROFILES: dict[str, Profile] = {
    "kratos-v26": Profile("kratos-v26", ids.INVALID_EMAIL, "Enter a valid email address",
                          _COMMON_IDS | {ids.INVALID_EMAIL}, "kratos-v26.2.0", _KRATOS_TOLERATES),
    "kratos-v25": Profile("kratos-v25", ids.GENERIC_ERROR, '"{value}" is not valid "email"', _COMMON_IDS,
                          "kratos-v25.4.0", _KRATOS_TOLERATES),
    "kratos-v1.3": Profile("kratos-v1.3", ids.GENERIC_ERROR, '"{value}" is not valid "email"', _COMMON_IDS,
                           "kratos-v1.3.1", _KRATOS_TOLERATES),
}
DEFAULT_PROFILE = "kratos-v26"


def get_profile(name: str) -> Profile:
    """Return the named profile or raise :class:`CannotJudge` naming the known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise CannotJudge(f"unknown profile {name!r} (known: {', '.join(PROFILES)})") from None
