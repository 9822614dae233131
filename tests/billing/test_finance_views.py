"""The finance office's work in /admin/billing: cost items, the policy builder and its preview, the
what-if page, adopting a policy or sending it to the council, payments, four eyes on runs, and
statements that agree with the preview."""

import datetime as dt
import io
import json
import re

import sqlalchemy as sa
from openpyxl import load_workbook

from billing import allocation_policies, allocation_runs, operations
from billing.models import AllocationPolicy, AllocationRun, CostItem, JournalEntry, PolicyStatus, RunStatus
from core.audit import AuditRecord
from core.calendar import JST, fiscal_year_of, today_jst
from tests.conftest import sign_in

from .conftest import colleague, cost_data

FINANCE = ["finance-officer"]


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def count(db, model) -> int:
    db.expire_all()
    return db.scalar(sa.select(sa.func.count()).select_from(model))


def audit_actions(db) -> list[str]:
    db.expire_all()
    return list(db.scalars(sa.select(AuditRecord.action).order_by(AuditRecord.seq)))


def as_finance(client, number: int = 1) -> str:
    """Sign in as finance officer number ``number`` (different numbers are different people); the form token."""
    sign_in(client, FINANCE, subject=f"finance-{number}", name=f"財政担当{number}")
    return csrf(client.get("/admin/billing/").get_data(as_text=True))


def field_error(page: str, name: str) -> str:
    """The problem shown beside field ``name`` (tied to it by aria-describedby)."""
    assert re.search(rf'id="{name}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="{name}"', page), name
    match = re.search(rf'<div id="{name}-error"[^>]*>(.*?)</div>', page, re.S)
    assert match, f"no problem beside {name}"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


# --- the year picker -------------------------------------------------------------------------------

def test_the_year_page_opens_on_the_latest_year_with_cost_items_not_the_calendar_year(client, db, finance):
    data_year = fiscal_year_of(today_jst()) - 2
    operations.create_cost_item(db, finance, cost_data(fiscal_year=data_year, name="保守運用費", amount=3_300_000))
    db.commit()
    as_finance(client)
    page = client.get("/admin/billing/").get_data(as_text=True)
    assert re.search(rf'<option value="{data_year}" selected>', page)
    assert "保守運用費" in page and "3,300,000円" in page


# --- cost items ------------------------------------------------------------------------------------

def test_finance_enters_a_cost_item_in_a_form(client, db):
    token = as_finance(client)
    form = client.get("/admin/billing/cost-items/new?fy=2025").get_data(as_text=True)
    assert "課税10%（税込）" in form and "構築費" in form  # the pickers speak Japanese
    saved = client.post("/admin/billing/cost-items/new", data={
        "csrf_token": token, "fiscal_year": "2025", "name": "基盤構築費", "category": "build",
        "amount": "6,000,000", "tax_treatment": "taxable_10", "tax_amount": "", "vendor": "構築事業者",
        "reference": "INV-B-1", "amortisation_years": "3"})
    assert saved.status_code == 302
    items = list(db.scalars(sa.select(CostItem).order_by(CostItem.fiscal_year)))
    assert [(item.fiscal_year, item.amount) for item in items] == [(2025, 2_000_000), (2026, 2_000_000), (2027, 2_000_000)]
    assert audit_actions(db)[-1] == "billing.cost_item.create"
    year = client.get("/admin/billing/?fy=2025").get_data(as_text=True)
    assert "基盤構築費" in year and "構築事業者" in year


def test_a_refused_cost_item_comes_back_with_what_was_typed_and_the_problems_beside_the_fields(client, db):
    token = as_finance(client)
    before = audit_actions(db)
    refused = client.post("/admin/billing/cost-items/new", data={
        "csrf_token": token, "fiscal_year": "2025", "name": "", "category": "run", "amount": "百万",
        "tax_treatment": "taxable_10", "vendor": "クラウド事業者", "reference": "INV-9", "amortisation_years": "1"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert field_error(page, "name") and field_error(page, "amount")
    assert 'value="百万"' in page and 'value="クラウド事業者"' in page and 'value="INV-9"' in page
    assert count(db, CostItem) == 0 and audit_actions(db) == before


def test_number_problems_are_in_plain_japanese_with_the_limit(client, db):
    token = as_finance(client)
    fields = {"csrf_token": token, "fiscal_year": "2025", "name": "クラウド利用料", "category": "run",
              "tax_treatment": "taxable_10", "amortisation_years": "1"}
    not_a_number = client.post("/admin/billing/cost-items/new", data={**fields, "amount": "百万"}).get_data(as_text=True)
    assert "整数で入力してください。" in field_error(not_a_number, "amount")
    too_large = client.post("/admin/billing/cost-items/new", data={**fields, "amount": "10000000000000000"}).get_data(as_text=True)
    assert "0 から 1,000,000,000,000,000円までの数を入力してください。" in field_error(too_large, "amount")
    assert count(db, CostItem) == 0


def test_the_domain_refusal_of_a_cost_item_is_shown_beside_its_field(client, db):
    token = as_finance(client)
    refused = client.post("/admin/billing/cost-items/new", data={
        "csrf_token": token, "fiscal_year": "2025", "name": "クラウド利用料", "category": "run", "amount": "1200000",
        "tax_treatment": "taxable_10", "amortisation_years": "3"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "構築費のみ" in field_error(page, "amortisation_years")
    assert 'value="1200000"' in page and count(db, CostItem) == 0


def test_a_cost_item_is_edited_until_an_approved_run_uses_it(client, db, finance, kumamoto, adopted_policy):
    [item] = operations.create_cost_item(db, finance, cost_data(amount=12_000_000))
    db.commit()
    token = as_finance(client)
    form = client.get(f"/admin/billing/cost-items/{item.id}/edit").get_data(as_text=True)
    assert 'value="12000000"' in form
    fields = {"csrf_token": token, "fiscal_year": "2025", "name": "クラウド利用料（訂正）", "category": "run",
              "amount": "11,000,000", "tax_treatment": "taxable_10", "vendor": "", "reference": "INV-2025-001",
              "amortisation_years": "1"}
    assert client.post(f"/admin/billing/cost-items/{item.id}/edit", data=fields).status_code == 302
    db.expire_all()
    assert (db.get(CostItem, item.id).name, db.get(CostItem, item.id).amount) == ("クラウド利用料（訂正）", 11_000_000)
    assert audit_actions(db)[-1] == "billing.cost_item.update"

    run = allocation_runs.create_run(db, finance, 2025)
    allocation_runs.review_run(db, colleague(2), run.id)
    allocation_runs.approve_run(db, colleague(3), run.id)
    db.commit()
    refused = client.post(f"/admin/billing/cost-items/{item.id}/edit", data={**fields, "amount": "1"})
    assert refused.status_code == 422
    assert "取り消してください" in refused.get_data(as_text=True)
    db.expire_all()
    assert db.get(CostItem, item.id).amount == 11_000_000


def test_deleting_a_cost_item_asks_first(client, db, finance):
    [item] = operations.create_cost_item(db, finance, cost_data())
    db.commit()
    token = as_finance(client)
    asked = client.post(f"/admin/billing/cost-items/{item.id}/delete", data={"csrf_token": token})
    assert asked.status_code == 200 and 'name="confirmed"' in asked.get_data(as_text=True)
    assert count(db, CostItem) == 1
    done = client.post(f"/admin/billing/cost-items/{item.id}/delete", data={"csrf_token": token, "confirmed": "1"})
    assert done.status_code == 302 and count(db, CostItem) == 0


# --- the policy builder and its preview ------------------------------------------------------------

POLICY_FORM = {"name": "三分割方式", "description": "", "prefecture_share": "50", "equal": "33.33",
               "population": "33.33", "usage": "33.34", "usage_metric": "api_calls", "floor": "", "cap": "",
               "fiscal_year": "2025", "members": "participating"}


def preview_amounts(page: str) -> dict[str, int]:
    """Each payer's amount in the preview table, by code."""
    table = re.search(r'<table class="table table-sm" id="preview-table">(.*?)</table>', page, re.S).group(1)
    amounts = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        code = re.search(r"（(\d{6})）", row)
        if code:
            amounts[code.group(1)] = int(re.findall(r"<strong>([\d,]+)円</strong>", row)[-1].replace(",", ""))
    return amounts


def test_the_preview_shows_the_split_and_writes_nothing(client, db, finance, kumamoto, adopted_policy):
    operations.create_cost_item(db, finance, cost_data(amount=12_000_000))
    db.commit()
    token = as_finance(client)
    before = (count(db, AllocationPolicy), count(db, AllocationRun), audit_actions(db))
    page = client.post("/admin/billing/policies/new", data={
        **POLICY_FORM, "csrf_token": token, "intent": "preview", "name": "", "usage": "0", "usage_metric": "api_calls",
        "equal": "50", "population": "50"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    amounts = preview_amounts(text)
    # half to the prefecture, the other half equal / population by months (worked out in test_ledger_worked_example)
    assert amounts == {"430005": 6_000_000, "431001": 3_075_000, "432024": 1_950_000, "432032": 975_000}
    assert "12,000,000円" in text
    assert (count(db, AllocationPolicy), count(db, AllocationRun), audit_actions(db)) == before
    fragment = client.post("/admin/billing/policies/preview", data={
        **POLICY_FORM, "csrf_token": token, "usage": "0", "equal": "50", "population": "50"})
    assert preview_amounts(fragment.get_data(as_text=True)) == amounts
    assert (count(db, AllocationPolicy), count(db, AllocationRun), audit_actions(db)) == before


def test_a_policy_is_built_in_percentages_and_stored_as_exact_fractions(client, db):
    token = as_finance(client)
    saved = client.post("/admin/billing/policies/new", data={**POLICY_FORM, "csrf_token": token, "intent": "save"})
    assert saved.status_code == 302
    policy = db.scalars(sa.select(AllocationPolicy)).one()
    assert policy.prefecture_share == "1/2"
    assert json.loads(policy.components_json) == [
        {"basis": "equal", "weight": "3333/10000"}, {"basis": "population", "weight": "3333/10000"},
        {"basis": "usage:api_calls", "weight": "1667/5000"}]
    assert audit_actions(db)[-1] == "billing.policy.create"
    listed = client.get("/admin/billing/policies/").get_data(as_text=True)
    assert "県負担 50%、残りを均等割 33.33%・人口割 33.33%・利用割（API 呼び出し回数） 33.34% で按分" in listed


def test_weights_that_do_not_add_up_to_100_are_refused_beside_the_field(client, db):
    token = as_finance(client)
    refused = client.post("/admin/billing/policies/new", data={
        **POLICY_FORM, "csrf_token": token, "intent": "save", "usage": "20", "prefecture_share": "abc"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "100%" in field_error(page, "equal") and "86.66%" in field_error(page, "equal")
    assert field_error(page, "prefecture_share")
    assert 'value="三分割方式"' in page and 'value="abc"' in page and 'value="20"' in page
    assert count(db, AllocationPolicy) == 0


# --- what if -------------------------------------------------------------------------------------

def _what_if_with_arao(client, db, finance, tenant_factory) -> tuple[str, str]:
    """The FY2025 what-if page (and its comparison table) as the finance officer sees it, with 荒尾市 applying
    (population 100,000) and 12,000,000 yen of cost."""
    tenant_factory("432041", population=100_000, status="applied")  # 荒尾市, applying
    operations.create_cost_item(db, finance, cost_data(amount=12_000_000))
    db.commit()
    as_finance(client)
    page = client.get("/admin/billing/what-if?fy=2025").get_data(as_text=True)
    table = re.search(r'<table class="table table-sm" id="comparison">(.*?)</table>', page, re.S).group(1)
    return page, table


def test_what_if_compares_current_members_with_members_including_applicants(client, db, finance, kumamoto,
                                                                            adopted_policy, tenant_factory):
    page, table = _what_if_with_arao(client, db, finance, tenant_factory)
    arao = re.search(r"<tr><th scope=\"row\">[^<]*（432041）</th>(.*?)</tr>", table, re.S).group(1)
    assert "参加していない" in arao or "対象外" in arao  # not a member in A
    assert re.search(r"\+[\d,]+円", arao)  # pays in B
    assert "熊本市（431001）" in table
    # the chart repeats the table for sight, with a text alternative
    assert '<svg' in page and 'role="img"' in page and "<title" in page and "<desc" in page



def test_what_if_shows_each_payers_shares_to_the_yen_as_worked_out_by_hand(client, db, finance, kumamoto,
                                                                          adopted_policy, tenant_factory):
    """12,000,000 yen in FY2025, the prefecture bears 1/2, the municipalities split 6,000,000 half equally
    (by months) and half by population × months.

    A (members that took part): 熊本市 12 months, 八代市 12, 人吉市 6 (from October): 30 months, and
    population × months 6,000,000 + 2,400,000 + 1,200,000 = 9,600,000. 熊本市 3,000,000 × 12/30
    + 3,000,000 × 6,000,000/9,600,000 = 1,200,000 + 1,875,000 = 3,075,000; 八代市 1,200,000 + 750,000
    = 1,950,000; 人吉市 600,000 + 375,000 = 975,000: whole yen, nothing to round.

    B (with 荒尾市, applying, population 100,000, as if all year): 42 months, population × months
    10,800,000. Exact shares over 21: 熊本市 6,000,000/7 + 5,000,000/3 = 53,000,000/21 = 2,523,809 + 11/21;
    八代市 6,000,000/7 + 2,000,000/3 = 32,000,000/21 = 1,523,809 + 11/21; 人吉市 3,000,000/7 + 1,000,000/3
    = 16,000,000/21 = 761,904 + 16/21; 荒尾市 6,000,000/7 + 1,000,000/3 = 25,000,000/21 = 1,190,476 + 4/21.
    Rounded down they add up to 5,999,998: the 2 missing yen go to the largest remainders, 人吉市 (16/21)
    and, of the two at 11/21, the smaller code 熊本市 (431001 before 432024)."""
    page, table = _what_if_with_arao(client, db, finance, tenant_factory)
    rows = {}
    for head, cells in re.findall(r'<tr><th scope="row">(.*?)</th>(.*?)</tr>', table, re.S):
        code = re.search(r"（(\d{6})）", head)
        rows[code.group(1) if code else head] = [cell.strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", cells, re.S)]
    assert rows["430005"] == ["6,000,000円", "6,000,000円", "0円"]
    assert rows["431001"] == ["3,075,000円", "2,523,810円", "-551,190円"]
    assert rows["432024"] == ["1,950,000円", "1,523,809円", "-426,191円"]
    assert rows["432032"] == ["975,000円", "761,905円", "-213,095円"]
    assert rows["432041"][1:] == ["1,190,476円", "+1,190,476円"] and "円" not in rows["432041"][0]  # not in A
    assert list(rows.values())[-1] == ["12,000,000円", "12,000,000円", "0円"]  # the total row
    assert "A: 3 " in page and "B: 4 " in page  # municipalities in each


# --- adopting, or sending to the council -----------------------------------------------------------

def test_the_drafter_alone_is_refused_beside_the_picker_and_another_officer_adopts_after_confirming(client, db, finance):
    from .conftest import policy_data

    policy = allocation_policies.create_policy(db, finance, policy_data())  # drafted by finance-1
    db.commit()
    token = as_finance(client)
    listed = client.get("/admin/billing/policies/").get_data(as_text=True)
    assert "協議会" in listed and "送付" not in listed  # finance is told the operator proposes it
    assert "あなたが作成しました" in listed
    # four eyes: refused at once, beside the picker, before any confirmation step; nothing written
    refused = client.post(f"/admin/billing/policies/{policy.id}/adopt", data={"csrf_token": token, "resolution_id": ""})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "ひとりでは採用できません" in field_error(page, f"resolution_id-{policy.id}")
    assert 'name="confirmed"' not in page
    assert PolicyStatus(db.get(AllocationPolicy, policy.id).status) == PolicyStatus.draft
    assert "billing.policy.adopt" not in audit_actions(db)

    token = as_finance(client, 2)  # another finance officer
    form = {"csrf_token": token, "resolution_id": ""}
    assert 'name="confirmed"' in client.post(f"/admin/billing/policies/{policy.id}/adopt", data=form).get_data(as_text=True)
    client.post(f"/admin/billing/policies/{policy.id}/adopt", data={**form, "confirmed": "1"})
    db.expire_all()
    adopted = db.get(AllocationPolicy, policy.id)
    assert PolicyStatus(adopted.status) == PolicyStatus.adopted
    assert (adopted.adopted_by, adopted.resolution_ref) == ("財政担当2", None)


def test_the_operator_sends_a_policy_to_the_council(client, db, finance, kumamoto):
    from governance.models import ChangeType, CouncilProposal

    from .conftest import policy_data

    policy = allocation_policies.create_policy(db, finance, policy_data())
    db.commit()
    sign_in(client)
    page = client.get("/admin/billing/policies/").get_data(as_text=True)
    closes = (today_jst() + dt.timedelta(days=10)).isoformat()
    sent = client.post(f"/admin/billing/policies/{policy.id}/propose",
                       data={"csrf_token": csrf(page), "title": "負担割合の見直し", "closes_on": closes})
    assert sent.status_code == 302
    proposal = db.scalars(sa.select(CouncilProposal)).one()
    assert proposal.change_type == ChangeType.adopt_allocation_policy
    assert json.loads(proposal.change_params) == {"policy_id": policy.id}


# --- payments --------------------------------------------------------------------------------------

def test_record_a_payment_leads_to_the_page_of_money_received(client, db, kumamoto):
    as_finance(client)
    moved = client.get("/admin/billing/payments/new")
    assert moved.status_code == 302 and moved.headers["Location"].endswith("/admin/billing/bank/")
    assert count(db, JournalEntry) == 0  # a payment comes from a bank line (tests/billing/test_bank_pages.py)


# --- four eyes ---------------------------------------------------------------------------------------

def act(client, token, run_id, action, text=""):
    return client.post(f"/admin/billing/runs/{run_id}/act",
                       data={"csrf_token": token, "action": action, "text": text, "confirmed": "1"},
                       follow_redirects=True)


def run_status(db, run_id) -> RunStatus:
    db.expire_all()
    return RunStatus(db.get(AllocationRun, run_id).status)


def test_four_eyes_the_officer_who_computed_and_reviewed_cannot_approve(client, db, finance, kumamoto, adopted_policy):
    operations.create_cost_item(db, finance, cost_data(amount=12_000_000))
    db.commit()
    token = as_finance(client, 1)
    client.post("/admin/billing/runs/new", data={"csrf_token": token, "fiscal_year": "2025"})
    run_id = db.scalar(sa.select(AllocationRun.id))
    act(client, token, run_id, "review", "費目を確認")
    assert run_status(db, run_id) == RunStatus.reviewed
    page = client.get(f"/admin/billing/runs/{run_id}/").get_data(as_text=True)
    assert "計算または確認をした担当者は承認できません" in page  # explained instead of a button
    refused = act(client, token, run_id, "approve").get_data(as_text=True)
    assert "計算または確認をした担当者は承認できません。別の財政担当者が承認してください。" in refused
    assert run_status(db, run_id) == RunStatus.reviewed and count(db, JournalEntry) == 0

    token = as_finance(client, 2)
    act(client, token, run_id, "approve")
    assert run_status(db, run_id) == RunStatus.approved
    assert db.get(AllocationRun, run_id).four_eyes is True


def test_four_eyes_a_reviewer_other_than_the_computer_cannot_approve_either(client, db, finance, kumamoto,
                                                                           adopted_policy):
    operations.create_cost_item(db, finance, cost_data(amount=12_000_000))
    db.commit()
    token = as_finance(client, 1)
    client.post("/admin/billing/runs/new", data={"csrf_token": token, "fiscal_year": "2025"})
    run_id = db.scalar(sa.select(AllocationRun.id))
    token = as_finance(client, 2)
    act(client, token, run_id, "review", "費目を確認")
    refused = act(client, token, run_id, "approve").get_data(as_text=True)
    assert "計算または確認をした担当者は承認できません" in refused
    assert run_status(db, run_id) == RunStatus.reviewed and count(db, JournalEntry) == 0
    token = as_finance(client, 3)
    act(client, token, run_id, "approve")
    assert run_status(db, run_id) == RunStatus.approved


def test_a_one_person_office_switches_four_eyes_off_and_the_run_records_it(app, client, db, finance, kumamoto,
                                                                           adopted_policy, monkeypatch):
    monkeypatch.setitem(app.config, "RENKEI_FOUR_EYES", False)
    operations.create_cost_item(db, finance, cost_data(amount=12_000_000))
    db.commit()
    token = as_finance(client, 1)
    client.post("/admin/billing/runs/new", data={"csrf_token": token, "fiscal_year": "2025"})
    run_id = db.scalar(sa.select(AllocationRun.id))
    act(client, token, run_id, "review")
    act(client, token, run_id, "approve")
    assert run_status(db, run_id) == RunStatus.approved
    assert db.get(AllocationRun, run_id).four_eyes is False
    record = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "billing.run.approve")).one()
    assert json.loads(record.after)["single_person_approval"] is True
    assert "単独承認" in client.get(f"/admin/billing/runs/{run_id}/").get_data(as_text=True)


# --- statements --------------------------------------------------------------------------------------

def test_the_statement_in_excel_has_the_total_the_preview_showed(client, db, finance, kumamoto, adopted_policy):
    operations.create_cost_item(db, finance, cost_data(amount=9_000_000))
    operations.create_cost_item(db, finance, cost_data(name="保守運用費", amount=3_000_000))
    db.commit()
    token = as_finance(client, 1)
    preview = client.post("/admin/billing/policies/new", data={
        **POLICY_FORM, "csrf_token": token, "intent": "preview", "usage": "0", "equal": "50", "population": "50"})
    expected = preview_amounts(preview.get_data(as_text=True))["431001"]
    client.post("/admin/billing/runs/new", data={"csrf_token": token, "fiscal_year": "2025"})
    run_id = db.scalar(sa.select(AllocationRun.id))
    act(client, as_finance(client, 2), run_id, "review")
    act(client, as_finance(client, 3), run_id, "approve")
    run_page = client.get(f"/admin/billing/runs/{run_id}/").get_data(as_text=True)
    assert "/admin/billing/statements/431001/2025/" in run_page
    sheet = load_workbook(io.BytesIO(client.get("/admin/billing/statements/431001/2025.xlsx").data)).active
    cells = {row[0].value: row[1].value for row in sheet.iter_rows(min_col=1, max_col=2) if row[0].value}
    assert cells["負担金額（合計）"] == expected
    csv_text = client.get("/admin/billing/statements/431001/2025.csv").data.decode("utf-8-sig")
    assert f"負担金額（合計）,{expected}" in csv_text and "熊本市" in csv_text
    printed = client.get("/admin/billing/statements/431001/2025/").get_data(as_text=True)
    assert f"{expected:,}円" in printed and "熊本市長 様" in printed


def test_a_municipal_admin_is_linked_to_the_years_that_have_a_statement(client, db, posted_fy2025):
    sign_in(client, ["municipal-admin"], ["431001"])
    index = client.get("/admin/billing/").get_data(as_text=True)
    assert "/admin/billing/statements/431001/2025/" in index
    assert client.get("/admin/billing/statements/431001/2025/").status_code == 200
    later = client.get("/admin/billing/statements/431001/2026/")
    text = later.get_data(as_text=True)
    assert later.status_code == 404 and "まだ計上されていません" in text
    assert "/admin/billing/statements/431001/2025/" in text  # the way to the one there is


# --- members with zero months ----------------------------------------------------------------------------

def test_the_run_page_explains_members_with_no_month_in_the_year(client, db, finance, operator, kumamoto,
                                                                adopted_policy, tenant_factory):
    from tenancy.registry.history import record_transition
    from tenancy.registry.models import TenantStatus

    later = tenant_factory("432041", population=50_000, status="approved")
    record_transition(db, operator, later, TenantStatus.active, reason="wave 2",
                      at=dt.datetime(2026, 5, 1, 9, 0, tzinfo=JST))
    tenant_factory("432067", population=30_000, status="applied")
    operations.create_cost_item(db, finance, cost_data(amount=12_000_000))
    run = allocation_runs.create_run(db, finance, 2025)
    db.commit()
    as_finance(client, 2)
    page = client.get(f"/admin/billing/runs/{run.id}/").get_data(as_text=True)
    explained = re.search(r'<table class="table table-sm" id="not-sharing">(.*?)</table>', page, re.S).group(1)
    assert "2026/05/01" in explained and "利用を開始したため" in explained
    assert "まだ利用を開始していない" in explained
    assert "3団体" in page or "3 " in page  # three municipalities share FY2025


def test_the_pages_open_on_the_year_in_progress_not_on_a_later_amortised_year(db, finance):
    from core.calendar import fiscal_year_of, today_jst

    this_year = fiscal_year_of(today_jst())
    # a build cost amortised over three years puts cost items into the next two years too
    operations.create_cost_item(db, finance, cost_data(fiscal_year=this_year, name="基盤構築費", category="build",
                                                       amount=3_000_000, amortisation_years=3))
    db.commit()
    assert allocation_runs.latest_year_with_data(db, finance) == this_year + 2
    assert allocation_runs.default_year(db, finance, this_year) == this_year
