"""The session's connection to the target: the target itself (deployed, or the embedded reference target started
for the run), the mail source, the clients and the recorder that hands every exchange to the contract judge.

The pytest plugin (:mod:`.pytest_plugin`) makes one per session (per worker under pytest-xdist) and serves it to the
fixtures; this module knows nothing of pytest.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from kratos_conformance.errors import CannotJudge
from kratos_conformance.flows.admin_api import DEFAULT_TRAITS
from kratos_conformance.mail import MailSource, SmtpSink, SpoolReader, open_mail_source, parse_mail_source
from kratos_conformance.rules.contract_judge import ContractJudge
from kratos_conformance.rules.profiles import choose_profile
from kratos_conformance.run.embedded_target import (
    ALLOWED_RETURN_TO,
    CHALLENGE_LIFESPAN,
    CONFORMANCE_SETTINGS,
    ERROR_UI_PATH,
    FLOW_LIFESPAN,
    UI_PATH,
    EmbeddedTarget,
)
from kratos_conformance.run.options import PREFLIGHT_ENV, RunOptions
from kratos_conformance.run.preflight import Findings, Setting, preflight, where_mail_is_read
from kratos_conformance.run.target import Target
from kratos_conformance.wire.clients import ClientFactory
from kratos_conformance.wire.exchanges import Recorder


def reference_settings(opts: RunOptions) -> dict[str, str]:
    """The embedded reference target's settings: the suite's short lifespans, and the server configuration the
    options describe (attempt limit, unknown-recipient notices, cookie SameSite and Path), so that the target is
    configured as the run judges it."""
    settings = {**CONFORMANCE_SETTINGS, "max-submissions": str(opts.max_submissions),
                "cookie-same-site": opts.cookie_same_site, "cookie-path": opts.cookie_path}
    if opts.notify_unknown_recipients:
        settings["notify-unknown-recipients"] = ""  # a flag
    return settings


class ConformanceRun:
    """The session's connection to the target: started on first use, closed at the end of the session.

    ``mail_spool``: in a pytest-xdist worker of a run against a deployed target with the built-in SMTP sink, the
    directory where the controller's sink spools mail (read instead of starting a sink of its own).
    """

    def __init__(self, options: RunOptions, mail_spool: str | None = None) -> None:
        self.options = options
        self.mail_spool = mail_spool
        self.recorder = Recorder()
        self.embedded: EmbeddedTarget | None = None
        self.mail: MailSource | None = None
        self.target: Target | None = None
        self.clients: ClientFactory | None = None
        #: where a preflight run here says what it found (the conformance_run fixture: pytest's terminal)
        self.say: Callable[[str], None] = lambda _: None
        #: whether the session runs browser walks (a preflight run here then checks the UI they open)
        self.browser_walks = False

    def launch(self) -> None:
        """An embedded run: open the SMTP sink and launch the reference target's process without waiting for it
        to listen (:meth:`start` waits), so it starts while pytest collects. Other runs: nothing to do."""
        opts = self.options
        if not opts.embedded or self.embedded is not None:
            return
        self.mail = open_mail_source(parse_mail_source(opts.mail_source))
        if not isinstance(self.mail, SmtpSink):
            raise CannotJudge("the embedded reference target mails to the built-in smtp-sink only")
        self.embedded = EmbeddedTarget(
            method=opts.reference_method, smtp_url=self.mail.url, faults=opts.reference_faults,
            settings=reference_settings(opts),
            log_path=opts.report_dir / f"reference-target-{opts.reference_method}{_worker_suffix()}.log",
        ).launch()

    def start(self) -> None:
        opts = self.options
        public_url, admin_url, method = opts.public_url, opts.admin_url, None
        ui_url, error_ui_url, return_to = opts.ui_url, opts.error_ui_url, opts.return_to
        challenge_lifespan = opts.challenge_lifespan
        if opts.embedded:
            self.launch()
            assert self.embedded is not None
            self.embedded.wait_ready()
            public_url, admin_url, method = self.embedded.public_url, self.embedded.admin_url, opts.reference_method
            ui_url, error_ui_url = public_url + UI_PATH, public_url + ERROR_UI_PATH
            return_to = ALLOWED_RETURN_TO
            challenge_lifespan = CHALLENGE_LIFESPAN
        elif self.mail_spool:
            self.mail = SpoolReader(self.mail_spool)
            self.mail.check()
        else:
            self.mail = open_mail_source(parse_mail_source(opts.mail_source))
        ui_sources = {"ui_url": "given" if ui_url or opts.embedded else None,
                      "error_ui_url": "given" if error_ui_url or opts.embedded else None}
        if opts.served_ui_urls is not None and not opts.embedded:
            served_ui, served_error_ui = opts.served_ui_urls
            ui_sources = {name: source or "served" for name, source in ui_sources.items()}
            ui_url, error_ui_url = ui_url or served_ui, error_ui_url or served_error_ui
        assert public_url is not None and self.mail is not None
        findings = self._findings(self.mail)
        cookie_secure, secure_source = {"yes": True, "no": False}.get(opts.cookie_secure), opts.source("cookie_secure")
        learned_secure = findings.settings.get("cookie_secure")
        if opts.cookie_secure == "learned":
            # as the server's first cookie was; Secure over https whatever it was; without a cookie, by the scheme
            https = public_url.startswith("https")
            sent = bool(learned_secure.value) if learned_secure is not None else None
            cookie_secure = https or bool(sent)
            secure_source = "learned" if sent is not None and sent == cookie_secure else "default"
        profile, _, profile_source = choose_profile(opts.profile, findings.release, opts.known_defects)
        self.target = Target(
            public_url=public_url, admin_url=admin_url, admin_token=opts.admin_token,
            profile=profile,
            wait_budget=opts.wait_budget, mail_timeout=opts.mail_timeout,
            challenge_lifespan=challenge_lifespan,
            ui_url=ui_url, error_ui_url=error_ui_url, return_to=return_to, reference_method=method,
            identity_schema=findings.identity_schema, identity_traits=findings.identity_traits,
            flow_lifespan=findings.flow_lifespan, notify_unknown_recipients=opts.notify_unknown_recipients,
            cookie_secure=cookie_secure,
            cookie_same_site=opts.cookie_same_site, cookie_path=opts.cookie_path,
            max_submissions=opts.max_submissions,
            security_load=opts.security_load, race_size=opts.race_size, race_wrong_codes=opts.race_wrong_codes,
            race_concurrency=opts.race_concurrency,
            timing_samples=opts.timing_samples, guess_limit_per_flow=opts.guess_limit_per_flow,
            guess_limit_per_hour=opts.guess_limit_per_hour, timing_limit_ms=opts.timing_limit_ms,
            settings={**findings.report(),
                      **{name: {"value": getattr(opts, name), "source": opts.source(name)}
                         for name in ("notify_unknown_recipients", "cookie_same_site", "cookie_path",
                                      "max_submissions", "security_load", "race_size", "race_wrong_codes",
                                      "race_concurrency", "timing_samples")},
                      "profile": {"value": profile.name, "source": profile_source},
                      "known_defects": {"value": "tolerate" if profile.known_defects else "fail",
                                        "source": opts.source("known_defects")},
                      "cookie_secure": {"value": opts.cookie_secure if cookie_secure is None else cookie_secure,
                                        "source": secure_source},
                      **{name: {"value": value, "source": ui_sources[name]}
                         for name, value in (("ui_url", ui_url), ("error_ui_url", error_ui_url))
                         if ui_sources[name] is not None},
                      **{name: {"value": getattr(opts, name), "source": opts.source(name)}
                         for name in ("wait_budget", "mail_timeout")},
                      "return_to": {"value": return_to,
                                    "source": "given" if opts.return_to or opts.embedded else "default"}},
        )
        self.target.check_reachable()
        if self.target.ui_url is None or self.target.error_ui_url is None:
            self.target = self.target.with_learned_ui_urls()
        self.clients = ClientFactory(self.target, self.recorder)
        self.recorder.add_listener(ContractJudge(self.target).judge)

    def _findings(self, mail: MailSource) -> Findings:
        """What the preflight found: handed over by the command line (it ran before pytest), else found here (a
        plain pytest run against a deployed server); for the embedded target, what the suite gave it."""
        opts = self.options
        if opts.embedded:
            return Findings("default", dict(DEFAULT_TRAITS), FLOW_LIFESPAN, None, {
                "flow_lifespan": Setting(FLOW_LIFESPAN, "given"),
                "challenge_lifespan": Setting(CHALLENGE_LIFESPAN, "given"),
                "identity_schema": Setting("default", "given"),
                "identity_traits": Setting(dict(DEFAULT_TRAITS), "given")})
        handed = os.environ.get(PREFLIGHT_ENV)
        if handed:
            return Findings.from_json(handed)
        sink = where_mail_is_read(opts, mail)  # the command line says it before pytest; a plain pytest run here
        if sink:
            self.say(sink)
        return preflight(opts, mail, say=self.say, browser=self.browser_walks)

    def close(self) -> None:
        if self.clients is not None:
            self.clients.close()
        if self.embedded is not None:
            self.embedded.stop(wait=False)  # its last seconds overlap with the reports; reaped at exit
        if self.mail is not None:
            self.mail.close()
        self.clients = self.embedded = self.mail = None


def _worker_suffix() -> str:
    """``-gw0`` etc. under pytest-xdist (each worker runs its own reference target), else ``""``."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return f"-{worker}" if worker else ""
