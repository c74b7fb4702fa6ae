"""Differential comparison: the same scripted requests against two servers, their answers normalized and compared.

::

    transcript = record(target, mail, method="code", challenge_lifespan=5, server="my server")
    diffs = compare(kratos_transcript, transcript)

``record`` runs every case of :mod:`.cases` that applies to the target's method and returns a transcript (a plain
document: what was recorded from which server, and each case's normalized steps); ``compare`` lists the paths
where two transcripts differ. The transcripts recorded from real Ory Kratos releases ship with the package
(:func:`recording`), so any server can be held to Kratos's recorded behaviour without Kratos present.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from kratos_conformance.differential.cases import CASES
from kratos_conformance.differential.compare import (
    FORMAT,
    Accepted,
    Difference,
    apply_accepted,
    compare,
    load_accepted,
    load_transcript,
    overview,
    render,
    save_transcript,
)
from kratos_conformance.differential.script import Setting, run_cases
from kratos_conformance.mail import MailSource, SmtpSink
from kratos_conformance.rules.profiles import DEFAULT_PROFILE, get_profile
from kratos_conformance.run.embedded_target import (
    ALLOWED_RETURN_TO,
    ERROR_UI_PATH,
    UI_PATH,
    WELCOME_PATH,
    EmbeddedTarget,
)
from kratos_conformance.run.target import Target
from kratos_conformance.wire.http_transport import new_transport

__all__ = ["Accepted", "Difference", "RECORDINGS", "apply_accepted", "compare", "load_accepted", "load_transcript",
           "overview", "record", "record_embedded", "recording", "render", "save_transcript"]

#: the embedded reference target's lifespans while it is recorded: a code or token expires (1.5 s + the script's
#: margins) while its flow still lives (4 s), so every case reaches its end, and the waits stay short.
RECORDING_SETTINGS = {"flow-lifespan": "4s", "code-lifespan": "1.5s", "link-lifespan": "1.5s", "max-submissions": "5"}
RECORDING_CHALLENGE_LIFESPAN = 1.5
#: the recordings of real servers that ship with the package (recordings/<name>/<method>.json).
RECORDINGS = ("kratos-v26.2.0", "kratos-v25.4.0", "kratos-v1.3.1")


def record(target: Target, mail: MailSource, *, method: str, challenge_lifespan: float | None, server: str,
           default_return_url: str | None = None, settings: dict[str, Any] | None = None,
           only: tuple[str, ...] = (), progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the scripted cases against ``target`` and return their normalized transcript.

    ``target`` needs its admin API, UI and error UI URLs and an allow-listed ``return_to``; ``default_return_url``
    is where the server sends a user who brought no return_to (abstracted as ``<default-return>``); ``only``
    keeps the cases whose names start with one of its prefixes.
    """
    bases = {"public": target.public_url, "admin": target.admin_url, "ui": target.ui_url,
             "error-ui": target.error_ui_url, "return-to": target.return_to, "default-return": default_return_url}
    transport = new_transport()
    try:
        setting = Setting(target=target, mail=mail, method=method, transport=transport,
                          challenge_lifespan=challenge_lifespan, bases=bases)
        cases = run_cases(setting, CASES, only=only, progress=progress)
    finally:
        transport.close()
    return {"format": FORMAT, "server": server, "method": method, "recorded_on": date.today().isoformat(),
            "settings": dict(settings or {}), "cases": cases}


def record_embedded(method: str, *, faults: tuple[str, ...] = (), log_path: Path | None = None,
                    only: tuple[str, ...] = (), progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Start the embedded reference target (``method``, :data:`RECORDING_SETTINGS`, ``faults`` switched on) with its
    own SMTP sink, record its transcript and stop it."""
    sink = SmtpSink()
    embedded = EmbeddedTarget(method=method, smtp_url=sink.url, faults=faults, settings=dict(RECORDING_SETTINGS),
                              log_path=log_path or Path(tempfile.gettempdir()) / f"kratos-reference-{method}.log")
    try:
        embedded.start()
        public = embedded.public_url
        target = Target(public_url=public, admin_url=embedded.admin_url, admin_token=None,
                        profile=get_profile(DEFAULT_PROFILE), wait_budget=30.0, mail_timeout=10.0,
                        challenge_lifespan=RECORDING_CHALLENGE_LIFESPAN, ui_url=public + UI_PATH,
                        error_ui_url=public + ERROR_UI_PATH, return_to=ALLOWED_RETURN_TO)
        return record(target, sink, method=method, challenge_lifespan=RECORDING_CHALLENGE_LIFESPAN,
                      server="kratos-conformance reference target" + (f" with {', '.join(faults)}" if faults else ""),
                      default_return_url=public + WELCOME_PATH, settings=dict(embedded.settings), only=only,
                      progress=progress)
    finally:
        embedded.stop()
        sink.close()


def recording(name: str, method: str) -> dict[str, Any]:
    """A transcript shipped with the package, e.g. ``recording("kratos-v26.2.0", "code")``."""
    if name not in RECORDINGS:
        from kratos_conformance.errors import CannotJudge

        raise CannotJudge(f"no recording named {name!r} (known: {', '.join(RECORDINGS)})")
    path = resources.files("kratos_conformance") / "recordings" / name / f"{method}.json"
    with resources.as_file(path) as file:
        return load_transcript(file)
