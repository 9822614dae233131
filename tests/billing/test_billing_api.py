"""/api/v1/billing with real Keycloak tokens: finance writes, a municipal admin reads only their own
statement, the auditor reads everything and every write is refused."""

import base64
import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from billing.models import JournalEntry, Posting
from core.audit import AuditRecord

COST = {"fiscal_year": 2025, "name": "クラウド利用料", "category": "run", "amount": 12_000_000,
        "tax_treatment": "taxable_10", "vendor": "クラウド事業者", "reference": "INV-2025-001"}
POLICY = {"name": "共同利用負担金の按分", "prefecture_share": "1/2",
          "components": [{"basis": "equal", "weight": "1/2"}, {"basis": "population", "weight": "50%"}]}


@pytest.fixture
def as_finance(user_factory):
    return user_factory(("finance-officer",))[1]


@pytest.fixture
def as_auditor(user_factory):
    return user_factory(("auditor",))[1]


@pytest.fixture
def as_kumamoto_admin(user_factory):
    return user_factory(("municipal-admin",), "431001")[1]


def billing_actions(db):
    db.expire_all()
    return [r.action for r in db.scalars(sa.select(AuditRecord).order_by(AuditRecord.seq)) if r.action.startswith("billing.")]


def count(db, model):
    db.expire_all()
    return db.scalar(sa.select(sa.func.count()).select_from(model))


def post(client, url, headers, json=None, status=200):
    response = client.post(url, json=json if json is not None else {}, headers=headers)
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


@pytest.fixture
def as_approver(user_factory):
    return user_factory(("finance-officer",), fresh=True)[1]


@pytest.fixture
def posted_run(client, db, kumamoto, as_finance, as_approver):
    post(client, "/api/v1/billing/cost-items", as_finance, COST, 201)
    policy = post(client, "/api/v1/billing/policies", as_finance, POLICY, 201)
    # four eyes: the officer who drafted the policy does not adopt it alone; another officer does
    post(client, f"/api/v1/billing/policies/{policy['id']}/adopt", as_finance, status=403)
    post(client, f"/api/v1/billing/policies/{policy['id']}/adopt", as_approver)
    run = post(client, "/api/v1/billing/runs", as_finance, {"fiscal_year": 2025}, 201)
    # four eyes: the officer who computed may review, but neither the computer nor the reviewer approves
    post(client, f"/api/v1/billing/runs/{run['id']}/review", as_finance, {"note": "確認しました"})
    post(client, f"/api/v1/billing/runs/{run['id']}/approve", as_finance, status=403)
    approved = post(client, f"/api/v1/billing/runs/{run['id']}/approve", as_approver)
    return approved


def test_finance_officer_enters_costs_and_a_policy_then_approves_a_run(client, db, posted_run, as_finance, as_approver):
    assert posted_run["status"] == "approved"
    lines = {line["tenant_code"]: line["amount"] for line in posted_run["lines"]}
    # hand-worked in test_ledger_worked_example: 12,000,000 yen, half borne by the prefecture
    assert lines == {"430005": 6_000_000, "431001": 3_075_000, "432024": 1_950_000, "432032": 975_000}
    assert posted_run["snapshot"]["policy"]["in_words"] == "県負担 50%、残りを均等割 50%・人口割 50% で按分"
    entries, postings = count(db, JournalEntry), count(db, Posting)
    # the drafter approving the approved run again meets the four-eyes refusal, as the first time (issue 36)
    refused = post(client, f"/api/v1/billing/runs/{posted_run['id']}/approve", as_finance, status=403)
    assert refused["details"]["rule"] == "four_eyes"
    again = post(client, f"/api/v1/billing/runs/{posted_run['id']}/approve", as_approver)  # its approver: nothing new
    assert again["status"] == "approved"
    assert (count(db, JournalEntry), count(db, Posting)) == (entries, postings)
    assert billing_actions(db) == ["billing.cost_item.create", "billing.policy.create", "billing.policy.adopt",
                                   "billing.run.create", "billing.run.review", "billing.run.approve"]
    books = client.get("/api/v1/billing/ledger/trial-balance", headers=as_finance).get_json()
    assert books["difference"] == 0 and books["total_debit"] == 24_000_000


def test_reversing_over_the_api_keeps_the_run_visible(client, db, posted_run, as_finance):
    reversed_run = post(client, f"/api/v1/billing/runs/{posted_run['id']}/reverse", as_finance, {"reason": "人口の誤り"})
    assert reversed_run["status"] == "reversed" and reversed_run["reversal_reason"] == "人口の誤り"
    entries = client.get(f"/api/v1/billing/ledger/entries?run_id={posted_run['id']}", headers=as_finance).get_json()["items"]
    originals = {entry["id"] for entry in entries if entry["kind"] != "reversal"}
    assert sorted(entry["reverses_id"] for entry in entries if entry["kind"] == "reversal") == sorted(originals)
    listed = client.get("/api/v1/billing/runs?fiscal_year=2025", headers=as_finance).get_json()["items"]
    assert [(run["id"], run["status"]) for run in listed] == [(posted_run["id"], "reversed")]


def test_municipal_admin_downloads_only_their_own_statement(client, posted_run, as_kumamoto_admin):
    response = client.get("/api/v1/billing/statements/431001/2025?format=xlsx", headers=as_kumamoto_admin)
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "statement-431001-FY2025.xlsx" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    cells = {row[0].value: row[1].value for row in sheet.iter_rows(min_col=1, max_col=2) if row[0].value}
    assert cells["団体名"] == "熊本市" and cells["負担金額（合計）"] == 3_075_000

    other = client.get("/api/v1/billing/statements/432024/2025?format=xlsx", headers=as_kumamoto_admin)
    assert other.status_code == 403
    assert other.mimetype == "application/problem+json"
    assert "432024" in other.get_json()["detail_ja"]
    for url in ("/api/v1/billing/runs", f"/api/v1/billing/runs/{posted_run['id']}", "/api/v1/billing/ledger/entries",
                "/api/v1/billing/fiscal-years/2025/summary"):
        assert client.get(url, headers=as_kumamoto_admin).status_code == 403, url
    csv_response = client.get("/api/v1/billing/statements/431001/2025?format=csv", headers=as_kumamoto_admin)
    assert csv_response.data.startswith(b"\xef\xbb\xbf") and csv_response.mimetype == "text/csv"


def test_auditor_reads_everything_and_every_write_is_refused(client, db, posted_run, as_auditor):
    run_id = posted_run["id"]
    for url in ("/api/v1/billing/cost-items?fiscal_year=2025", "/api/v1/billing/policies", "/api/v1/billing/policies/1",
                "/api/v1/billing/runs", f"/api/v1/billing/runs/{run_id}", "/api/v1/billing/ledger/entries",
                "/api/v1/billing/ledger/trial-balance?as_of=2026-03-31", "/api/v1/billing/statements/432024/2025",
                "/api/v1/billing/statements/431001/2025?format=html", "/api/v1/billing/fiscal-years/2025/summary?format=xlsx"):
        assert client.get(url, headers=as_auditor).status_code == 200, url
    before = billing_actions(db)
    writes = [
        ("/api/v1/billing/cost-items", COST),
        ("/api/v1/billing/policies", POLICY),
        ("/api/v1/billing/policies/1/adopt", {}),
        ("/api/v1/billing/runs", {"fiscal_year": 2025}),
        (f"/api/v1/billing/runs/{run_id}/review", {}),
        (f"/api/v1/billing/runs/{run_id}/approve", {}),
        (f"/api/v1/billing/runs/{run_id}/reverse", {"reason": "監査による取消"}),
        (f"/api/v1/billing/runs/{run_id}/discard", {}),
        ("/api/v1/billing/payments", {"tenant_code": "431001", "fiscal_year": 2025, "amount": 1000,
                                      "received_on": "2025-09-01", "reference": "x", "reason": "y"}),
        ("/api/v1/billing/bank-files", {"content_base64": ""}),
        ("/api/v1/billing/bank-lines/1/confirm", {"tenant_code": "431001", "fiscal_year": 2025}),
    ]
    for url, body in writes:
        response = client.post(url, json=body, headers=as_auditor)
        assert response.status_code == 403, (url, response.get_data(as_text=True))
    assert client.delete("/api/v1/billing/cost-items/1", headers=as_auditor).status_code == 403
    assert billing_actions(db) == before


def test_payment_over_the_api_lowers_the_balance_on_the_statement(client, posted_run, as_finance, as_kumamoto_admin):
    raw = "日付,金額,振込依頼人,参照\n2025-09-01,3000000,ｸﾏﾓﾄｼ,\n".encode("cp932")
    imported = post(client, "/api/v1/billing/bank-files", as_finance,
                    {"filename": "bank.csv", "content_base64": base64.b64encode(raw).decode()}, 201)
    assert (imported["credits"], imported["total"], imported["kind_ja"]) == (1, 3_000_000, "CSV")
    line = client.get("/api/v1/billing/bank-lines?open=true", headers=as_finance).get_json()["lines"][0]
    assert line["match"] is None  # 3,000,000 is not what 熊本市 owes: finance picks the statement
    paid = post(client, f"/api/v1/billing/bank-lines/{line['id']}/confirm", as_finance,
                {"tenant_code": "431001", "fiscal_year": 2025}, 201)
    assert paid["balance"] == 75_000
    statement = client.get("/api/v1/billing/statements/431001/2025", headers=as_kumamoto_admin).get_json()
    assert (statement["charged"], statement["paid"], statement["balance"]) == (3_075_000, 3_000_000, 75_000)
    assert [c["label_ja"] for c in statement["components"]] == ["均等割", "人口割"]
    again = client.post("/api/v1/billing/bank-files", headers=as_finance,
                        json={"filename": "bank.csv", "content_base64": base64.b64encode(raw).decode()})
    assert again.status_code == 409 and again.content_type == "application/problem+json"
    assert "取込済み" in again.get_json()["detail_ja"] and "already" in again.get_json()["detail_en"]


def test_a_malformed_bank_file_is_422_beside_its_content(client, posted_run, as_finance):
    bad = client.post("/api/v1/billing/bank-files", headers=as_finance,
                      json={"content_base64": base64.b64encode(b"1" + b"0" * 250).decode()})
    assert bad.status_code == 422 and bad.content_type == "application/problem+json"
    assert [e["field"] for e in bad.get_json()["errors"]] == ["content_base64"]
    assert "何も取り込んでいません" in bad.get_json()["detail_ja"]


def test_a_manual_payment_over_the_api_is_approved_by_another_officer(client, db, posted_run, as_finance, as_approver):
    body = {"tenant_code": "431001", "fiscal_year": 2025, "amount": 75_000, "received_on": "2025-09-30",
            "reference": "窓口", "reason": "窓口で現金納付（領収書あり）"}
    refused = client.post("/api/v1/billing/payments", headers=as_finance, json={**body, "reason": " "})
    assert refused.status_code == 422 and [e["field"] for e in refused.get_json()["errors"]] == ["reason"]
    asked = post(client, "/api/v1/billing/payments", as_finance, body, 201)
    assert asked["entry_id"] is None
    assert client.post(f"/api/v1/billing/payments/{asked['id']}/approve", headers=as_finance).status_code == 403
    approved = post(client, f"/api/v1/billing/payments/{asked['id']}/approve", as_approver, status=201)
    assert approved["entry_id"] and approved["approved_by"]
    assert billing_actions(db)[-2:] == ["billing.manual_payment.request", "billing.payment.record"]


@pytest.mark.parametrize("body,field", [
    ({**POLICY, "prefecture_share": 0.5}, "prefecture_share"),
    ({**POLICY, "components": [{"basis": "equal", "weight": "3/2"}]}, "components[0].weight"),
])
def test_a_share_must_be_an_exact_fraction_as_text(client, db, as_finance, body, field):
    response = client.post("/api/v1/billing/policies", json=body, headers=as_finance)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert field in [error["field"] for error in response.get_json()["errors"]]


def test_weights_not_adding_up_to_one_are_422_in_japanese(client, db, as_finance):
    body = {**POLICY, "components": [{"basis": "equal", "weight": "1/2"}, {"basis": "population", "weight": "1/3"}]}
    response = client.post("/api/v1/billing/policies", json=body, headers=as_finance)
    assert response.status_code == 422
    assert "合計" in response.get_json()["detail_ja"]
    assert billing_actions(db) == []


def test_a_statement_before_any_posted_run_is_404(client, kumamoto, as_finance):
    response = client.get("/api/v1/billing/statements/431001/2025", headers=as_finance)
    assert response.status_code == 404
    assert "まだ計上されていません" in response.get_json()["detail_ja"]
