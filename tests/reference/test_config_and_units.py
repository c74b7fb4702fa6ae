"""Unit tests: configuration, negotiation, CSRF masking, return_to allow-list, body decoding, time format."""

from __future__ import annotations

import pytest

from kratos_reference import FAULT_METHODS, KNOWN_FAULTS, ConfigError, ReferenceConfig, parse_duration
from kratos_reference.bodies import (
    CODE_SCHEMA,
    LINK_SCHEMA,
    BodyError,
    PayloadError,
    Submission,
    check_request,
    decode,
)
from kratos_reference.csrf import (
    RequestCsrf,
    cookie_name,
    encode_cookie,
    mask,
    new_secret,
    token_matches,
    unmask,
)
from kratos_reference.negotiation import init_wants_json, is_browser_request, is_json_request
from kratos_reference.return_to import ReturnToForbidden, check_return_to
from kratos_reference.timefmt import format_time


@pytest.mark.parametrize("raw, seconds", [(5, 5.0), (0.25, 0.25), ("500ms", 0.5), ("3s", 3.0), ("10m", 600.0),
                                          ("1h", 3600.0), ("1h30m", 5400.0), ("2", 2.0)])
def test_parse_duration_accepts_numbers_and_units(raw: object, seconds: float) -> None:
    assert parse_duration(raw) == seconds


@pytest.mark.parametrize("raw", ["", "abc", "5d", "-1s", 0, -3, True, None, "1h x"])
def test_parse_duration_rejects_garbage(raw: object) -> None:
    with pytest.raises(ConfigError):
        parse_duration(raw, "flow_lifespan")


def test_config_defaults_and_derived_urls() -> None:
    config = ReferenceConfig(public_url="http://127.0.0.1:4433/auth")
    assert config.public_url == "http://127.0.0.1:4433/auth/"
    assert config.public_prefix == "/auth"
    assert config.effective_ui_url == "http://127.0.0.1:4433/auth/ui/verification"
    assert config.effective_error_ui_url == "http://127.0.0.1:4433/auth/ui/error"
    assert config.effective_default_return_url == "http://127.0.0.1:4433/auth/ui/welcome"
    assert (config.method, config.max_submissions, config.flow_lifespan) == ("code", 5, 3600.0)


def test_from_mapping_parses_durations_lists_and_faults() -> None:
    config = ReferenceConfig.from_mapping({"method": "link", "flow_lifespan": "2s", "link_lifespan": "10m",
                                           "allowed_return_urls": ["https://a.test/"],
                                           "faults": ["wrong_code_400"], "admin_token": "secret"})
    assert (config.method, config.flow_lifespan, config.link_lifespan) == ("link", 2.0, 600.0)
    assert config.allowed_return_urls == ("https://a.test/",)
    assert config.faults == frozenset({"wrong_code_400"})


@pytest.mark.parametrize("settings, fragment", [
    ({"method": "sms"}, "method"),
    ({"bogus": 1}, "unknown setting"),
    ({"faults": ["no_such_fault"]}, "unknown fault"),
    ({"public_url": "ftp://x:1/"}, "public_url"),
    ({"public_url": "http://127.0.0.1/"}, "port"),
    ({"max_submissions": 0}, "max_submissions"),
    ({"smtp_url": "http://127.0.0.1:25"}, "smtp_url"),
    ({"allowed_return_urls": "https://a.test/"}, "allowed_return_urls"),
    ({"enabled": "yes"}, "enabled"),
    ({"code_lifespan": "soon"}, "code_lifespan"),
    ({"cookie_same_site": "loose"}, "cookie_same_site"),
    ({"cookie_path": "auth"}, "cookie_path"),
    ({"tls_cert": "cert.pem"}, "tls_cert and tls_key"),
    ({"public_url": "https://127.0.0.1:0/"}, "public_url: https needs"),
    ({"public_url": "https://127.0.0.1:0/", "tls_cert": "no-cert.pem", "tls_key": "no-key.pem"},
     "cannot load no-cert.pem with no-key.pem: No such file"),
    ({"public_url": "https://127.0.0.1:0/", "tls_cert": __file__, "tls_key": __file__}, "cannot load"),
])
def test_from_mapping_rejects_bad_settings_with_one_line(settings: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ReferenceConfig.from_mapping(settings)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_known_faults_are_described() -> None:
    assert len(KNOWN_FAULTS) >= 32
    assert all(isinstance(text, str) and text and "\n" not in text and "\t" not in text
               for text in KNOWN_FAULTS.values())
    assert set(FAULT_METHODS) == set(KNOWN_FAULTS)
    assert all(methods and set(methods) <= {"code", "link"} for methods in FAULT_METHODS.values())


@pytest.mark.parametrize("accept, content_type, json_request, browser", [
    (None, None, False, True),
    ("*/*", None, False, True),
    ("text/*", None, False, True),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", None, False, True),
    ("application/json", None, True, False),
    ("application/json, text/plain, */*", None, True, False),
    (None, "application/json", True, True),
    ("text/html", "application/json; charset=utf-8", False, True),
    ("application/json;q=0.1, text/html", None, False, True),
])
def test_json_and_browser_classification(accept: str | None, content_type: str | None, json_request: bool,
                                         browser: bool) -> None:
    headers = {key: value for key, value in (("accept", accept), ("content-type", content_type)) if value}
    assert is_json_request(headers) is json_request
    assert is_browser_request(headers) is browser


def test_init_negotiates_on_accept_only() -> None:
    assert init_wants_json({"accept": "application/json"})
    assert not init_wants_json({"content-type": "application/json"})
    assert not init_wants_json({})


def test_masked_csrf_tokens_differ_but_verify() -> None:
    secret = new_secret()
    first, second = mask(secret), mask(secret)
    assert first != second and unmask(first) == unmask(second) == secret
    assert token_matches(first, secret)
    assert not token_matches(first, new_secret())
    assert token_matches(encode_cookie(secret), secret)  # the bare secret is accepted too, as nosurf does
    assert not token_matches("garbage", secret) and not token_matches(None, secret)
    assert cookie_name("http://127.0.0.1:4433/").startswith("csrf_token_") and len(cookie_name("x")) == 11 + 64


def test_request_csrf_issues_one_cookie_per_request() -> None:
    secret = new_secret()
    kept = RequestCsrf(encode_cookie(secret), issue_if_missing=True)
    assert kept.issued is None and kept.matches(kept.token()) and kept.token() != kept.token()
    ignored = RequestCsrf(None, issue_if_missing=False)
    assert ignored.token() == "" and ignored.issued is None
    first = ignored.regenerate()
    assert ignored.issued is not None and token_matches(first, ignored.issued)
    assert token_matches(ignored.regenerate(), ignored.issued)
    assert RequestCsrf("garbage", issue_if_missing=True).issued is not None


@pytest.mark.parametrize("raw, allowed", [
    ("https://app.example.com/done", True),
    ("https://app.example.com/done/deeper?x=1", True),
    ("https://app.example.com/elsewhere", False),
    ("https://shop.allowed.test/any", True),
    ("http://shop.allowed.test/any", False),
    ("https://evil.test/", False),
    ("http://127.0.0.1:4433/self-service/verification/browser", True),
    ("/self-service/login/browser", True),
    ("/ui/welcome", False),
])
def test_return_to_allow_list(raw: str, allowed: bool) -> None:
    allow = ("https://app.example.com/done", "https://*.allowed.test/")
    if allowed:
        assert check_return_to(raw, allow, "http://127.0.0.1:4433/", "http://127.0.0.1:4433/ui/welcome")
    else:
        with pytest.raises(ReturnToForbidden) as caught:
            check_return_to(raw, allow, "http://127.0.0.1:4433/", "http://127.0.0.1:4433/ui/welcome")
        assert "is not allowed" in str(caught.value)


def test_body_decoding_rules() -> None:
    assert isinstance(check_request("POST", "application/json", b""), BodyError)
    unknown = check_request("POST", "text/plain", b"x")
    assert isinstance(unknown, BodyError) and "text/plain" in unknown.reason
    assert check_request("POST", "application/json; charset=utf-8", b"{}") is None
    head = check_request("HEAD", None, b"")
    assert isinstance(head, BodyError) and '"HEAD" but only [POST GET]' in head.reason
    garbage = decode("POST", "application/json", b"{nope", [], CODE_SCHEMA)
    assert isinstance(garbage, BodyError) and garbage.kind == "json_syntax"
    array = decode("POST", "application/json", b"[1]", [], CODE_SCHEMA)
    assert isinstance(array, BodyError) and array.reason.endswith("got: JSON")
    merged = decode("POST", "application/json", b'{"email": "a@b.test", "method": "code", "flow": "body", "x": 1}',
                    [("flow", "q")], CODE_SCHEMA)
    assert isinstance(merged, Submission) and merged.values == {"email": "a@b.test", "method": "code", "flow": "q"}
    assert merged.transient_payload == {}
    form = decode("POST", "application/x-www-form-urlencoded", b"method=code&method=link&email=", [("method", "x")],
                  CODE_SCHEMA)
    assert isinstance(form, Submission) and form.values == {"method": "code"} and form.field_errors == ()
    invalid = decode("POST", "application/x-www-form-urlencoded", b"method=sms&email=not-an-email", [], CODE_SCHEMA)
    assert isinstance(invalid, Submission) and [name for name, _ in invalid.field_errors] == ["method", "email"]
    assert invalid.field_errors[1][1]["id"] == 4000040
    assert decode("POST", "application/x-www-form-urlencoded", b"method=sms", [], LINK_SCHEMA).field_errors == ()


def test_json_bodies_are_read_as_forms() -> None:
    """Kratos turns each JSON value into the text a form would carry, then validates that text."""
    numbers = decode("POST", "application/json", b'{"code": 123456, "email": 5, "method": null}', [], CODE_SCHEMA)
    assert isinstance(numbers, Submission) and numbers.values == {"code": "123456", "email": "5"}
    assert [(name, message["id"]) for name, message in numbers.field_errors] == [("email", 4000040)]
    multipart = decode("POST", "multipart/form-data; boundary=x", b"--x--", [("flow", "f")], CODE_SCHEMA)
    assert isinstance(multipart, Submission) and multipart.values == {"flow": "f"}
    unreadable = decode("POST", "application/json", b'{"transient_payload": "not-an-object"}', [], CODE_SCHEMA)
    assert isinstance(unreadable, PayloadError)
    in_form = decode("POST", "application/x-www-form-urlencoded", b"transient_payload=x", [], CODE_SCHEMA)
    assert isinstance(in_form, BodyError) and in_form.reason.startswith("Unable to decode JSON payload")
    number = decode("POST", "application/json", b'{"transient_payload": 5}', [], CODE_SCHEMA)
    assert isinstance(number, Submission) and number.field_errors[0][0] == "transient_payload"
    assert number.field_errors[0][1]["id"] == 4000026
    payload = decode("POST", "application/json", b'{"transient_payload": {"a": [1]}}', [], CODE_SCHEMA)
    assert isinstance(payload, Submission) and payload.transient_payload == {"a": [1]}


def test_time_format_matches_go_rfc3339nano() -> None:
    assert format_time(0) == "1970-01-01T00:00:00Z"
    assert format_time(1_500_000) == "1970-01-01T00:00:01.5Z"
    assert format_time(1_000_001) == "1970-01-01T00:00:01.000001Z"


def test_the_csrf_cookie_keeps_its_configured_same_site_only_when_secure() -> None:
    from kratos_reference.csrf import set_cookie_header

    secret = bytes(32)
    assert "SameSite=Strict" in set_cookie_header("c", secret, secure=True, same_site="Strict")
    assert "SameSite=Lax" in set_cookie_header("c", secret, secure=False, same_site="Strict")
    assert "Path=/auth" in set_cookie_header("c", secret, secure=False, path="/auth")
