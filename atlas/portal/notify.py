"""E-mails to a country's contacts and the secretariat: written to an outbox folder, or sent by SMTP.

By default (``portal.smtp_host`` empty) each message is an ``.eml`` file in ``data/processed/portal/outbox``,
written whole (atomic rename), so an operator can read, forward or delete it. With ``smtp_host`` set it is sent
by SMTP; a message that cannot be sent is kept in the outbox and logged, and the portal goes on.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import uuid
from email.message import EmailMessage
from pathlib import Path

from atlas.atomic import write_text_atomic
from atlas.config import PortalSettings

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, settings: PortalSettings, outbox: Path):
        self.settings = settings
        self.outbox = Path(outbox)

    def recipients(self, country: str) -> list[str]:
        return [*self.settings.contacts.get(country, ()), *self.settings.secretariat_emails]

    def send(self, country: str, subject: str, body: str) -> Path | None:
        """Notify ``country``'s contacts and the secretariat; returns the outbox file when one was written."""
        message = EmailMessage()
        message["From"] = self.settings.mail_from
        message["To"] = ", ".join(self.recipients(country)) or "undisclosed-recipients:;"
        message["Subject"] = subject
        message["Date"] = dt.datetime.now(dt.UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        message["Message-ID"] = f"<{uuid.uuid4().hex}@atlas-portal>"
        message.set_content(body)
        if self.settings.smtp_host and self.recipients(country):
            try:
                with smtplib.SMTP(self.settings.smtp_host, self.settings.smtp_port, timeout=30) as smtp:
                    if self.settings.smtp_starttls:
                        smtp.starttls()
                    smtp.send_message(message)
                return None
            except (OSError, smtplib.SMTPException) as exc:
                log.warning("e-mail %r not sent by %s (%s); kept in %s", subject, self.settings.smtp_host, exc,
                            self.outbox)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S_%f")  # names sort in sending order
        return write_text_atomic(self.outbox / f"{stamp}_{country}_{uuid.uuid4().hex[:6]}.eml", message.as_string())
