"""The ids of the UI messages a Kratos verification flow shows, by what they say.

A flow's ``ui.messages`` and its nodes' messages and labels carry these numbers; which of them a release shows, and
with which type, is in its recordings (:mod:`kratos_conformance.rules.ui_expectations`). The numbers are Kratos's
(``text/id.go``); the names here say what each means to a person reading a verification flow.
"""

from __future__ import annotations

# --- labels of the flow's nodes (1070xxx) ----------------------------------------------------------------------
LABEL_EMAIL = 1070007
LABEL_RESEND_CODE = 1070008
LABEL_CONTINUE = 1070009
LABEL_VERIFICATION_CODE = 1070011

# --- information (1080xxx) --------------------------------------------------------------------------------------
LINK_SENT = 1080001
VERIFIED = 1080002
CODE_SENT = 1080003

# --- validation errors (4000xxx: any form; 4010xxx: no method; 4070xxx: verification) --------------------------
#: a problem with no more specific message: too many code attempts, a refused CSRF token or cookie, an unreadable
#: body, and (before v26) an invalid email address
GENERIC_ERROR = 4000001
REQUIRED = 4000002
WRONG_TYPE = 4000026
#: an invalid email address (Kratos v26 and later)
INVALID_EMAIL = 4000040
NO_METHOD = 4010006
LINK_INVALID_OR_USED = 4070001
#: the flow has passed already: start a new one
ALREADY_PASSED = 4070002
STATE_FAILURE = 4070003
FLOW_EXPIRED = 4070005
CODE_INVALID_OR_USED = 4070006

#: the message a flow shows once the challenge was mailed, by method
SENT = {"code": CODE_SENT, "link": LINK_SENT}
