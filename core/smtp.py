"""Sending outbox messages by SMTP (the ``sender`` of :func:`core.outbox.deliver_pending`).

A message is UTF-8 (subject and body in Japanese), addressed to the tenant's contacts. Any
transport error propagates to ``deliver_pending``, which keeps the message as ``failed`` for the
next run; nothing here ever blocks a transition, since transitions only queue.
"""

from __future__ import annotations

import dataclasses
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from core.outbox import Notification


@dataclasses.dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    sender: str = "renkei@localhost"
    username: str = ""
    password: str = ""
    starttls: bool = False
    timeout: float = 10.0


def build_message(settings: SmtpSettings, notification: Notification) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = notification.recipients
    message["Subject"] = notification.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring=f"renkei-{notification.id}")
    message.set_content(notification.body, charset="utf-8")
    return message


class SmtpSender:
    """Callable sender: one SMTP conversation per message (a run sends at most a few hundred)."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def __call__(self, notification: Notification) -> None:
        s = self.settings
        with smtplib.SMTP(s.host, s.port, timeout=s.timeout) as client:
            if s.starttls:
                client.starttls()
            if s.username:
                client.login(s.username, s.password)
            client.send_message(build_message(s, notification))
