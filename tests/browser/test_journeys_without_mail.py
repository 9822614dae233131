"""Without a mail server (a small office, the demo without its catcher), issue 25: an organisation's
/join/ confirmation and a wave's new municipal admin are completed from the pages alone, in Chromium
through the real Keycloak login.

* The applicant applies at /join/; the operator finds the waiting confirmation message under 通知
  (notifications), with why it waits and its link; the applicant opens the link they are passed and
  the application is received.
* The operator runs a wave of one municipality from its page; the new admin's set-up is completed
  from 利用者管理: a temporary password shown once, passed on, with which the admin signs in and
  chooses their own password, landing on their municipality's home page.
"""

from __future__ import annotations

import re
import uuid

import sqlalchemy as sa
from playwright.sync_api import expect

from core.outbox import Notification

NEW_PASSWORD = "Tsunagi-admin-2025!"


def wave_file(admin: str) -> str:
    """A wave of one municipality the demo has not registered (津奈木町), whose new admin's username
    and e-mail address are this test's own: the session's realm keeps the accounts that earlier
    tests' waves made (the FY2025 wave's admins take the demo contacts' addresses), and Keycloak
    refuses an address that another account holds."""
    return ("団体コード,団体名,担当者名,担当部署,メールアドレス,電話番号,管理者ユーザー名,申込書受領,参加資格確認,"
            "反社会的勢力でないことの確認,協定同意\r\n"
            f"434841,津奈木町,津奈木 花子,総務課 デジタル推進係,{admin}@tsunagi.example.jp,0966-00-0002,{admin},"
            "済,済,済,済\r\n")


def test_join_and_a_wave_admin_complete_without_mail(page, new_page, login_as, live_server, demo, people, db, tmp_path):
    # the applicant
    applicant = new_page()
    applicant.goto(live_server("/join/"))
    for field, value in (("corporate_number", "7000012050002"), ("name", "くまもとデータ株式会社"),
                         ("representative", "代表 太郎"), ("contact_name", "担当 花子"),
                         ("contact_email", "apply@example.jp")):
        applicant.fill(f"#{field}", value)
    applicant.select_option("#kind", "company")
    applicant.select_option("#prefecture", "熊本県")
    applicant.get_by_role("button", name="申請する").click()
    expect(applicant.get_by_role("status")).to_contain_text("apply@example.jp")

    # the operator finds the waiting message and its link under 通知
    login_as(page, people["operator"].username)
    message = db.scalar(sa.select(Notification.id).where(Notification.kind == "member.confirm_email"))
    page.goto(live_server(f"/admin/outbox/details/?id={message}"))
    expect(page.get_by_text(re.compile("メールサーバー（RENKEI_SMTP_HOST）が設定されていないため")).first).to_be_visible()
    link = page.locator('a[href*="/join/confirm/"]').first.get_attribute("href")

    # passed on to the applicant, who opens it
    applicant.goto(link if link.startswith("http") else live_server(link))
    expect(applicant.get_by_role("heading", level=1)).to_have_text("メールアドレスを確認しました")

    # a wave of one municipality, run from its page
    wave = tmp_path / "wave.csv"
    admin_name = f"tsunagi-admin-{uuid.uuid4().hex[:6]}"
    wave.write_bytes(wave_file(admin_name).encode("utf-8"))
    page.goto(live_server("/admin/onboarding/wave/"))
    page.fill("#fiscal_year", "2025")
    page.set_input_files("#file", str(wave))
    page.get_by_role("button", name="一括処理を実行").click()
    outcome = page.locator("#outcomes tbody tr", has_text="434841")
    expect(outcome.locator("td").nth(3)).to_have_text("完了", timeout=120_000)  # 結果, not 要対応

    # the new admin's set-up from 利用者管理: a temporary password, shown once
    page.goto(live_server("/admin/users/?tenant=434841"))
    row = page.get_by_role("row", name=re.compile(admin_name))
    row.get_by_role("button", name="パスワードを再設定").click()
    page.get_by_role("button", name="パスワードを再設定する").click()
    temporary = page.locator(".temporary-password code").inner_text().strip()
    assert re.fullmatch(r"[A-Za-z0-9]{4}(-[A-Za-z0-9]{4}){3}", temporary)

    # the admin signs in with it, chooses a password, and lands on 津奈木町's home page
    admin = new_page()
    admin.goto(live_server("/login?next=/admin/"))
    admin.fill("#username", admin_name)
    admin.fill("#password", temporary)
    admin.click("#kc-login")
    admin.fill("#password-new", NEW_PASSWORD)
    admin.fill("#password-confirm", NEW_PASSWORD)
    admin.locator("input[type=submit], button[type=submit]").first.click()
    admin.wait_for_url(lambda url: url.startswith(live_server.url + "/admin"), timeout=60_000)
    expect(admin.get_by_text("434841 津奈木町").first).to_be_visible()
