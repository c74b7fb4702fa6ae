"""Allure results: every exchange of a scenario as a step with its redacted transcript attached, every check as a
step (failed if the check failed), and labels and links that say what the scenario touched.

Labels (from the test's record): ``feature`` and ``endpoint`` = each contract operation called, ``story`` and
``transition`` = each state transition seen, ``tag`` and ``client_kind`` = the client kind, ``epic`` = the area of
each requirement the test names. Links of type ``requirement`` (named by id) point into ``summary.html``
(``#req-<ID>``), relative to an Allure report generated next to it; ``--allure-link-pattern
requirement:<pattern>`` overrides that.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import uuid4

import allure
from allure_commons import plugin_manager
from allure_commons.types import AttachmentType

from kratos_conformance.report.coverage import CONTRACT_OPERATIONS
from kratos_conformance.report.results import TestRecord
from kratos_conformance.rules.catalog import load_catalog
from kratos_conformance.rules.checks import CheckResult
from kratos_conformance.wire.exchanges import Exchange
from kratos_conformance.wire.redact import redact_text

LINK_TYPE = "requirement"
#: where a requirement link leads by default: the HTML summary, seen from an Allure report in <report dir>/<x>/.
DEFAULT_LINK = "../summary.html#req-{}"


def exchange_title(ex: Exchange) -> str:
    """``POST updateVerificationFlow [spa] -> 200`` (operations outside the contract already name the method)."""
    what = ex.operation if ex.operation.startswith(f"{ex.method} ") else f"{ex.method} {ex.operation}"
    return f"{what} [{ex.client_kind}] -> {ex.status}"


def check_title(check: CheckResult) -> str:
    """``VER-CODE-WRONG status: passed``; a failed check adds its detail."""
    outcome = "passed" if check.passed else f"FAILED - {redact_text(check.detail)}"
    return f"{check.requirement} {check.name}: {outcome}"


def _step(title: str, failure: str | None = None, attachment: str | None = None,
          checks: Sequence[CheckResult] = ()) -> None:
    """Emit one finished step (with an attachment and one child step per check) into the current Allure test."""
    uuid = str(uuid4())
    plugin_manager.hook.start_step(uuid=uuid, title=title, params={})
    if attachment is not None:
        allure.attach(attachment, name="exchange (redacted)", attachment_type=AttachmentType.TEXT)
    for check in checks:
        _step(check_title(check), failure=None if check.passed else redact_text(check.detail))
    error = AssertionError(failure) if failure else None
    plugin_manager.hook.stop_step(uuid=uuid, title=title, exc_type=type(error) if error else None, exc_val=error,
                                  exc_tb=None)


class StepEmitter:
    """Listens to a test's exchanges and checks and turns them into Allure steps as they happen.

    The contract judge evaluates its checks on an exchange before the test's listeners hear of the exchange; those
    checks are held back and nested under the exchange's step. Later checks become steps of their own.
    """

    def __init__(self) -> None:
        self._emitted: set[int] = set()
        self._pending: dict[int, list[CheckResult]] = {}

    def on_exchange(self, ex: Exchange) -> None:
        if id(ex) in self._emitted:
            return
        self._emitted.add(id(ex))
        held = self._pending.pop(id(ex), [])
        failed = [c for c in held if not c.passed]
        _step(exchange_title(ex), failure=check_title(failed[0]) if failed else None, attachment=ex.render(),
              checks=held)

    def on_check(self, check: CheckResult) -> None:
        waiting = [ex for ex in check.exchanges if id(ex) not in self._emitted]
        if waiting:
            self._pending.setdefault(id(waiting[0]), []).append(check)
            return
        _step(check_title(check), failure=None if check.passed else redact_text(check.detail))


def requirement_link(req_id: str, patterns: dict[str, str]) -> str:
    """The URL a requirement link is given (an ``--allure-link-pattern`` for the type formats the bare id)."""
    return req_id if LINK_TYPE in patterns else DEFAULT_LINK.format(req_id)


def label_test(record: TestRecord, patterns: dict[str, str]) -> None:
    """Add the labels and requirement links of a finished test to its Allure result."""
    catalog = load_catalog()
    operations = sorted({h[0] for h in record.hits if h[0] in CONTRACT_OPERATIONS})
    transitions = sorted({f"{t[0]} -> {t[1]}" for t in record.transitions})
    for op in operations:
        allure.dynamic.feature(op)
        allure.dynamic.label("endpoint", op)
    for transition in transitions:
        allure.dynamic.story(transition)
        allure.dynamic.label("transition", transition)
    if record.kind:
        allure.dynamic.tag(record.kind)
        allure.dynamic.label("client_kind", record.kind)
    areas = sorted({catalog[r].area for r in record.markers if r in catalog})
    for area in areas:
        allure.dynamic.epic(area)
    checked = set(record.passed_checks) | {fc.requirement for fc in record.failed_checks}
    for req_id in list(dict.fromkeys(record.markers)) + sorted(checked - set(record.markers)):
        allure.dynamic.link(requirement_link(req_id, patterns), link_type=LINK_TYPE, name=req_id)


def link_patterns(config: Any) -> dict[str, str]:
    """The ``--allure-link-pattern`` values of the run, by link type."""
    return dict(getattr(config.option, "allure_link_pattern", None) or [])
