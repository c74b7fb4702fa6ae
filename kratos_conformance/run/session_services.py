"""What a conformance session runs beside its tests, started from the pytest plugin's hooks.

- :func:`launch_embedded_target`: the embedded reference target, launched as the session starts so that it boots
  while pytest collects (the ``conformance_run`` fixture takes it over);
- :func:`share_the_sink`: under pytest-xdist against a deployed target, the built-in SMTP sink, once, on the
  controller (:class:`SharedSink`), its spool read by the workers;
- :func:`serve_the_ui`: ``--serve-ui``, the suite's own verification UI, for the whole run.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from kratos_conformance.errors import EXIT_CANNOT_JUDGE, CannotJudge
from kratos_conformance.mail import SmtpSink, parse_mail_source
from kratos_conformance.run.conformance_run import ConformanceRun
from kratos_conformance.run.options import RunOptions
from kratos_conformance.run.ui_server import VerificationUi, parse_listen

#: the run's validated options, stashed on the pytest config by the plugin's ``pytest_configure``.
OPTIONS_KEY = pytest.StashKey[RunOptions]()
#: the run launched early by :func:`launch_embedded_target`, which the ``conformance_run`` fixture takes over
LAUNCHED_RUN_KEY = pytest.StashKey[ConformanceRun]()


def launch_embedded_target(config: pytest.Config) -> None:
    """Launch the session's embedded reference target now, to start while the tests are collected (the suites'
    ``pytest_sessionstart`` calls this; the ``conformance_run`` fixture waits for it). No-op for a deployed
    target, for ``--collect-only`` and on an xdist controller (its workers run the targets)."""
    options = config.stash.get(OPTIONS_KEY, None)
    if options is None or not options.embedded or LAUNCHED_RUN_KEY in config.stash or config.option.collectonly \
            or _is_xdist_controller(config):
        return
    run = ConformanceRun(options)
    try:
        run.launch()
    except CannotJudge:
        run.close()  # the fixture tries again and ends the session with the reason
        return
    config.stash[LAUNCHED_RUN_KEY] = run
    config.add_cleanup(run.close)


def _is_xdist_controller(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "numprocesses", None)) and not hasattr(config, "workerinput")


#: how a pytest-xdist controller tells its workers where its SMTP sink spools mail.
WORKER_SPOOL_KEY = "kratos_conformance_mail_spool"


class SharedSink:
    """On the pytest-xdist controller of a run against a deployed target with the built-in SMTP sink: the one sink
    the target's courier can reach listens here and spools every mail for the workers (:mod:`.mail.spool`)."""

    def __init__(self, host: str, port: int) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="kratos-conformance-mail-"))
        try:
            self.sink = SmtpSink(host, port, spool=self.directory)
        except CannotJudge:
            shutil.rmtree(self.directory, ignore_errors=True)
            raise

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[WORKER_SPOOL_KEY] = str(self.directory)

    def close(self) -> None:
        self.sink.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def share_the_sink(config: pytest.Config, options: RunOptions) -> None:
    """Under pytest-xdist, against a deployed target mailing the built-in sink: start it once, on the controller."""
    if options.embedded or config.option.collectonly or not _is_xdist_controller(config):
        return
    try:
        spec = parse_mail_source(options.mail_source)
        if spec.kind != "smtp-sink":
            return  # a mail catcher's HTTP API is shared by nature
        shared = SharedSink(spec.host, spec.port)
    except CannotJudge as exc:
        pytest.exit(f"kratos-conformance: {exc}", returncode=EXIT_CANNOT_JUDGE)
    config.pluginmanager.register(shared, "kratos-conformance-shared-sink")
    config.add_cleanup(shared.close)


def serve_the_ui(config: pytest.Config, options: RunOptions) -> None:
    """``--serve-ui``: the suite's own verification UI listens for the whole run (on the pytest-xdist controller,
    which its workers' browsers reach too)."""
    if not options.serve_ui or options.embedded or config.option.collectonly or hasattr(config, "workerinput"):
        return
    assert options.public_url is not None
    try:
        ui = VerificationUi(options.public_url, *parse_listen(options.serve_ui), tls=options.serve_ui_tls)
    except CannotJudge as exc:
        pytest.exit(f"kratos-conformance: {exc}", returncode=EXIT_CANNOT_JUDGE)
    config.add_cleanup(ui.close)
