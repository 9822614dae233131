"""Journeys of issue #11 (build item 6 b and c), in Chromium through the real Keycloak login.

b. 熊本市's administrator invites a staff member from the users page; Keycloak's set-up e-mail
   (caught by a local SMTP sink set as the realm's mail server) leads the new person, in their own
   browser, to set a password; they sign in and land on 熊本市's home page, and 八代市's pages are
   refused inside the layout.
c. Finance enters the FY2025 cost items and builds a policy in forms, previews the split, is refused
   adopting it alone (a second finance officer adopts it) and computes the year's run; other finance
   officers review and approve it (four eyes, approval through its confirmation step); 熊本市's xlsx statement then charges what the preview
   showed. The four-eyes rule (billing.operations) refuses the review to whoever computed the run
   and the approval to whoever computed or reviewed it: three finance officers take part.
"""

from __future__ import annotations

import email
import email.policy
import io
import re
import time
import uuid

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import expect

NEW_PASSWORD = "Shokuin-2025-kumamoto!"


# --- a local mail server for the realm -------------------------------------------------------------

class Inbox:
    """An aiosmtpd handler keeping every message it is handed."""

    def __init__(self):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=email.policy.default)))
        return "250 OK"

    def wait_for(self, address: str) -> list:
        deadline = time.monotonic() + 30
        while not self.to(address) and time.monotonic() < deadline:
            time.sleep(0.2)  # polling the condition (the mail arrived), with a deadline
        return self.to(address)

    def to(self, address: str) -> list:
        return [message for recipients, message in self.messages if address in recipients]


@pytest.fixture
def mail_server(app, keycloak_server, keycloak_settings, monkeypatch):
    """A local SMTP sink as the test realm's mail server, and the app told that mail is configured
    (it decides by its Keycloak settings' ``smtp``); the realm's previous mail settings come back
    afterwards."""
    import dataclasses

    from maintenance.keycloak_server import free_ports
    from tenancy.identity.keycloak import bootstrap_realm, master_admin

    inbox = Inbox()
    [port] = free_ports(1)
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    master = master_admin(keycloak_settings.url, keycloak_server.admin_user, keycloak_server.admin_password, "master")
    before = master.get_realm(keycloak_settings.realm).get("smtpServer") or {}
    settings = dataclasses.replace(keycloak_settings, smtp={"host": "127.0.0.1", "port": port, "from": "renkei@example.jp"})
    try:
        assert "realm mail server" in bootstrap_realm(master, settings)
        # the app's mail settings, from which it builds its directory (admin/identity.py): the live server
        # (another process) takes them from the app's configuration as the test body starts
        for name, value in {"RENKEI_SMTP_HOST": "127.0.0.1", "RENKEI_SMTP_PORT": port,
                            "RENKEI_SMTP_FROM": "renkei@example.jp"}.items():
            monkeypatch.setitem(app.config, name, value)
        monkeypatch.delitem(app.extensions, "renkei_identity", raising=False)  # built again from them
        yield inbox
    finally:
        master = master_admin(keycloak_settings.url, keycloak_server.admin_user, keycloak_server.admin_password, "master")
        master.update_realm(keycloak_settings.realm, {"smtpServer": before})
        controller.stop()


def set_up_link(message) -> str:
    body = message.get_body(preferencelist=("plain", "html")).get_content()
    return re.search(r'https?://[^\s"<>]+/login-actions/action-token\?[^\s"<>]+', body).group(0).replace("&amp;", "&")


def refused_inside_the_layout(page, response):
    """The Japanese 403 page, inside the layout with its navigation."""
    assert response is not None and response.status == 403, page.url
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("権限"))
    expect(page.get_by_role("navigation").first).to_be_visible()
    expect(page.get_by_role("link", name="ホームへ")).to_be_visible()


# --- b. a municipal administrator invites a staff member ------------------------------------------

def test_kumamoto_invites_a_staff_member_who_sets_a_password_and_sees_only_kumamoto(
        page, new_page, login_as, live_server, demo, people, mail_server, directory):
    admin = people["kumamoto"]
    username = f"shokuin-{uuid.uuid4().hex[:6]}"
    address = f"{username}@example.jp"

    login_as(page, admin.username, admin.password)
    page.goto(live_server("/admin/users/?tenant=431001"))
    expect(page.get_by_text("431001 熊本市").first).to_be_visible()
    page.get_by_label("ユーザー名").fill(username)
    page.get_by_label("メールアドレス").fill(address)
    page.get_by_label(re.compile("^姓")).fill("熊本")
    page.get_by_role("main").get_by_label(re.compile("^名")).fill("花子")  # not the header's search box
    page.get_by_role("group", name=re.compile("^役割")).get_by_label("市町村職員").check()
    page.get_by_role("button", name="招待する").click()
    expect(page.get_by_role("status")).to_contain_text(f"{address} に、パスワードの設定とメールアドレスの確認のためのリンクをメールで送りました")
    expect(page.get_by_role("row", name=re.compile(username))).to_contain_text("初回設定待ち")

    [message] = mail_server.wait_for(address)
    link = set_up_link(message)

    # the new person, in their own browser: Keycloak's pages (in Japanese) set the password, and the
    # link itself confirms the e-mail address
    newcomer = new_page()
    newcomer.goto(link)
    expect(newcomer.get_by_text(re.compile("次の操作を実行します: .*パスワードの更新"))).to_be_visible()
    newcomer.get_by_role("link", name=re.compile("続行するにはここをクリック")).click()
    newcomer.get_by_label("新しいパスワード").fill(NEW_PASSWORD)
    newcomer.get_by_label("パスワード（確認）").fill(NEW_PASSWORD)
    newcomer.get_by_role("button", name="送信").click()
    expect(newcomer.get_by_text("アカウントが更新されました。").first).to_be_visible()
    assert not directory.find_user(username).get("requiredActions")

    login_as(newcomer, username, NEW_PASSWORD)
    expect(newcomer.get_by_text("431001 熊本市").first).to_be_visible()
    expect(newcomer.get_by_role("heading", level=1)).to_be_visible()

    for path in ("/admin/users/?tenant=432024", "/admin/billing/statements/432024/2025/"):
        refused_inside_the_layout(newcomer, newcomer.goto(live_server(path)))
        expect(newcomer.get_by_text("八代市")).to_have_count(0)


# --- c. finance: cost items, a policy, a run, four eyes, the statement -----------------------------

COST_ITEMS = (("クラウド利用料", "6,000,000", "C-2025-001"), ("保守運用費", "3,600,000", "M-2025-014"))


def yen(text: str) -> int:
    return int(re.sub(r"[^\d]", "", text))


def test_finance_charges_fy2025_and_kumamoto_statement_matches_the_preview(
        page, new_page, login_as, live_server, demo, people):
    from openpyxl import load_workbook

    finance, approver = people["finance"], people["finance2"]
    login_as(page, finance.username, finance.password, next="/admin/billing/?fy=2025")
    expect(page.get_by_role("heading", level=1)).to_contain_text("令和7年度")

    # the year's cost items, in the cost-item form
    for name, amount, reference in COST_ITEMS:
        page.get_by_role("link", name="費目を登録").click()
        page.get_by_label(re.compile("^年度")).select_option(label="令和7年度（2025年度）")
        page.get_by_label(re.compile("^費目")).fill(name)
        page.get_by_label(re.compile("^金額（円・税込）")).fill(amount)
        page.get_by_label(re.compile("^請求書番号など")).fill(reference)
        page.get_by_role("button", name="保存する").click()
        expect(page.get_by_role("row", name=re.compile(name))).to_contain_text(amount + "円")
    expect(page.locator("#cost-items tfoot")).to_contain_text("9,600,000円")

    # a policy in percentages, previewed for FY2025
    page.get_by_role("link", name="按分方式を作成").click()
    policy = f"令和7年度按分-{uuid.uuid4().hex[:4]}"
    page.get_by_label(re.compile("^按分方式の名称")).fill(policy)
    page.get_by_label(re.compile("^県負担（%）")).fill("20")
    page.get_by_label(re.compile("^均等割（%）")).fill("40")
    page.get_by_label(re.compile("^人口割（%）")).fill("60")
    page.get_by_label(re.compile("^利用割（%）")).fill("0")
    page.get_by_label(re.compile("^試算する年度")).select_option(label="令和7年度（2025年度）")
    page.get_by_role("button", name="按分を試算する").click()
    preview = page.locator("#preview-table")
    expect(preview).to_be_visible()
    kumamoto_row = preview.get_by_role("row", name=re.compile("熊本市（431001）"))
    previewed = yen(kumamoto_row.get_by_role("cell").last.inner_text())
    assert previewed > 0
    expect(page.locator("#preview-total")).to_contain_text("9,600,000")
    page.get_by_role("button", name="按分方式を保存").click()

    # four eyes: who drafted the policy may not adopt it alone (the problem beside the resolution picker) ...
    page.get_by_role("region", name=re.compile(policy)).get_by_role("button", name="この按分方式を採用").click()
    picker = page.get_by_role("region", name=re.compile(policy)).get_by_label("採用を決めた協議会の議決")
    expect(picker).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("region", name=re.compile(policy)).get_by_role("alert")).to_contain_text("ひとりでは採用できません")
    # ... a second finance officer adopts it (through its confirmation step), then the run for FY2025
    third = new_page()
    login_as(third, approver.username, approver.password, next="/admin/billing/policies/")
    third.get_by_role("region", name=re.compile(policy)).get_by_role("button", name="この按分方式を採用").click()
    expect(third.get_by_text(re.compile("今後の按分計算はこの按分方式"))).to_be_visible()
    third.get_by_role("button", name="採用する").click()
    expect(third.get_by_role("region", name=re.compile(policy))).to_contain_text("採用中")
    page.goto(live_server("/admin/billing/?fy=2025"))
    expect(page.locator("#adopted-policy")).to_contain_text(policy)
    page.get_by_role("button", name="この年度の按分計算を実行").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("按分計算")
    run_url = page.url
    expect(page.locator("#status")).to_have_text("計算済み")
    assert previewed == yen(page.get_by_role("row", name=re.compile("熊本市")).first.get_by_role("cell").last.inner_text())

    # the same officer reviews it ...
    page.get_by_label("メモ").fill("費目と参加月数を確認しました")
    page.get_by_role("button", name="確認", exact=True).click()
    expect(page.locator("#status")).to_have_text("確認済み")
    # ... but four eyes: whoever computed or reviewed the run may not approve it
    expect(page.locator(".four-eyes-refusal")).to_contain_text("別の財政担当者")

    # a second finance officer approves it, through the confirmation step
    third.goto(run_url)
    third.get_by_role("button", name="承認", exact=True).click()
    expect(third.get_by_text("承認すると負担金が会計帳簿に計上され")).to_be_visible()
    third.get_by_role("button", name="承認して計上する").click()
    expect(third.locator("#status")).to_have_text("承認済み（計上済み）")

    # 熊本市's statement for FY2025, as an Excel file
    third.goto(live_server("/admin/billing/statements/431001/2025/"))
    expect(third.get_by_text("熊本市長 様")).to_be_visible()  # the letter is addressed to the head of the city
    expect(third.get_by_role("row", name=re.compile("負担金額（合計）"))).to_contain_text(f"{previewed:,}円")
    with third.expect_download() as downloading:
        third.get_by_role("link", name=re.compile("Excel")).first.click()
    sheet = load_workbook(io.BytesIO(downloading.value.path().read_bytes())).active
    totals = [row[1] for row in sheet.iter_rows(values_only=True) if row[0] == "負担金額（合計）"]
    assert totals == [previewed]
