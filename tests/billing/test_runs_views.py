"""/admin/billing: the year's page, a run's page with its buttons, statements in the browser."""

import io
import re

import sqlalchemy as sa
from openpyxl import load_workbook

from billing import operations
from billing.models import AllocationRun, RunStatus
from tests.conftest import sign_in

from .conftest import cost_data


def csrf(page):
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_finance_sees_the_year_and_reviews_then_approves_a_run_with_the_buttons(client, db, finance, kumamoto,
                                                                              adopted_policy):
    operations.create_cost_item(db, finance, cost_data(amount=12_000_000))
    db.commit()
    sign_in(client, ["finance-officer"])
    page = client.get("/admin/billing/?fy=2025").get_data(as_text=True)
    assert "県負担 50%、残りを均等割 50%・人口割 50% で按分" in page
    created = client.post("/admin/billing/runs/new", data={"csrf_token": csrf(page), "fiscal_year": "2025"})
    assert created.status_code == 302
    run_id = db.scalar(sa.select(AllocationRun.id))
    run_page = client.get(f"/admin/billing/runs/{run_id}/").get_data(as_text=True)
    assert "3,075,000円" in run_page and "975,000円" in run_page
    # the breakdown columns: 熊本市's equal part is 3,000,000 x 12/30 = 1,200,000 and its population part
    # 3,000,000 x 500,000/800,000 = 1,875,000 (populations weighted by months: 500k, 200k, 100k)
    assert "均等割" in run_page and "人口割" in run_page
    assert "1,200,000円" in run_page and "1,875,000円" in run_page
    for number, action in ((2, "review"), (3, "approve")):  # four eyes: another officer reviews, a third approves
        sign_in(client, ["finance-officer"], subject=f"finance-{number}", name=f"財政担当{number}")
        client.post(f"/admin/billing/runs/{run_id}/act", data={"csrf_token": csrf(run_page), "action": action, "text": "",
                                                                   "confirmed": "1"})  # approving asks first
    db.expire_all()
    assert RunStatus(db.get(AllocationRun, run_id).status) == RunStatus.approved
    year = client.get("/admin/billing/?fy=2025").get_data(as_text=True)
    assert "12,000,000円" in year  # the summary's total charge and the trial balance


def test_municipal_admin_sees_only_their_own_statement(client, posted_fy2025):
    sign_in(client, ["municipal-admin"], ["431001"])
    page = client.get("/admin/billing/statements/431001/2025/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "熊本市長 様" in text and "3,075,000円" in text and "1,875,000円" in text
    download = client.get("/admin/billing/statements/431001/2025.xlsx")
    sheet = load_workbook(io.BytesIO(download.data)).active
    assert sheet["A1"].value == "令和7年度 連携基盤共同利用負担金 通知書"
    assert client.get("/admin/billing/statements/432024/2025/").status_code == 403
    assert client.get(f"/admin/billing/runs/{posted_fy2025.id}/").status_code == 403
    index = client.get("/admin/billing/?fy=2025").get_data(as_text=True)
    assert "/admin/billing/statements/431001/2025/" in index and "432024" not in index


def test_auditor_sees_no_buttons_and_a_forged_post_changes_nothing(client, db, posted_fy2025):
    sign_in(client, ["finance-officer"])
    token = csrf(client.get(f"/admin/billing/runs/{posted_fy2025.id}/").get_data(as_text=True))
    sign_in(client, ["auditor"])
    page = client.get(f"/admin/billing/runs/{posted_fy2025.id}/").get_data(as_text=True)
    assert 'name="action"' not in page and "3,075,000円" in page
    refused = client.post(f"/admin/billing/runs/{posted_fy2025.id}/act",
                          data={"csrf_token": token, "action": "reverse", "text": "監査人による取消"},
                          follow_redirects=True)
    assert "負担金の計算・承認" in refused.get_data(as_text=True)  # the refusal, in the clerk's words
    db.expire_all()
    assert RunStatus(db.get(AllocationRun, posted_fy2025.id).status) == RunStatus.approved
    for url in ("/admin/billing/cost-items/", "/admin/billing/policies/", "/admin/billing/journal/",
                "/admin/billing/accounts/"):
        assert client.get(url).status_code == 200, url
