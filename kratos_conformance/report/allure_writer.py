"""Allure result files written by a background thread, so the scenarios do not wait on the disk.

allure-pytest writes one file per test result, per fixture container and per attachment, synchronously, from the
test's thread: about 1,500 small files for a run of the scenarios, a second of a seven-second run on this machine.
:class:`BackgroundAllureWriter` takes the place of its file logger in ``allure_commons``' plugin manager (a hook,
not a fork): the same files, with the same names and contents, written by one worker thread. What the logger is
handed is turned into plain data on the test's thread (allure may change its objects afterwards); only the JSON
encoding and the file writes move. :meth:`BackgroundAllureWriter.close` writes whatever is still queued.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import allure_commons
from allure_commons import hookimpl
from allure_commons.logger import AllureFileLogger
from attr import asdict

_Job = Callable[[], None]


class BackgroundAllureWriter:
    """Writes what allure-pytest's :class:`AllureFileLogger` would write, from a worker thread."""

    def __init__(self, file_logger: AllureFileLogger) -> None:
        self.file_logger = file_logger
        self.report_dir = Path(file_logger._report_dir)  # noqa: SLF001 - the directory allure-pytest chose
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="allure-writer", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                job()
            except Exception as exc:  # noqa: BLE001 - reported once by close(); later files are still written
                self._error = self._error or exc

    def _write(self, name: str, content: bytes) -> None:
        tmp = self.report_dir / f"{name}.tmp"
        tmp.write_bytes(content)
        os.replace(tmp, self.report_dir / name)

    def _item(self, item: Any) -> None:
        """A test result, container or globals item: snapshot now, encode and write later."""
        name = item.file_pattern.format(prefix=uuid.uuid4())
        data = asdict(item, filter=lambda _, v: v or v is False)
        self._jobs.put(lambda: self._write(name, json.dumps(data, ensure_ascii=False).encode("utf-8")))

    @hookimpl
    def report_result(self, result: Any) -> None:
        self._item(result)

    @hookimpl
    def report_container(self, container: Any) -> None:
        self._item(container)

    @hookimpl
    def report_globals(self, globals_item: Any) -> None:
        self._item(globals_item)

    @hookimpl
    def report_attached_data(self, body: str | bytes, file_name: str) -> None:
        self._jobs.put(lambda: self.file_logger.report_attached_data(body, file_name))  # strings: nothing to copy

    @hookimpl
    def report_attached_file(self, source: str, file_name: str) -> None:
        self.file_logger.report_attached_file(source, file_name)  # the source may be gone later: copy now

    def close(self) -> None:
        """Write what is queued, stop the thread, and hand the plugin manager back its file logger."""
        self._jobs.put(None)
        self._thread.join()
        allure_commons.plugin_manager.unregister(self)
        allure_commons.plugin_manager.register(self.file_logger)
        if self._error is not None:
            print(f"kratos-conformance: warning: an Allure result could not be written: {self._error}",
                  file=sys.stderr)


def write_allure_in_background() -> BackgroundAllureWriter | None:
    """Put a :class:`BackgroundAllureWriter` in place of the registered Allure file logger (None if there is none);
    the caller must :meth:`~BackgroundAllureWriter.close` it when the run ends."""
    loggers = [p for p in allure_commons.plugin_manager.get_plugins() if isinstance(p, AllureFileLogger)]
    if len(loggers) != 1:
        return None
    allure_commons.plugin_manager.unregister(loggers[0])
    writer = BackgroundAllureWriter(loggers[0])
    allure_commons.plugin_manager.register(writer)
    return writer
