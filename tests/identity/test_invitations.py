"""Invitations that lead to a first sign-in, from the users page, against the real Keycloak.

Without a mail server the inviting admin sees a temporary password once; with one (a local
aiosmtpd sink set as the realm's mail server) Keycloak's own set-up e-mail arrives with its link.
"""

import dataclasses
import email
import email.policy
import re
import time
import uuid

import pytest
from aiosmtpd.controller import Controller

from core.audit import AuditRecord
from tenancy.identity.keycloak import IdentityDirectory, bootstrap_realm, master_admin, password_token
from tests.conftest import sign_in

ONCE_ONLY = "この初期パスワードは一度だけ表示されます。本人に安全な方法で伝えてください。初回ログイン時に新しいパスワードの設定が求められます。"


def sign_in_as(client, account):
    sign_in(client, account.roles, account.tenant_codes, subject=account.id, name=account.username)


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def temporary_passwords(page: str) -> list[str]:
    return re.findall(r'<code lang="en" translate="no"[^>]*>([^<]+)</code>', page)


def fresh_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def sign_in_fails_because(settings, username, password) -> str:
    """Keycloak's reason for refusing the password grant (it must refuse)."""
    with pytest.raises(Exception) as refused:
        password_token(settings, username, password)
    return str(refused.value)


@pytest.fixture
def kumamoto_admin(client, tenant_factory, user_factory):
    tenant_factory("431001")
    tenant_factory("432024")
    admin, _ = user_factory(("municipal-admin",), "431001")
    sign_in_as(client, admin)
    return admin


def invite(client, username, **fields):
    page = client.get("/admin/users/?tenant=431001").get_data(as_text=True)
    data = {"csrf_token": csrf_of(page), "username": username, "email": f"{username}@example.jp",
            "first_name": "一郎", "last_name": "熊本", "roles": ["municipal-staff"], **fields}
    return client.post("/admin/users/431001/invite", data=data)


# --- without a mail server: a temporary password, shown once --------------------------------------

def test_an_invitation_without_mail_shows_a_temporary_password_once(client, db, kumamoto_admin, directory,
                                                                     keycloak_settings):
    username = fresh_name("first")
    answer = invite(client, username)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "no-store" in answer.headers["Cache-Control"]
    assert ONCE_ONLY in page and f"{username} さんを招待しました。" in page
    [password] = temporary_passwords(page)

    # Keycloak holds the temporary password and asks for a new one at the first sign-in
    found = directory.find_user(username)
    assert "UPDATE_PASSWORD" in found["requiredActions"]
    assert "not fully set up" in sign_in_fails_because(keycloak_settings, username, password)
    assert "Invalid user credentials" in sign_in_fails_because(keycloak_settings, username, password + "x")

    # shown once: not on the page afterwards, not in the session cookie, not in the audit log
    again = client.get("/admin/users/?tenant=431001").get_data(as_text=True)
    assert username in again and password not in again and "初回設定待ち" in again
    with client.session_transaction() as session:
        assert password not in repr(dict(session))
    records = db.query(AuditRecord).filter_by(action="user.invite", target_id=found["id"]).all()
    assert len(records) == 1
    assert password not in repr(records[0].before) + repr(records[0].after)


def test_a_taken_username_comes_back_beside_the_field_with_what_was_typed(client, kumamoto_admin, directory):
    other_email = f"{fresh_name('other')}@example.jp"
    answer = invite(client, kumamoto_admin.username, email=other_email, first_name="花子")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    error = re.search(r'<div id="username-error"[^>]*>(.*?)</div>', page, re.S)
    assert error and "すでに使われています" in error.group(1)
    assert re.search(r'<input[^>]*aria-describedby="[^"]*username-error[^"]*"[^>]*aria-invalid="true"', page) \
        or re.search(r'<input[^>]*aria-invalid="true"[^>]*id="username"', page)
    assert f'value="{other_email}"' in page and 'value="花子"' in page
    assert directory.find_user_by_email(other_email) is None
    assert not temporary_passwords(page) and ONCE_ONLY not in page


def test_a_malformed_invitation_names_each_field_and_creates_nobody(client, kumamoto_admin, directory):
    answer = invite(client, "x", email="not-an-address", first_name="", roles=[])
    page = answer.get_data(as_text=True)
    for field in ("username", "email", "first_name", "roles"):
        assert f'id="{field}-error"' in page, field
    assert "役割を一つ以上選んでください。" in page and "名を入力してください。" in page
    assert directory.find_user("x") is None


def test_resend_gives_a_new_temporary_password_and_the_old_one_stops_working(client, db, kumamoto_admin,
                                                                            directory, keycloak_settings):
    username = fresh_name("resend")
    [first] = temporary_passwords(invite(client, username).get_data(as_text=True))
    user_id = directory.find_user(username)["id"]
    page = client.get("/admin/users/?tenant=431001").get_data(as_text=True)
    answer = client.post(f"/admin/users/431001/{user_id}/setup", data={"csrf_token": csrf_of(page)})
    [second] = temporary_passwords(answer.get_data(as_text=True))
    assert second != first and ONCE_ONLY in answer.get_data(as_text=True)
    # the new one first: a wrong password just before would let Keycloak's brute-force detection
    # (two failures within its quick-login second) refuse even the right one
    assert "not fully set up" in sign_in_fails_because(keycloak_settings, username, second)
    assert "Invalid user credentials" in sign_in_fails_because(keycloak_settings, username, first)
    [record] = db.query(AuditRecord).filter_by(action="user.setup.resend", target_id=user_id).all()
    assert second not in repr(record.after) and first not in repr(record.after)


def test_a_password_reset_is_confirmed_first_then_replaces_the_password(client, db, tenant_factory, user_factory,
                                                                         directory, keycloak_settings):
    from tests.conftest import PASSWORD

    tenant_factory("431001")
    admin, _ = user_factory(("municipal-admin",), "431001")
    staff, _ = user_factory(("municipal-staff",), "431001", fresh=True)
    sign_in_as(client, admin)
    page = client.get("/admin/users/?tenant=431001").get_data(as_text=True)
    asked = client.post(f"/admin/users/431001/{staff.id}/password",
                        data={"csrf_token": csrf_of(page), "username": staff.username}).get_data(as_text=True)
    assert "現在のパスワードは直ちに使えなくなり" in asked and 'name="confirmed" value="1"' in asked
    password_token(keycloak_settings, staff.username, PASSWORD)  # nothing changed yet
    assert not db.query(AuditRecord).filter_by(action="user.password.reset").count()

    done = client.post(f"/admin/users/431001/{staff.id}/password",
                       data={"csrf_token": csrf_of(page), "username": staff.username, "confirmed": "1"})
    [temporary] = temporary_passwords(done.get_data(as_text=True))
    assert "not fully set up" in sign_in_fails_because(keycloak_settings, staff.username, temporary)
    assert "Invalid user credentials" in sign_in_fails_because(keycloak_settings, staff.username, PASSWORD)
    [record] = db.query(AuditRecord).filter_by(action="user.password.reset", target_id=staff.id).all()
    assert temporary not in repr(record.after)


# --- with a mail server: Keycloak's set-up e-mail -------------------------------------------------

class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=email.policy.default)))
        return "250 OK"

    def wait_for(self, address, count=1):
        deadline = time.monotonic() + 20
        while len(self.to(address)) < count and time.monotonic() < deadline:
            time.sleep(0.2)  # polling the condition (the mail arrived), with a deadline
        return self.to(address)

    def to(self, address):
        return [message for recipients, message in self.messages if address in recipients]


@pytest.fixture
def mail_realm(app, keycloak_server, keycloak_settings, monkeypatch):
    """The session realm with a local SMTP sink as its mail server, and the app configured for it."""
    from maintenance.keycloak_server import free_ports

    inbox = Inbox()
    [port] = free_ports(1)
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings = dataclasses.replace(keycloak_settings, smtp={"host": "127.0.0.1", "port": port, "from": "renkei@example.jp"})
    master = master_admin(settings.url, keycloak_server.admin_user, keycloak_server.admin_password, "master")
    assert "realm mail server" in bootstrap_realm(master, settings)
    monkeypatch.setitem(app.extensions, "renkei_identity", IdentityDirectory(settings))
    yield inbox
    master.change_current_realm(settings.realm)
    master.update_realm(settings.realm, {"smtpServer": {}})
    controller.stop()


def link_in(message) -> str:
    body = message.get_body(preferencelist=("plain", "html")).get_content()
    return re.search(r'https?://[^\s"<>]+/login-actions/action-token\?[^\s"<>]+', body).group(0)


def test_with_a_mail_server_the_invitation_mails_the_set_up_link(client, db, kumamoto_admin, mail_realm, directory):
    username = fresh_name("mailed")
    answer = invite(client, username)
    page = answer.get_data(as_text=True)
    assert f"{username}@example.jp に、パスワードの設定とメールアドレスの確認のためのリンクをメールで送りました" in page
    assert not temporary_passwords(page) and ONCE_ONLY not in page
    [message] = mail_realm.wait_for(f"{username}@example.jp")
    assert "/login-actions/action-token" in link_in(message)
    assert set(directory.find_user(username)["requiredActions"]) >= {"UPDATE_PASSWORD", "VERIFY_EMAIL"}

    user_id = directory.find_user(username)["id"]
    page = client.get("/admin/users/?tenant=431001").get_data(as_text=True)
    assert "設定メールを再送" in page
    client.post(f"/admin/users/431001/{user_id}/setup", data={"csrf_token": csrf_of(page)})
    assert len(mail_realm.wait_for(f"{username}@example.jp", count=2)) == 2


# --- bulk invitation from a CSV file ---------------------------------------------------------------

def bulk_post(client, content: bytes):
    import io

    page = client.get("/admin/users/431001/bulk").get_data(as_text=True)
    return client.post("/admin/users/431001/bulk", content_type="multipart/form-data",
                       data={"csrf_token": csrf_of(page), "file": (io.BytesIO(content), "職員.csv")})


def test_a_cp932_file_with_a_bad_line_3_invites_nobody_and_names_line_3(client, kumamoto_admin, directory):
    names = [fresh_name("bulk") for _ in range(3)]
    text = ("ユーザー名,メールアドレス,姓,名,役割\r\n"
            f"{names[0]},{names[0]}@example.jp,熊本,一郎,市町村職員\r\n"
            f"{names[1]},メールではない,熊本,二郎,市町村職員\r\n"
            f"{names[2]},{names[2]}@example.jp,熊本,三郎,市町村管理者、市町村職員\r\n")
    answer = bulk_post(client, text.encode("cp932"))
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "誰も招待していません" in page and "3 行目（メールアドレス）" in page
    assert "2 行目" not in page and "4 行目" not in page
    assert all(directory.find_user(name) is None for name in names)


def test_a_good_file_invites_everyone_and_shows_each_temporary_password_once(client, db, kumamoto_admin, directory,
                                                                             keycloak_settings):
    names = [fresh_name("bulk") for _ in range(3)]
    text = ("ユーザー名,メールアドレス,姓,名,役割\n"
            + "".join(f"{name},{name}@example.jp,熊本,太郎{i},市町村職員\n" for i, name in enumerate(names))
            .replace("市町村職員\n", "市町村管理者、市町村職員\n", 1))
    answer = bulk_post(client, text.encode("cp932"))
    page = answer.get_data(as_text=True)
    assert "3 人を招待しました。" in page and ONCE_ONLY in page
    passwords = temporary_passwords(page)
    assert len(set(passwords)) == 3
    for name, password in zip(names, passwords):
        account = directory.account(directory.find_user(name)["id"])
        assert account.tenant_codes == {"431001"} and "UPDATE_PASSWORD" in account.required_actions
        assert "not fully set up" in sign_in_fails_because(keycloak_settings, name, password)
    first = directory.account(directory.find_user(names[0])["id"])
    assert first.roles == {"municipal-admin", "municipal-staff"}
    assert db.query(AuditRecord).filter_by(action="user.invite").count() == 3
    assert not any(p in repr(r.after) for r in db.query(AuditRecord).all() for p in passwords)


def test_resending_the_set_up_of_someone_already_set_up_is_refused(client, db, tenant_factory, user_factory,
                                                                   keycloak_settings):
    from tests.conftest import PASSWORD

    tenant_factory("431001")
    admin, _ = user_factory(("municipal-admin",), "431001")
    staff, _ = user_factory(("municipal-staff",), "431001", fresh=True)
    sign_in_as(client, admin)
    page = client.get("/admin/users/?tenant=431001").get_data(as_text=True)
    answer = client.post(f"/admin/users/431001/{staff.id}/setup", data={"csrf_token": csrf_of(page)})
    assert answer.status_code == 302
    shown = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "初回設定を済ませています" in shown and not temporary_passwords(shown)
    password_token(keycloak_settings, staff.username, PASSWORD)  # their password still works
    assert not db.query(AuditRecord).filter_by(action="user.setup.resend").count()


def test_a_name_holding_a_control_character_is_refused_beside_its_field():
    """An invitation's names follow the one rule for a form's text (core.validation.text_field_problem):
    a tab or another control character never reaches Keycloak, as in every other name renkei keeps."""
    import dataclasses

    from tenancy.identity.operations import Invitation, invitation_problems

    good = Invitation(username="sato.k", email="sato@example.jp", first_name="花子", last_name="佐藤",
                      roles=frozenset({"municipal-staff"}))
    assert invitation_problems(good) == []
    refused = invitation_problems(dataclasses.replace(good, last_name="佐藤\t"))
    assert [p["field"] for p in refused] == ["last_name"] and "制御文字" in refused[0]["message_ja"]
