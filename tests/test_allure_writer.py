"""The background Allure writer writes what allure-pytest's file logger writes, and gives the logger back."""

from __future__ import annotations

import json
from pathlib import Path

import allure_commons
from allure_commons import model2
from allure_commons.logger import AllureFileLogger

from kratos_conformance.report.allure_writer import write_allure_in_background


def test_results_and_attachments_are_written_and_the_file_logger_is_restored(tmp_path: Path) -> None:
    logger = AllureFileLogger(str(tmp_path))
    allure_commons.plugin_manager.register(logger)
    try:
        writer = write_allure_in_background()
        assert writer is not None and not allure_commons.plugin_manager.is_registered(logger)
        result = model2.TestResult(uuid="u-1", name="a scenario", status=model2.Status.PASSED)
        allure_commons.plugin_manager.hook.report_result(result=result)
        allure_commons.plugin_manager.hook.report_attached_data(body="GET /x -> 200", file_name="a-attachment.txt")
        result.status = model2.Status.FAILED  # allure may change its objects after reporting them: the snapshot holds
        writer.close()
        assert allure_commons.plugin_manager.is_registered(logger)
        written = [json.loads(p.read_text()) for p in tmp_path.glob("*-result.json")]
        assert [(r["name"], r["status"]) for r in written] == [("a scenario", "passed")]
        assert (tmp_path / "a-attachment.txt").read_text() == "GET /x -> 200"
        assert not list(tmp_path.glob("*.tmp"))
    finally:
        allure_commons.plugin_manager.unregister(logger)
