"""Named defects that can be switched on in the reference target.

Contract: ``KNOWN_FAULTS`` maps a fault name to a one-line description of the defect it introduces, and
``FAULT_METHODS`` maps the same names to the verification methods (``code``, ``link``) whose behaviour the
defect changes: a fault listed for one method is invisible on a target started with the other.
A target started with ``ReferenceConfig(faults=frozenset({...}))`` behaves like the clean target except at
the exact point each fault names; the business logic checks ``name in config.faults`` right there, so every
fault is a few lines that can be found by grepping its name.

Every fault is a defect a real server could ship (a vendor's reimplementation, a refactoring, an upgrade that
changed a default), not a random mutation: each breaks one rule of
/work/shared/reference/verification-behavior.md that a client or a user would notice.

Adding a fault: add one ``_fault(...)`` line here, then one ``if "<name>" in self.config.faults:`` at the
point of the defect, then one probe in tests/reference/test_faults.py.
"""

from __future__ import annotations

CODE: tuple[str, ...] = ("code",)
LINK: tuple[str, ...] = ("link",)
BOTH: tuple[str, ...] = ("code", "link")
#: the pause between checking and writing under the race faults: simultaneous requests meet in it when the racers
#: are released within 150 ms of each other (the suite opens their connections before it releases them). Wide
#: enough that a machine busy with other runs (the mutation matrix runs several at once) still lets them meet: at
#: 30 ms, six parallel runs on two cores let the link race slip through now and then
RACE_WINDOW = 0.15
#: how long a correct code's write stays open to a conflict under race_refuses_all: a database transaction's span,
#: longer than the race window (the submissions need only overlap, not arrive within it)
CONFLICT_WINDOW = 0.4
#: the race faults: under any of them, submissions to a flow are not serialised (a race window can open, also between
#: flows that share a lock stripe)
RACE_FAULTS = frozenset({"race_single_use", "race_link_single_use", "race_attempt_count", "address_update_conflict",
                         "race_refuses_all", "race_stale_flow"})

KNOWN_FAULTS: dict[str, str] = {}
FAULT_METHODS: dict[str, tuple[str, ...]] = {}


def _fault(name: str, methods: tuple[str, ...], description: str) -> None:
    KNOWN_FAULTS[name] = description
    FAULT_METHODS[name] = methods


# --- status codes -----------------------------------------------------------------------------------------
_fault("expired_flow_get_200", BOTH,
       "GET /self-service/verification/flows answers 200 instead of 410 for an expired flow")
_fault("expired_flow_get_404", BOTH,
       "GET /self-service/verification/flows answers 404 instead of 410 for an expired flow")
_fault("wrong_code_400", CODE, "a wrong code answers 400 instead of 200 (with message 4070006)")
_fault("attempt_limit_200", CODE,
       "past max_submissions a JSON client gets 200 with the new flow instead of 410 errorFlowReplaced")
_fault("expired_post_410", BOTH,
       "a submission to an expired flow answers 410 errorGeneric (as the published docs say) instead of a 303 "
       "to a new flow")
_fault("malformed_body_500", BOTH, "a malformed JSON body answers 500 instead of 400")
_fault("transient_payload_500", BOTH,
       "a submission carrying a non-empty transient_payload answers 500 (a hook that chokes on it); no scenario "
       "sends one, the fuzzer does")
_fault("undocumented_status_418", BOTH, "GET /flows answers 418 for api flows in state sent_email")
_fault("api_init_refused", BOTH,
       "GET /self-service/verification/api answers 400 (return_to not allowed) although no return_to was given")
_fault("unknown_flow_410", BOTH, "GET /flows with an unknown (well-formed) flow id answers 410 instead of 404")
_fault("unknown_flow_422", BOTH, "GET /flows with an unknown (well-formed) flow id answers 422, a status the contract "
       "does not document, instead of 404")
_fault("unknown_content_type_error", BOTH,
       "a submission with a Content-Type other than JSON or a form answers a 400 error document instead of the "
       "flow with message 4000001")
_fault("empty_body_error", BOTH, "an empty JSON submission answers a 400 error document instead of the flow with "
       "message 4000001")
_fault("malformed_body_403", BOTH, "a malformed JSON body answers 403 (as a CSRF violation) instead of 400")
_fault("unknown_method_message_on_flow", CODE,
       "an unknown method's message 4000001 is put on the flow instead of the method node")
# --- redirects and Location ---------------------------------------------------------------------------
_fault("ui_redirect_without_flow_id", BOTH,
       "after a handled browser submission the 303 goes to the UI without ?flow=<id>")
_fault("api_flow_redirected", BOTH,
       "JSON submissions to api flows are answered 303 to the UI (as for a browser) instead of 200 with the flow")
_fault("browser_error_as_json", BOTH,
       "errors without a flow (missing or unknown flow id) answer a browser with JSON instead of a 303 to the "
       "error UI")
_fault("error_redirect_without_id", BOTH, "the 303 to the error UI lacks ?id=<error id>")
_fault("error_redirect_foreign", BOTH,
       "the 303 for an error without a flow goes to a hard-coded error page on another host, not the error UI")
_fault("browser_init_without_flow_id", BOTH, "the browser init's 303 goes to the UI without ?flow=<id>")
_fault("browser_init_json_ignored", BOTH,
       "the browser init redirects a client that asks for JSON (an SPA) instead of answering 200 with the flow")
_fault("expired_post_410_new_flow", BOTH,
       "a JSON submission to an expired flow answers 410 naming the new flow in use_flow_id (the expired-code "
       "answer) instead of a 303 to it")
_fault("expired_keeps_old_id", BOTH, "a submission to an expired flow redirects to the same (expired) flow id")
_fault("expired_flow_renewed", BOTH,
       "a submission to an expired flow gives that flow a new lifespan and 4070005 and redirects to it, instead of "
       "replacing it by a new flow: the old id lives on")
# --- codes, tokens and attempts -------------------------------------------------------------------------
_fault("code_reusable", CODE,
       "a correct code is not consumed: submitting it again to the finished flow succeeds again")
_fault("link_token_reusable", LINK, "a link token is not consumed: opening the link again verifies again")
_fault("code_never_expires", CODE, "code_lifespan is ignored: a code keeps working until its flow expires")
_fault("expired_code_as_replaced", CODE,
       "an expired code gives a JSON client 410 errorFlowReplaced (as a used code does) instead of "
       "self_service_flow_expired")
_fault("link_token_never_expires", LINK, "link_lifespan is ignored: an expired link token still verifies")
_fault("no_attempt_limit", CODE, "max_submissions is ignored: code attempts are never cut off")
_fault("attempt_limit_off_by_one", CODE, "one code attempt more than max_submissions is evaluated before the flow is "
       "replaced")
_fault("limit_spares_right_code", CODE,
       "max_submissions counts only wrong codes: past the limit the right code still verifies the replaced flow")
_fault("limit_answered_as_expired", CODE,
       "a JSON client past max_submissions gets a 410 whose error.id is self_service_flow_expired, not "
       "self_service_flow_replaced")
_fault("limit_replacement_api_typed", CODE,
       "a browser flow replaced at max_submissions is replaced by an api flow (its CSRF protection lost)")
_fault("attempt_count_reset_on_replace", CODE,
       "past max_submissions the flow is replaced, but its attempt count starts over: the replaced flow takes the "
       "right code again (guessing goes on, five attempts at a time)")
_fault("wrong_code_new_flow", CODE,
       "a wrong code answers with a new flow (sent_email, message 4070006) in place of the same one")
_fault("codes_repeat_per_address", CODE,
       "a new flow for an address that was mailed a code before gets that same code again (a code cached per address)")
_fault("resend_keeps_old_code", CODE, "resending a code does not invalidate the code mailed before")
_fault("code_other_flow_accepted", CODE, "an unused code issued for another flow verifies the flow it is sent to")
_fault("link_token_other_flow_accepted", LINK, "a link token of another flow verifies the flow it is opened on")
_fault("code_8_digits", CODE, "codes have 8 digits instead of 6")
_fault("code_4_digits", CODE, "codes have 4 digits instead of 6: five attempts per flow guess one code in 2,000")
_fault("sequential_codes", CODE, "each code is the one issued before plus 7919 (mod 10^6): guessable from one's own")
_fault("sequential_link_tokens", LINK, "each link token is a counter, the one issued before plus 7919, written in "
       "base 62: guessable from one's own")
_fault("link_unknown_token_404", LINK,
       "an unknown link token answers 404 instead of a new browser flow with 4070001")
_fault("link_success_without_message", LINK, "a valid link token passes the flow without message 1080002")
_fault("link_leaves_address_unverified", LINK,
       "a valid link token passes the flow but does not mark the address verified")
_fault("link_replay_wrong_message", LINK,
       "an email submission to a passed link flow gets a new flow with 4000001 instead of 4070002")
_fault("missing_method_as_configured", BOTH,
       "a submission naming no method (and carrying no code or token) is taken as one for the configured method, "
       "instead of being refused with 4010006: an address alone is mailed")
_fault("inactive_method_accepted", CODE,
       "a code flow takes method=link as if it were code: the address is mailed and the flow moves on")
_fault("link_token_short", LINK, "link tokens have 16 characters instead of 32")
_fault("code_mail_without_link", CODE, "the code mail carries the code only, without the link that pre-fills it")
_fault("mail_link_internal_host", LINK,
       "mailed links point at the internal address http://kratos:4433/ instead of the public URL")
_fault("link_without_flow", LINK,
       "the verification link carries the token but not the flow it was sent for (?token= alone)")
_fault("get_link_verifies", CODE, "opening the emailed code link (GET ?flow=&code=) verifies the address")
_fault("code_link_not_prefilled", CODE,
       "opening the emailed code link leads to the flow without its code filled in: the user must type it after all")
_fault("head_link_verifies", CODE,
       "a HEAD on the emailed code link (what link scanners send) verifies the address instead of being refused")
_fault("head_link_consumes_code", CODE,
       "a HEAD on the emailed code link is refused but uses the code up: the user, coming after the scanner, "
       "cannot verify with it")
# --- CSRF and cookies ----------------------------------------------------------------------------------------
_fault("api_flow_browser_headers_accepted", BOTH,
       "API-flow email submissions that carry a Cookie or an Origin header (a browser) are accepted")
_fault("csrf_not_checked", BOTH, "browser email submissions are accepted without or with a wrong CSRF token")
_fault("csrf_token_unbound", BOTH,
       "a browser email submission needs a well-formed CSRF token of the server's making, but not the one bound to "
       "the request's CSRF cookie: another session's token, or the right token without its cookie, passes")
_fault("code_submission_csrf_checked", CODE,
       "code submissions to browser flows need the CSRF token (CSRF checked on the wrong branch)")
_fault("api_init_sets_csrf_cookie", BOTH, "GET /self-service/verification/api sets the CSRF cookie")
_fault("browser_init_no_csrf_cookie", BOTH,
       "the browser init sets no CSRF cookie (the form's token has no cookie to be checked against)")
_fault("csrf_error_generic_id", BOTH,
       "CSRF refusals carry error.id 'forbidden', so a UI cannot tell them from other 403s, not "
       "'security_csrf_violation'")
_fault("get_flow_csrf_unchecked", BOTH, "GET /flows returns a browser flow to a client without its CSRF cookie")
_fault("get_flow_expiry_before_csrf", BOTH,
       "GET /flows checks expiry before CSRF: an expired browser flow answers 410 to a client without its cookie")
_fault("cookie_not_httponly", BOTH, "the CSRF cookie is set without the HttpOnly attribute")
_fault("csrf_cookie_secure_per_request", BOTH,
       "the CSRF cookie's Secure is decided per request, not by the deployment: set on JSON answers of a plain-http "
       "server in dev mode, so browsers over http drop the cookie of SPA flows")
_fault("csrf_cookie_samesite_none", BOTH, "the CSRF cookie is sent SameSite=None, not the configured SameSite")
_fault("csrf_cookie_path_narrow", BOTH,
       "the CSRF cookie is sent with Path=/self-service/verification, not the configured cookies.path /")
_fault("ui_page_mirrors_csrf_cookie", BOTH,
       "the UI page copies the CSRF token into a second cookie page scripts can read (csrf_token_ui, not HttpOnly)")
_fault("ui_page_exposes_csrf_token", BOTH,
       "the UI page copies the CSRF token into a cookie page scripts can read, scoped to the page's own path (the "
       "API's cookie stays the only one sent to the API)")
_fault("ui_page_resets_csrf_cookie", BOTH,
       "the UI page (a proxy in front of the API) sets the API's CSRF cookie again without HttpOnly, so the browser "
       "keeps it readable by page scripts")
_fault("ui_page_restarts_on_error", BOTH,
       "the UI page starts a new flow instead of showing a flow that carries an error message (a wrong code, ...)")
_fault("ui_page_sends_errors_home", BOTH,
       "the UI page sends the browser to the default return URL instead of showing a flow that carries an error")
_fault("ui_page_hides_form_on_error", BOTH,
       "the UI page shows a flow that carries an error message without its form, as if the flow had ended")
_fault("ui_page_drops_csrf_token", BOTH, "the UI page renders the form without the flow's hidden csrf_token input")
# --- enumeration -------------------------------------------------------------------------------------------------
_fault("unknown_address_mailed", BOTH, "an unknown address gets a verification mail (account enumeration)")
_fault("unknown_address_header", BOTH,
       "the answer to an email submission for an unknown address carries a header a known one does not")
_fault("unknown_address_cookie", BOTH,
       "the answer to an email submission for an unknown address sets a cookie (recipient_hint) a known one does not")
_fault("unknown_address_400", BOTH,
       "a JSON client submitting an unknown address gets the same flow a known address gets, but with status 400 "
       "where a known one gets 200 (account enumeration by status alone)")
_fault("unknown_address_distinguishable", BOTH,
       "an unknown address is answered with a different message (4000001 'not registered') than a known one")
# --- state machine and verification ---------------------------------------------------------------------------
_fault("state_not_advanced", BOTH, "a valid email submission leaves the flow in state choose_method")
_fault("email_jumps_to_passed", BOTH,
       "a valid email submission moves the flow straight to passed_challenge instead of sent_email")
_fault("address_not_marked_verified", BOTH, "a successful verification does not mark the address verified")
_fault("wrong_success_message", BOTH, "a successful verification carries message 1080003 instead of 1080002")
_fault("continue_via_post", BOTH, "a passed flow's ui.method is POST instead of GET to the continue URL")
_fault("continue_href_relative", BOTH, "a passed flow's continue anchor links to a relative path, not the continue "
       "URL")
_fault("link_continue_href_relative", LINK,
       "after a link click the continue anchor links to a relative path (the link method builds its own)")
_fault("expired_replacement_without_form", BOTH,
       "the flow that replaces an expired one shows no email form to start again")
# --- return_to -------------------------------------------------------------------------------------------------------
_fault("return_to_unchecked", BOTH, "return_to is not checked against the allow-list")
_fault("return_to_dropped_after_expiry", BOTH, "the flow that replaces an expired one loses the return_to")
_fault("return_to_not_kept", BOTH, "an allow-listed return_to is accepted at init but not kept on the flow")
_fault("return_to_not_continued", BOTH,
       "a passed flow continues to the default return URL although an allow-listed return_to was given")
# --- flow shape, nodes and validation ----------------------------------------------------------------------------
_fault("flow_missing_state", BOTH, "flow JSON lacks the required 'state' property")
_fault("browser_flow_no_csrf_node", BOTH, "new browser flows lack the csrf_token node")
_fault("csrf_node_empty", BOTH,
       "new browser flows show the csrf_token node without its value, as api flows do")
_fault("resend_button_without_address", CODE,
       "a sent_email code flow's resend button carries no address, so a UI's resend posts none")
_fault("invalid_email_old_wording", BOTH,
       "the invalid-email message keeps its id but is worded as older releases word it ('\"x\" is not valid "
       "\"email\"'), not as this release does")
_fault("no_email_node", BOTH, "new flows lack the email input node")
_fault("email_input_optional", BOTH, "the email input of a new flow is not marked required")
_fault("code_input_optional", CODE, "the code input of a sent_email flow is not marked required")
_fault("email_label_renumbered", BOTH, "the email input's label carries message id 1070099 instead of 1070007")
_fault("new_flow_active_default", BOTH,
       "a new flow's active is 'default' instead of the configured method until something is submitted")
_fault("new_flow_other_method", BOTH,
       "a new flow names the other method, in its active and its whole form (a code server shows the link form), "
       "as if flow creation ignored the configured method; submissions are still handled by the configured one")
_fault("flow_id_upper_case_on_read", BOTH, "GET /flows answers an api flow with its id in upper case")
_fault("new_flow_form_get", BOTH,
       "a new flow's ui.method is GET: a UI renders a form that puts the address (and CSRF token) in the URL")
_fault("expires_at_as_issued_at", BOTH,
       "the flow document gives expires_at equal to issued_at (the flow itself still lives its lifespan)")
_fault("request_url_empty", BOTH, "the flow document's request_url is an empty string")
_fault("ui_action_wrong_host", BOTH,
       "ui.action points at the internal address http://kratos:4433/ instead of the public URL")
_fault("missing_email_not_flagged", BOTH,
       "an email submission without email answers 400 without message 4000002 on the email node")
_fault("invalid_email_accepted", BOTH, "an invalid email address is accepted and the flow moves to sent_email")
_fault("replaced_without_use_flow_id", CODE, "410 errorFlowReplaced answers lack 'use_flow_id'")
_fault("error_status_numeric", BOTH,
       "JSON errors give the status code as error.status ('404') instead of its reason phrase ('Not Found')")
_fault("error_details_dropped", BOTH,
       "JSON errors carry no 'details': a CSRF refusal no reject_reason, an expired flow no redirect_to or api to "
       "start again from")
# --- response format and headers -------------------------------------------------------------------------------------
_fault("flow_json_text_plain", BOTH, "flow JSON is served as text/plain; charset=utf-8")
_fault("flow_json_no_charset", BOTH, "flow JSON is served as application/json without charset=utf-8")
_fault("error_leaks_debug", BOTH, "error JSON carries error.debug with a server stack trace")
_fault("no_cache_control", BOTH,
       "flow GETs lack the Cache-Control: private, no-cache, no-store, must-revalidate header")

# --- races, injection and timing (what only concurrent, hostile or measured requests show) -----------------------
_fault("race_single_use", CODE,
       "a code is checked, then marked used a moment later, with submissions to a flow not serialised: several "
       "simultaneous correct submissions all verify")
_fault("race_link_single_use", LINK,
       "a link token is checked, then marked used a moment later, with link openings of a flow not serialised: "
       "several simultaneous openings of the link all verify")
_fault("race_refuses_all", CODE,
       "a correct code that meets another submission of it within a moment refuses both (a write conflict answered "
       "as a wrong code, 4070006), with submissions to a flow not serialised: of several simultaneous correct "
       "submissions none verifies")
_fault("race_stale_flow", CODE,
       "a resend acts on the flow as it read it a moment before, and a correct code passes the flow a moment after "
       "spending the code, with submissions to a flow not serialised: a resend and the old code racing it both "
       "succeed, in either order (the code verifies, the resend mails a new code and answers sent_email)")
_fault("race_attempt_count", CODE,
       "code attempts are counted by reading, then writing the count a moment later, with submissions to a flow not "
       "serialised: simultaneous wrong codes all get evaluated past max_submissions")
_fault("address_update_conflict", BOTH,
       "verifying an address reads it, then writes it a moment later only if nothing changed it meanwhile: of two "
       "flows for one address proven at the same moment, the second fails with 4000001 (try again) instead of "
       "passing")
_fault("resend_drops_old_code_late", CODE,
       "a resend answers before it drops the flow's old code (a moment later): the old code, sent right after the "
       "resend was answered, still verifies")
_fault("crlf_header_split", BOTH,
       "a query value (return_to, id) of a flow's init or fetch is echoed into a header unescaped: a CR LF in it "
       "starts a header of its own (response splitting)")
_fault("host_header_links", BOTH,
       "the mailed link is built from the request's X-Forwarded-Host or Host header instead of the public URL")
_fault("host_header_action", BOTH,
       "the flow an email submission answers has its ui.action built from the request's X-Forwarded-Host or Host "
       "header instead of the public URL")
_fault("host_header_init_action", BOTH,
       "the flow a JSON init answers has its ui.action built from the request's X-Forwarded-Host or Host header "
       "instead of the public URL")
_fault("return_to_prefix_match", BOTH,
       "return_to is accepted when its text merely starts with an allowed URL's scheme and host "
       "(https://allowed@evil/, https://allowed.evil/ pass)")
_fault("return_to_backslash", BOTH,
       "return_to is read by a parser that takes backslashes for path characters: https:\\\\evil\\ has no host to "
       "it, passes as a path of the allowed site and is continued as given, which a browser reads as https://evil/ "
       "(the defect Kratos has)")
_fault("return_to_hostless", BOTH,
       "a return_to without a host is taken for a path on the allowed site and continued as given: "
       "javascript:... and https%3A%2F%2Fevil%2F pass")
_fault("timing_leak", BOTH, "an email submission for a known address is answered 150 ms later than for an unknown one")
