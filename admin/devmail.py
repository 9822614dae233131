"""The demo's mail catcher: an SMTP sink on loopback and the inbox page that shows what it caught.

Without a mail server a newcomer could not follow the links renkei and Keycloak send (the /join/
confirmation, an invited admin's password set-up). ``renkei demo`` starts :func:`start_catcher`
(aiosmtpd, on 127.0.0.1), points renkei's and the realm's SMTP settings at it, and delivers the
outbox every few seconds; every message is kept as an ``.eml`` file in ``var/mail`` and shown,
newest first and with its links clickable, at ``/dev/mail/``. The page exists only in
development (``RENKEI_ENV=development`` with ``RENKEI_DEV_MAIL_DIR`` set, which only the demo sets).
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import time
from pathlib import Path

from flask import Blueprint, abort, current_app, render_template

blueprint = Blueprint("devmail", __name__, url_prefix="/dev/mail")
KEPT = 200  # the newest messages the page shows


def start_catcher(directory: Path, *, host: str = "127.0.0.1", port: int = 1025):
    """An SMTP server on ``host:port`` that writes each message it accepts to ``directory``; returns
    the running controller (``.stop()`` ends it)."""
    from aiosmtpd.controller import Controller

    directory.mkdir(parents=True, exist_ok=True)

    class Keep:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
            (directory / f"{time.time_ns()}.eml").write_bytes(envelope.original_content or envelope.content)
            return "250 Message accepted for delivery"

    controller = Controller(Keep(), hostname=host, port=port)
    controller.start()
    return controller


@dataclasses.dataclass(frozen=True)
class CaughtMessage:
    name: str
    sender: str
    to: str
    subject: str
    date: str
    body: str


def _text(message) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    return part.get_content() if part is not None else ""


def inbox(directory: Path) -> list[CaughtMessage]:
    """The messages caught so far, newest first."""
    found = []
    for path in sorted(directory.glob("*.eml"), reverse=True)[:KEPT]:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        found.append(CaughtMessage(path.stem, str(message.get("From", "")), str(message.get("To", "")),
                                   str(message.get("Subject", "")), str(message.get("Date", "")), _text(message)))
    return found


@blueprint.get("/")
def index():
    directory = current_app.config.get("RENKEI_DEV_MAIL_DIR")
    if current_app.config.get("RENKEI_ENV") != "development" or not directory:
        abort(404)
    return render_template("renkei/devmail.html", messages=inbox(Path(directory)))
