"""An invitation with the set-up e-mail: Keycloak, configured by bootstrap, mails the new user."""

import email
import email.policy
import time
import uuid

import pytest
from aiosmtpd.controller import Controller

from core.audit import AuditRecord
from tenancy.identity import operations as identity
from tenancy.identity.keycloak import IdentityDirectory, KeycloakSettings, bootstrap_realm, master_admin


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=email.policy.default)))
        return "250 OK"


@pytest.fixture
def mail_server():
    from maintenance.keycloak_server import free_ports

    inbox = Inbox()
    [port] = free_ports(1)
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def realm_with_mail(keycloak_server, mail_server):
    _, port = mail_server
    realm = f"mail-{uuid.uuid4().hex[:6]}"
    settings = KeycloakSettings(url=keycloak_server.url, realm=realm, admin_client_secret="mail-admin-secret",
                                service_client_secret="mail-service-secret", metering_client_secret="mail-metering-secret",
                                smtp={"host": "127.0.0.1", "port": port, "from": "renkei@example.jp"})
    master = master_admin(keycloak_server.url, keycloak_server.admin_user, keycloak_server.admin_password, "master")
    changes = bootstrap_realm(master, settings)
    assert "realm mail server" in changes
    assert "realm mail server" not in bootstrap_realm(master, settings)  # idempotent
    yield settings
    master.change_current_realm("master")
    master.delete_realm(realm)


def test_an_invitation_mails_the_set_up_link(db, tenant_factory, operator, mail_server, realm_with_mail):
    inbox, _ = mail_server
    tenant_factory("431001")
    directory = IdentityDirectory(realm_with_mail)
    invitation = identity.Invitation("mail-staff", "mail-staff@example.jp", "花子", "熊本", frozenset({"municipal-staff"}))
    account = identity.invite_user(db, operator, directory, "431001", invitation, send_email=True)
    deadline = time.monotonic() + 20
    while not inbox.messages and time.monotonic() < deadline:
        time.sleep(0.2)  # polling the condition (the mail arrived), with a deadline
    recipients, message = inbox.messages[0]
    assert recipients == ["mail-staff@example.jp"]
    body = message.get_body(preferencelist=("plain", "html")).get_content()
    assert "/login-actions/action-token" in body
    assert directory.account(account.id).tenant_codes == {"431001"}
    assert db.query(AuditRecord).filter_by(action="user.invite").count() == 1
