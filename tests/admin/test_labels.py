"""The read-only model views speak the reader's language: no raw role ids, statuses, audit actions,
account codes, JSON or English column labels in the Japanese UI; English labels with ?lang=en."""

from __future__ import annotations

import datetime as dt
import html
import pathlib
import re

import pytest
import sqlalchemy as sa

from core.db import utcnow
from tests.admin.test_home_pages import FINANCE, colleague, cost_data, policy_data
from tests.conftest import sign_in

ROOT = pathlib.Path(__file__).resolve().parents[2]

RAW = [
    # role ids
    "platform-operator", "municipal-admin", "municipal-staff", "finance-officer", "auditor", "metering-client",
    # statuses and kinds
    "applied", "screening", "approved", "provisioning", "active", "suspended", "withdrawn", "computed", "reviewed",
    "reversed", "discarded", "posted", "pending", "queued", "sent", "draft", "published", "adopted",
    "designated_city", "city", "town", "prefecture", "charge", "payment", "reversal", "asset", "income", "expense",
    "liability", "taxable_10", "free_text", "joint_use_agreement",
    # ledger accounts
    "receivable:", "cost_recovery", "prefecture_share", "cost:run", "cost:build", "bank", "payable",
    # audit targets and outbox kinds
    "allocation_run", "allocation_policy", "agreement_version", "council_proposal", "cost_item", "journal_entry",
    "quota_override", "agreement.reacceptance", "quota.threshold",
    # English column labels Flask-Admin makes from column names
    "Actor Issuer", "Actor Subject", "Request Id", "Source Ip", "Prev Hash", "Hash", "Name En", "Before", "After",
    "Target Type", "Target Id", "Idempotency Key", "Dedupe Key", "Tenant Code", "Name Ja",
]


def visible_text(page: str) -> str:
    """What a reader sees: no scripts, styles, hidden filter data or tags."""
    page = re.sub(r"<(script|style)\b[^>]*>.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r'<div id="filter-groups-data" class="d-none">.*?</div>', " ", page, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def raw_codes_in(text: str, extra: list[str] = ()) -> list[str]:
    found = []
    for token in [*RAW, *extra]:
        after = "" if token.endswith(":") else r"(?![A-Za-z0-9_\-])"
        if re.search(r"(?<![A-Za-z0-9_.:\-])" + re.escape(token) + after, text):
            found.append(token)
    if re.search(r'[{\[]\s*"', text):
        found.append("JSON")
    return found


def recorded_actions() -> set[str]:
    """Every action string the code passes to core.audit.record / act."""
    from tenancy.onboarding.lifecycle import TRANSITIONS
    from tenancy.onboarding.models import PROVISIONING_STEPS

    actions = set()
    call = re.compile(r"\b(?:audit|core_audit)\.(?:record|act)\(\s*[^,]+,\s*[^,]+,\s*((?:\"[^\"]+\"(?:\s*if[^,]+else\s*)?)+)")
    for folder in ("core", "tenancy", "catalogue", "usage", "billing", "governance", "residents", "admin"):
        for path in (ROOT / folder).rglob("*.py"):
            for match in call.finditer(path.read_text("utf-8")):
                actions.update(re.findall(r"\"([^\"{}]+)\"", match.group(1)))
    actions |= {f"tenant.{t.name}" for t in TRANSITIONS.values()}
    actions |= {f"provisioning.{step.name}" for step in PROVISIONING_STEPS}
    return actions


def test_every_action_the_code_records_has_a_japanese_and_an_english_label():
    from governance.audit import AUDIT_ACTION_LABELS, AUDIT_ACTION_LABELS_JA

    actions = recorded_actions()
    assert {"billing.run.approve", "tenant.create", "user.disable", "tenant.activate"} <= actions
    missing = sorted(actions - set(AUDIT_ACTION_LABELS))
    assert missing == [], f"audit actions without a label: {missing}"
    for action in actions:
        ja, en = AUDIT_ACTION_LABELS[action]
        assert AUDIT_ACTION_LABELS_JA[action] == ja and re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", ja) and en


@pytest.fixture
def story(db, operator, tenant_factory):
    """Tenants registered, a quota override, an agreement published, a proposal, a FY2025 run approved."""
    from billing import allocation_policies, allocation_runs, operations
    from governance import agreements, council
    from governance.models import AgreementDocument
    from governance.schemas import ProposalCreate, VersionDraft
    from usage import quota_plans

    for code in ("430005", "431001", "432024"):
        tenant_factory(code)
    tenant_factory("432059", status="applied")
    quota_plans.set_quota_override(db, operator, "431001", {"metric": "api_calls", "limit": 1000, "enforcement": "hard"})
    agreements.draft_version(db, operator, AgreementDocument.joint_use_agreement,
                             VersionDraft(title="共同利用協定", body_md="第1条 目的", effective_on=dt.date(2025, 4, 1)))
    agreements.publish_version(db, operator, AgreementDocument.joint_use_agreement, 1, 30)
    council.propose(db, operator, ProposalCreate(title="利用促進について", closes_at=utcnow() + dt.timedelta(days=7)))
    policy = allocation_policies.create_policy(db, FINANCE, policy_data())
    allocation_policies.adopt_policy(db, colleague(4, "県 財政課長"), policy.id)
    operations.create_cost_item(db, FINANCE, cost_data(amount=10_000_000))
    run = allocation_runs.create_run(db, FINANCE, 2025)
    allocation_runs.review_run(db, colleague(2), run.id)
    allocation_runs.approve_run(db, colleague(3, "県 財政課長"), run.id, posted_on=dt.date(2025, 7, 31))
    db.commit()


def audit_id(db, action: str) -> int:
    from core.audit import AuditRecord

    return db.scalar(sa.select(sa.func.min(AuditRecord.id)).where(AuditRecord.action == action))


def test_the_audit_log_shows_words_not_codes(client, db, story):
    from governance.audit import AUDIT_ACTION_LABELS

    sign_in(client, ["auditor"])
    listing = visible_text(client.get("/admin/audit/").get_data(as_text=True))
    assert raw_codes_in(listing, list(AUDIT_ACTION_LABELS)) == []
    assert "按分計算の承認（会計帳簿へ計上）" in listing and "参加団体の登録" in listing
    assert "431001 熊本市" in listing and "財政・会計担当" in listing

    for action in ("tenant.create", "billing.run.approve", "agreement.publish", "quota.override", "council.propose"):
        page = client.get(f"/admin/audit/details/?id={audit_id(db, action)}").get_data(as_text=True)
        text = visible_text(page)
        assert raw_codes_in(text, list(AUDIT_ACTION_LABELS)) == [], action
        keys = re.findall(r'<dt class="col-sm-4">([^<]*)</dt>', page)
        assert keys and [key for key in keys if not re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", key)] == [], action
        for label in ("認証基盤（発行者）", "要求番号", "直前の記録のハッシュ値", "この記録のハッシュ値"):
            assert label in text, (action, label)


def test_an_audit_records_values_are_a_labelled_list(client, db, story):
    from core.audit import AuditRecord

    sign_in(client, ["auditor"])
    record = db.get(AuditRecord, audit_id(db, "tenant.create"))
    text = visible_text(client.get(f"/admin/audit/details/?id={record.id}").get_data(as_text=True))
    assert "団体コード 430005 熊本県" in text and "種別 都道府県" in text and "状態 利用中" in text
    assert record.hash in text  # the hash stays on the detail page, labelled

    publish = visible_text(client.get(f"/admin/audit/details/?id={audit_id(db, 'agreement.publish')}").get_data(as_text=True))
    assert "共同利用協定 第1版" in publish and "同意期限" in publish


def test_the_tenants_list_and_its_filters_are_in_japanese(client, story):
    sign_in(client, ["platform-operator"])
    page = client.get("/admin/tenants/").get_data(as_text=True)
    assert raw_codes_in(visible_text(page)) == []
    filters = re.search(r'<div id="filter-groups-data" class="d-none">(.*?)</div>', page, re.S).group(1)
    assert "申請受付" in html.unescape(filters) and "政令指定都市" in html.unescape(filters)
    details = visible_text(client.get("/admin/tenants/details/?id=2").get_data(as_text=True))
    assert raw_codes_in(details) == []


def test_the_ledger_pages_name_accounts_and_tenants(client, db, story):
    sign_in(client, ["finance-officer"])
    accounts = visible_text(client.get("/admin/billing/accounts/").get_data(as_text=True))
    assert raw_codes_in(accounts) == []
    assert "未収金 431001 熊本市" in accounts and "資産" in accounts
    journal = visible_text(client.get("/admin/billing/journal/").get_data(as_text=True))
    assert raw_codes_in(journal) == [] and "負担金の計上" in journal
    from billing.models import JournalEntry

    entry = db.scalar(sa.select(JournalEntry.id).where(JournalEntry.tenant_code == "431001"))
    details = visible_text(client.get(f"/admin/billing/journal/details/?id={entry}").get_data(as_text=True))
    assert raw_codes_in(details) == []
    assert "借方 未収金 431001 熊本市" in details and "計上済" in details


def test_the_outbox_names_the_kind_of_message(client, story):
    sign_in(client, ["platform-operator"])
    page = visible_text(client.get("/admin/outbox/").get_data(as_text=True))
    assert raw_codes_in(page) == [] and "協定・規約の再同意のお願い" in page


def test_english_ui_shows_english_labels(client, db, story):
    sign_in(client, ["auditor"])
    text = visible_text(client.get(f"/admin/audit/details/?id={audit_id(db, 'billing.run.approve')}&lang=en")
                        .get_data(as_text=True))
    assert "Allocation run approved (posted)" in text and "Request ID" in text and "Hash of the previous record" in text
    assert "按分計算" not in text
    listing = visible_text(client.get("/admin/audit/?lang=en").get_data(as_text=True))
    assert "Tenant registered" in listing and "参加団体の登録" not in listing
    sign_in(client, ["platform-operator"])
    tenants = visible_text(client.get("/admin/tenants/?lang=en").get_data(as_text=True))
    assert "Name (English)" in tenants and "Kumamoto" in tenants
