"""The notifications outbox: state changes queue Japanese messages; SMTP delivery; failures retried."""

import email
import email.policy
import socket

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from tenancy.onboarding import lifecycle
from core.outbox import Notification
from tenancy.registry.models import TenantStatus
from core.outbox import deliver_pending
from core.smtp import SmtpSender, SmtpSettings


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=email.policy.default)))
        return "250 OK"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_sink():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


def outbox(db):
    db.expire_all()
    return list(db.scalars(sa.select(Notification).order_by(Notification.id)))


def test_a_status_change_is_delivered_by_smtp_in_japanese(db, operator, applicant, smtp_sink):
    controller, inbox = smtp_sink
    tenant = applicant()
    lifecycle.screen(db, operator, tenant.code, "申込書を受領しました")
    db.commit()
    sender = SmtpSender(SmtpSettings(host=controller.hostname, port=controller.port, sender="renkei@pref.example.jp"))
    assert deliver_pending(db, sender) == (1, 0)
    db.commit()
    [(recipients, message)] = inbox.messages
    assert recipients == [tenant.contacts[0].email]
    assert message["Subject"] == f"【エリアデータ連携基盤】{tenant.name_ja}：参加状態が「審査中」になりました"
    assert message["From"] == "renkei@pref.example.jp"
    assert "申込書を受領しました" in message.get_content()
    assert [m.status for m in outbox(db)] == ["sent"]


def test_a_send_failure_never_blocks_the_transition_and_is_retried(db, operator, applicant, smtp_sink):
    controller, inbox = smtp_sink
    tenant = applicant()
    down = SmtpSender(SmtpSettings(host="127.0.0.1", port=free_port(), timeout=2))  # nobody listens there
    lifecycle.screen(db, operator, tenant.code)
    db.commit()
    assert deliver_pending(db, down) == (0, 1)
    db.commit()
    [message] = outbox(db)
    assert (message.status, message.attempts) == ("failed", 1)
    assert "ConnectionRefused" in message.last_error
    assert tenant.status == TenantStatus.screening

    lifecycle.check_item(db, operator, tenant.code, "screening", "application_received")
    db.commit()  # the operator goes on working while mail is down
    sender = SmtpSender(SmtpSettings(host=controller.hostname, port=controller.port))
    assert deliver_pending(db, sender) == (1, 0)
    db.commit()
    assert [(m.status, m.attempts, m.last_error) for m in outbox(db)] == [("sent", 2, "")]
    assert len(inbox.messages) == 1


def test_renkei_onboarding_deliver_sends_through_the_configured_smtp_server(app, db, operator, applicant, smtp_sink,
                                                                            monkeypatch):
    controller, inbox = smtp_sink
    tenant = applicant()
    lifecycle.screen(db, operator, tenant.code)
    db.commit()
    runner = app.test_cli_runner()

    monkeypatch.setitem(app.config, "RENKEI_SMTP_HOST", "")
    unconfigured = runner.invoke(args=["onboarding", "deliver"])
    assert unconfigured.exit_code == 1 and "RENKEI_SMTP_HOST" in unconfigured.output
    assert [m.status for m in outbox(db)] == ["queued"]

    monkeypatch.setitem(app.config, "RENKEI_SMTP_HOST", controller.hostname)
    monkeypatch.setitem(app.config, "RENKEI_SMTP_PORT", controller.port)
    delivered = runner.invoke(args=["onboarding", "deliver"])
    assert delivered.exit_code == 0, delivered.output
    assert "sent 1" in delivered.output
    assert [m.status for m in outbox(db)] == ["sent"]
    assert len(inbox.messages) == 1
