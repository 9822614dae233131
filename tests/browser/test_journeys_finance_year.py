"""The fiscal year as finance lives it (issue #35), in Chromium through the real Keycloak login.

FY2024's costs and the adopted policy are entered beforehand (their own journeys are in
test_journeys_people.py); in the browser, finance then enters the 1/2 grant, issues the
municipalities' estimates (負担金見込額) for their budget requests, charges the year by a 概算 run
(computed and reviewed by one finance officer, approved by another), records the grant fixed lower
than decided, settles the year (精算: only the differences), issues the 精算書, and closes the year
(asked by one, closed by another after a confirmation). Each step is checked as the office sees it.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect


def _year_with_costs_and_a_policy(db, operator):
    from billing import allocation_policies, budgets, operations
    from tenancy.registry.prefecture import PrefectureSettingsIn, update_settings
    from tenancy.registry.sample import KUMAMOTO_SETTINGS
    from billing.schemas import BudgetCreate, CostItemCreate, PolicyCreate
    from core.actor import Actor

    drafter = Actor(issuer="urn:test", subject="finance-seed-1", name="県 財政担当（準備）", roles=frozenset({"finance-officer"}))
    adopter = Actor(issuer="urn:test", subject="finance-seed-2", name="県 財政課長（準備）", roles=frozenset({"finance-officer"}))
    budgets.draft_budget(db, drafter, BudgetCreate.model_validate({"fiscal_year": 2024, "amounts": {"run": 10_000_000,
                                                                                                     "build": 2_000_000}}))
    for name, category, amount in (("クラウド利用料", "run", 10_000_000), ("基盤構築費", "build", 2_000_000)):
        operations.create_cost_item(db, drafter, CostItemCreate.model_validate(
            {"fiscal_year": 2024, "name": name, "category": category, "amount": amount, "tax_treatment": "taxable_10"}))
    policy = allocation_policies.create_policy(db, drafter, PolicyCreate.model_validate(
        {"name": "共同利用負担金の按分", "prefecture_share": "1/2",
         "components": [{"basis": "equal", "weight": "1/2"}, {"basis": "population", "weight": "1/2"}]}))
    allocation_policies.adopt_policy(db, adopter, policy.id)
    update_settings(db, operator, PrefectureSettingsIn.model_validate(KUMAMOTO_SETTINGS))  # the issuer of the letters
    db.commit()


def _review_and_approve(page, approver_page, run_url: str) -> None:
    page.get_by_label("メモ").fill("費目と交付金を確認しました")
    page.get_by_role("button", name="確認", exact=True).click()
    expect(page.locator("#status")).to_have_text("確認済み")
    approver_page.goto(run_url)
    approver_page.get_by_role("button", name="承認", exact=True).click()
    approver_page.get_by_role("button", name="承認して計上する").click()
    expect(approver_page.locator("#status")).to_have_text("承認済み（計上済み）")


def test_finance_lives_fy2024_grant_estimate_provisional_run_settlement_and_close(
        page, new_page, login_as, live_server, demo, people, db):
    _year_with_costs_and_a_policy(db, demo.loader)
    finance, approver = people["finance"], people["finance2"]
    login_as(page, finance.username, finance.password, next="/admin/billing/?fy=2024")

    # the 1/2 grant on the running cost, decided at 6,000,000 yen
    page.get_by_role("link", name="交付金の登録").click()
    page.get_by_label(re.compile("^年度")).select_option(label="令和6年度（2024年度）")
    page.get_by_label(re.compile("^交付金")).first.fill("新しい地方経済・生活環境創生交付金（デジタル実装型）")
    page.get_by_label(re.compile("^交付元")).fill("内閣府")
    page.get_by_label(re.compile("^補助率")).fill("1/2")
    page.get_by_label("運用費のすべて").check()
    page.get_by_label(re.compile("^交付決定額")).fill("6,000,000")
    page.get_by_label(re.compile("^交付決定日")).fill("2024-06-01")
    page.get_by_role("button", name="保存する").click()
    funding = page.locator("#funding")
    expect(funding).to_contain_text("5,000,000円")  # 1/2 of the running cost
    expect(funding.locator("tfoot")).to_contain_text("7,000,000円")  # what the payers share

    # the estimates for the municipalities' budget requests, issued after a confirmation
    page.goto(live_server("/admin/billing/estimates/?fy=2024"))
    expect(page.locator("#estimate-assumptions")).to_contain_text("7,000,000円")
    page.get_by_role("button", name="見込額を通知する").click()
    expect(page.get_by_text(re.compile("二度と使われません"))).to_be_visible()
    page.get_by_role("button", name="見込額を通知する").click()
    issued = page.locator("#issued-estimates")
    expect(issued).to_contain_text("熊本市")
    estimated = int(re.sub(r"[^\d]", "", issued.get_by_role("row", name=re.compile("熊本市")).get_by_role("cell").last.inner_text()))

    # the year charged by a 概算 run: computed and reviewed by finance, approved by a second officer
    page.goto(live_server("/admin/billing/?fy=2024"))
    page.get_by_label("計算の種類").select_option(label="概算（交付金の額の確定後に精算）")
    page.get_by_role("button", name="この年度の按分計算を実行").click()
    expect(page.locator("#kind")).to_have_text("概算")
    second = new_page()
    login_as(second, approver.username, approver.password, next="/admin/billing/?fy=2024")
    _review_and_approve(page, second, page.url)

    # the grant fixed lower than decided, at 4,000,000 yen
    page.goto(live_server("/admin/billing/?fy=2024"))
    page.locator("#funding").get_by_role("link", name=re.compile("開く")).first.click()
    page.get_by_label(re.compile("^確定額")).fill("4,000,000")
    page.get_by_label(re.compile("^額の確定日")).fill("2025-05-20")
    page.get_by_role("button", name="確定額を記録する").click()

    # the settlement: only the differences, reviewed and approved like any run
    page.goto(live_server("/admin/billing/?fy=2024"))
    page.get_by_role("button", name="精算する").click()
    expect(page.locator("#kind")).to_have_text("精算")
    _review_and_approve(page, second, page.url)
    second.get_by_role("button", name="納入通知書を発行").click()
    second.get_by_role("button", name="納入通知書を発行").click()  # through the confirmation: numbers are never reused
    expect(second.locator("#letters-h")).to_have_text("市町村への精算書")
    expect(second.get_by_role("link", name=re.compile("PDF"))).to_be_visible()
    with second.expect_download() as downloading:
        second.get_by_role("link", name=re.compile("PDF")).click()
    assert downloading.value.path().read_bytes().startswith(b"%PDF")

    # 熊本市's statement: the estimate, the 概算, the 精算 and the difference side by side
    page.goto(live_server("/admin/billing/statements/431001/2024/"))
    for label in ("負担金見込額", "概算額（概算で計上した負担金）", "精算額（実績による負担金）", "精算による追加納付額"):
        expect(page.get_by_role("row", name=re.compile(re.escape(label))).first).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("負担金見込額")).first).to_contain_text(f"{estimated:,}円")

    # the year closed: asked by one officer, closed by another after the confirmation says what it means
    page.goto(live_server("/admin/billing/?fy=2024"))
    page.get_by_role("button", name="年度の締めを申請する").click()
    second.goto(live_server("/admin/billing/?fy=2024"))
    second.get_by_role("button", name="年度を締める").click()
    expect(second.get_by_text(re.compile("協議会が再開を議決するまで"))).to_be_visible()
    second.get_by_role("button", name="年度を締める").click()
    expect(second.locator("#close-h").locator("..")).to_contain_text("SHA-256")
