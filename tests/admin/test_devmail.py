"""The demo's mail catcher: what renkei sends is kept and shown with its links, so that a newcomer
follows the /join/ confirmation or an invitation without a mail server; the page exists only in development."""

from __future__ import annotations

from pathlib import Path

from admin import create_app
from admin.devmail import inbox, start_catcher
from maintenance.keycloak_server import free_ports
from core.outbox import Notification
from core.smtp import SmtpSender, SmtpSettings


def _app(env: str, var: Path, mail: Path | None):
    return create_app({"RENKEI_ENV": env, "TESTING": True, "SECRET_KEY": "devmail-test", "RENKEI_VAR_DIR": str(var),
                       "SQLALCHEMY_DATABASE_URI": f"sqlite:///{var / 'devmail.db'}",
                       **({"RENKEI_DEV_MAIL_DIR": str(mail)} if mail else {})})


def test_a_message_sent_to_the_catcher_is_shown_with_its_link(tmp_path):
    mail = tmp_path / "mail"
    [port] = free_ports(1)
    catcher = start_catcher(mail, port=port)
    try:
        link = "http://127.0.0.1:5000/join/confirm/abc_DEF-123"
        SmtpSender(SmtpSettings(host="127.0.0.1", port=port, sender="renkei@example.jp"))(Notification(
            id=1, kind="member.confirm_email", recipients="apply@example.jp",
            subject="【入会申請】メールアドレスの確認をお願いします", body=f"次のリンクを開いてください。\n\n{link}\n"))
    finally:
        catcher.stop()
    [caught] = inbox(mail)
    assert caught.to == "apply@example.jp" and "メールアドレスの確認" in caught.subject and link in caught.body
    page = _app("development", tmp_path, mail).test_client().get("/dev/mail/")
    assert page.status_code == 200
    assert f'<a href="{link}" rel="noopener">{link}</a>' in page.get_data(as_text=True)


def test_the_inbox_page_is_absent_outside_development(tmp_path):
    assert _app("testing", tmp_path, tmp_path / "mail").test_client().get("/dev/mail/").status_code == 404
    assert _app("development", tmp_path, None).test_client().get("/dev/mail/").status_code == 404
