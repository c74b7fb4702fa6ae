"""The courier: a background thread delivering queued mails over SMTP (smtplib).

Contract:
- ``Courier.queue(recipient, content)`` stores a ``queued`` message and wakes the worker; it never blocks on
  the network, so requests never wait for SMTP.
- The worker sends queued messages oldest first; a delivered message becomes ``sent``; a failed one stays
  ``queued`` and is retried (after ``retry_delay`` seconds) until ``max_attempts`` attempts, then ``abandoned``.
- ``stop()`` ends the worker within a bounded time (one SMTP timeout at most).
"""

from __future__ import annotations

import logging
import smtplib
import threading
import uuid
from email.message import EmailMessage

from .mail_templates import MailContent
from .storage import CourierMessage, Storage
from .timefmt import now_us

log = logging.getLogger("kratos_reference.courier")


class Courier:
    """Queues mails in storage and delivers them from one worker thread."""

    def __init__(self, storage: Storage, smtp_host: str, smtp_port: int, mail_from: str, *,
                 max_attempts: int = 5, retry_delay: float = 0.5, smtp_timeout: float = 5.0) -> None:
        self._storage = storage
        self._smtp_host = smtp_host
        self._smtp_port = smtp_port
        self._mail_from = mail_from
        self._max_attempts = max_attempts
        self._retry_delay = retry_delay
        self._smtp_timeout = smtp_timeout
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reference-courier", daemon=True)

    def start(self) -> None:
        """Start the worker thread."""
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the worker to finish and wait for it (bounded)."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def queue(self, recipient: str, content: MailContent) -> str:
        """Queue one mail; returns its message id."""
        now = now_us()
        message = CourierMessage(str(uuid.uuid4()), recipient, content.subject, content.text, content.html,
                                 content.template_type, "queued", 0, now, now)
        self._storage.enqueue_message(message)
        self._wake.set()
        return message.id

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=self._retry_delay)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                pending = self._storage.queued_messages()
            except Exception:  # storage closed during shutdown
                log.exception("courier could not read the queue")
                continue
            for message in pending:
                if self._stop.is_set():
                    break
                sent = self._deliver(message)
                self._storage.record_send_attempt(message.id, sent, self._max_attempts, now_us())

    def _deliver(self, message: CourierMessage) -> bool:
        mail = EmailMessage()
        mail["From"] = self._mail_from
        mail["To"] = message.recipient
        mail["Subject"] = message.subject
        mail["Message-ID"] = f"<{message.id}@reference.test>"
        mail.set_content(message.body)
        mail.add_alternative(message.html_body, subtype="html")
        try:
            with smtplib.SMTP(self._smtp_host, self._smtp_port, timeout=self._smtp_timeout) as smtp:
                smtp.send_message(mail)
            return True
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("courier could not deliver %s to %s: %s", message.id, message.recipient, exc)
            return False
