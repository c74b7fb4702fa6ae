"""One SMTP sink shared by pytest-xdist workers: the controller's sink spools each mail to a directory, the workers
read the directory.

A deployed target's courier sends to one fixed address (``--mail-source smtp-sink://HOST:PORT``), so only one
process can listen there. Under pytest-xdist that process is the controller: its :class:`~.smtp_sink.SmtpSink`
writes every mail it receives into a spool directory as one JSON file (written whole, then renamed into place), and
each worker reads that directory through :class:`SpoolReader`. Scenarios use unique addresses, so a worker only
ever looks at its own mails.
"""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path

from kratos_conformance.errors import CannotJudge
from kratos_conformance.mail.message import Mail, mail_from_bytes

SUFFIX = ".mail.json"


def spool_mail(directory: Path, mail_id: str, content: bytes, recipients: tuple[str, ...], received_at: float) -> None:
    """Write one received mail into ``directory`` (readers never see a half-written file)."""
    record = {"id": mail_id, "recipients": list(recipients), "received_at": received_at,
              "content": base64.b64encode(content).decode()}
    name = f"{time.monotonic_ns():020d}-{mail_id}"
    tmp = directory / f".{name}.tmp"
    tmp.write_text(json.dumps(record), encoding="utf-8")
    os.replace(tmp, directory / f"{name}{SUFFIX}")


class SpoolReader:
    """The mail source of a pytest-xdist worker: the mails the controller's SMTP sink spooled, oldest first."""

    name = "smtp-sink"
    poll_interval = 0.02  # a directory listing: cheap, but not free

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._read: dict[str, Mail] = {}

    def check(self) -> None:
        if not self.directory.is_dir():
            raise CannotJudge(f"smtp-sink: the controller's mail spool {self.directory} is missing")

    def idle(self, seconds: float) -> None:
        time.sleep(seconds)

    def _refresh(self) -> None:
        for entry in sorted(os.listdir(self.directory)):
            if entry.endswith(SUFFIX) and entry not in self._read:
                record = json.loads((self.directory / entry).read_text(encoding="utf-8"))
                self._read[entry] = mail_from_bytes(record["id"], base64.b64decode(record["content"]),
                                                    tuple(record["recipients"]), record["received_at"])

    def messages_to(self, address: str) -> list[Mail]:
        self._refresh()
        return [mail for _, mail in sorted(self._read.items()) if mail.is_to(address)]

    def all_messages(self) -> list[Mail]:
        self._refresh()
        return [mail for _, mail in sorted(self._read.items())]

    def close(self) -> None:
        """Nothing to release: the controller owns the sink and the directory."""
