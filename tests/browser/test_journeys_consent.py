"""Journey of issue 23 in a real Chromium through the real Keycloak login:

熊本市's admin registers a service that receives personal data; the operator approves it (the page
asks first); a clerk of 熊本市 records a person's paper consent at the counter and prints the
receipt; the broker's consent check (the API, a real Keycloak token) allows a transfer; the person
withdraws (asked first); the next check is refused; the clerk prints the person's history, which
shows the allowed and the refused linkage with the consent record each relied on.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import requests
from playwright.sync_api import expect

SERVICE = "子育て支援ナビ"
PURPOSE = "子育て支援サービスの案内"


def check(live_server, headers, service_id: int, subject: str) -> dict:
    """The broker's question, as the platform's component asks it over HTTP."""
    answer = requests.post(f"http://127.0.0.1:{live_server.port}/api/v1/consent/check", timeout=30,
                           headers={**headers, "Host": live_server.host},
                           json={"service_id": service_id, "tenant_code": "431001", "subject_id": subject,
                                 "items": ["生年月日"], "purpose": PURPOSE, "client": "子育て支援ナビ連携"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_service_approved_a_paper_consent_a_check_allowed_then_withdrawn_and_refused_all_in_the_history(
        demo, people, page, new_page, login_as, live_server, db, user_factory):
    _, broker = user_factory(("metering-client",))
    subject = f"pid-{uuid.uuid4().hex[:16]}"
    db.commit()  # hold no lock while the live server answers

    # 熊本市's admin registers the service
    login_as(page, people["kumamoto"].username)
    page.goto(live_server("/admin/consent-services/"))
    page.get_by_role("link", name="データ利用サービスの登録").click()
    page.locator("#name").fill(SERVICE)
    page.locator("#provider").fill("熊本市 子ども政策課")
    page.get_by_label("必要な個人認証レベル").select_option(label="レベル2：メールアドレス・電話番号の確認済み")
    page.locator("#controller").fill("熊本市長")
    page.get_by_label("連携基盤の運営者との責任分担").fill("受け取ったデータは熊本市が管理し、基盤運営者は同意確認と記録のみを行う。")
    page.locator("#title").fill("子育て支援ナビへの情報提供の同意")
    page.get_by_label("同意文（日本語）").fill("あなたの生年月日と世帯構成を、子育て支援サービスの案内に利用します。")
    page.get_by_role("textbox", name=re.compile("^利用目的")).fill(PURPOSE)
    page.get_by_label("任意の利用目的").fill("健診の案内")  # one the person may consent to or not
    page.get_by_label("法的根拠").select_option(label="本人の同意による保有個人情報の提供（個人情報保護法第69条第2項第1号）")
    page.get_by_label("データ項目 1 の名称").fill("生年月日")
    page.get_by_label("データ項目 2 の名称").fill("世帯構成")
    page.get_by_label("データ項目 3 の名称").fill("利用している子育て施設")
    # the item's source is picked from the register by title and provider, narrowed by a search
    page.get_by_label("データセットを探す（タイトル・キーワード・提供者）").fill("子育て施設")
    page.get_by_role("main").get_by_role("button", name="検索", exact=True).click()  # not the header's
    page.get_by_label("データ項目 3 の出所のデータセット").select_option(label="子育て施設一覧（熊本市）")
    page.locator("#retention_days").fill("")  # forgotten: the form comes back with what was typed
    page.get_by_role("button", name="登録する", exact=True).click()
    expect(page.locator("#retention_days-error")).to_contain_text("日数を数字で入力してください")
    expect(page.locator("#name")).to_have_value(SERVICE)
    page.locator("#retention_days").fill("365")
    page.get_by_role("button", name="登録する", exact=True).click()
    expect(page.get_by_role("heading", name=SERVICE, level=1)).to_be_visible()
    expect(page.get_by_text("サービスを登録しました。運営者の承認を待っています。")).to_be_visible()
    expect(page.get_by_text(re.compile("状態: *承認待ち"))).to_be_visible()
    expect(page.get_by_role("link", name="子育て施設一覧")).to_be_visible()  # the item's dataset, to its page
    detail = page.url
    service_id = int(detail.rstrip("/").rsplit("/", 1)[-1])

    # not approved yet: the broker is refused
    assert check(live_server, broker, service_id, subject)["reason"] == "service_not_approved"

    # the operator approves it; the page says what follows first
    operator = new_page()
    login_as(operator, people["operator"].username)
    operator.goto(detail)
    operator.get_by_role("button", name="承認", exact=True).click()
    expect(operator.get_by_role("heading", name="このサービスを承認しますか？")).to_be_visible()
    operator.get_by_role("button", name="承認する").click()
    expect(operator.get_by_text(re.compile("状態: *承認済み"))).to_be_visible()

    # the clerk records the paper consent and has the receipt to hand over
    page.goto(live_server("/admin/consent/"))
    page.locator("#subject_id").fill(subject)
    page.locator("#text_choice").select_option(label=f"{SERVICE} — 第1版「子育て支援ナビへの情報提供の同意」")
    expect(page.locator("#method")).to_have_value("paper")
    page.locator("#assurance_level").select_option(label="レベル2：メールアドレス・電話番号の確認済み")
    page.get_by_role("checkbox", name="健診の案内").check()  # the text is open: it has an optional purpose to tick
    page.get_by_role("button", name="同意を記録する").click()
    expect(page.get_by_role("heading", name="同意の記録票")).to_be_visible()
    expect(page.get_by_text("同意を記録しました。記録票を本人にお渡しください。")).to_be_visible()
    expect(page.locator("dl").first).to_contain_text("窓口（紙）")
    expect(page.locator("dl").first).to_contain_text(subject)
    expect(page.locator("dl").first).to_contain_text("健診の案内（任意: 同意あり）")
    expect(page.locator("dl").first).to_contain_text("第69条第2項第1号")
    receipt = page.locator("dl code").first.inner_text()

    allowed = check(live_server, broker, service_id, subject)
    assert allowed["allowed"] and allowed["consent_record"] == receipt

    # the person withdraws at the counter; the page asks first
    page.goto(live_server("/admin/consent/"))
    page.locator("#w-subject_id").fill(subject)
    page.locator("#w-service_id").select_option(label=SERVICE)
    page.get_by_role("button", name="撤回を記録する").click()
    expect(page.get_by_role("heading", name="この同意の撤回を記録しますか？")).to_be_visible()
    expect(page.get_by_text("取り消すことはできません")).to_be_visible()
    page.get_by_role("button", name="撤回を記録する").click()
    expect(page.get_by_text("撤回を記録しました。次の同意確認から反映されます。")).to_be_visible()

    refused = check(live_server, broker, service_id, subject)
    assert not refused["allowed"] and refused["reason"] == "withdrawn" and refused["consent_record"]

    # the clerk prints the person's history: the consent, the withdrawal, the allowed and the refused linkage
    page.goto(live_server("/admin/consent-history/"))
    page.locator("#subject").fill(subject)
    page.get_by_role("button", name="履歴を表示").click()
    consents = page.get_by_role("table", name="同意と撤回")
    expect(consents.locator("tbody tr")).to_have_count(2)
    expect(consents.locator("tbody tr").nth(0)).to_contain_text("同意")
    expect(consents.locator("tbody tr").nth(1)).to_contain_text("撤回")
    linkages = page.get_by_role("table", name=re.compile("^連携記録"))
    rows = linkages.locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("運営者の承認を受けていないサービス")
    expect(rows.nth(1)).to_contain_text("本人の同意に基づき許可")
    expect(rows.nth(1)).to_contain_text(receipt[:8])
    expect(rows.nth(2)).to_contain_text("同意が撤回されている")
    expect(rows.nth(2)).to_contain_text(refused["consent_record"][:8])
    expect(rows.nth(2)).to_contain_text(refused["linkage_hash"])  # the printed record can be checked by its hash
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="印刷")).to_be_hidden()  # the printed page is the history alone
    expect(rows.nth(2)).to_be_visible()
    page.emulate_media(media="screen")
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert text.count("連携記録") == 3 and "同意が撤回されている" in text
