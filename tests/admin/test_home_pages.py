"""The home page of each role shows what needs their attention: counts with links to where it is handled."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from core.calendar import current_month
from core.db import utcnow
from tests.billing.conftest import colleague, cost_data, policy_data
from tests.conftest import sign_in

FINANCE = colleague(1, "県 財政担当")


def attention(page: str, title: str) -> tuple[int, str]:
    """The count shown beside an attention item, and the item's whole text."""
    match = re.search(r'<li class="list-group-item" data-attention="' + re.escape(title) + r'">(.*?)</li>\s*(?=<li class="list-group-item"|</ul>\s*</section>)',
                      page, re.S)
    assert match, f"no attention item {title!r} on the page"
    count = re.search(r'home-count"[^>]*>(\d+)<', match.group(1))
    return int(count.group(1)), match.group(1)


@pytest.fixture
def kumamoto(db, tenant_factory, operator):
    """熊本県, 熊本市, 八代市 active, 人吉市 active from 15 October 2025; 水俣市 applied, 大津町 in screening, 玉名市 in provisioning
    with its admin invitation failed; an identity incident at 八代市."""
    from tenancy.identity.models import IdentityIncident
    from tenancy.onboarding.models import ProvisioningStep

    from core.calendar import JST
    from tenancy.registry.history import record_transition
    from tenancy.registry.models import TenantStatus

    # populations and 人吉市's joining on 15 October 2025 as in the worked example of tests/billing
    tenants = {"430005": tenant_factory("430005"), "431001": tenant_factory("431001", population=500_000),
               "432024": tenant_factory("432024", population=200_000),
               "432032": tenant_factory("432032", population=200_000, status="approved")}
    record_transition(db, operator, tenants["432032"], TenantStatus.active, reason="joined in the second wave",
                      at=dt.datetime(2025, 10, 15, 10, 0, tzinfo=JST))
    tenants["432059"] = tenant_factory("432059", status="applied")
    tenants["434035"] = tenant_factory("434035", status="screening")
    tenants["432067"] = tenant_factory("432067", status="provisioning")
    db.add(ProvisioningStep(tenant_id=tenants["432067"].id, step="admin_invited", status="failed", attempts=1,
                            last_error="Keycloak unavailable"))
    db.add(IdentityIncident(operation="user.invite", tenant_code="432024", username="yatsushiro-staff",
                            step="undo", error="connection refused"))
    db.commit()
    return tenants


@pytest.fixture
def overdue_agreement(db, operator, kumamoto):
    """A required joint-use agreement published 60 days ago with 30 days to accept: nobody has accepted."""
    from governance import agreements
    from governance.models import AgreementDocument
    from governance.schemas import VersionDraft

    published = utcnow() - dt.timedelta(days=60)
    draft = VersionDraft(title="共同利用協定", body_md="第1条 目的", effective_on=published.date(), required=True)
    agreements.draft_version(db, operator, AgreementDocument.joint_use_agreement, draft)
    agreements.publish_version(db, operator, AgreementDocument.joint_use_agreement, 1, 30, now=published)
    db.commit()


@pytest.fixture
def open_proposal(db, operator, kumamoto):
    from governance import council
    from governance.schemas import ProposalCreate

    proposal = council.propose(db, operator, ProposalCreate(
        title="データ連携基盤の利用促進について", closes_at=utcnow() + dt.timedelta(days=14)))
    db.commit()
    return proposal


@pytest.fixture
def over_quota(db, operator, kumamoto):
    """熊本市 has a hard limit of 1,000 API calls a month and has made 1,500 this month."""
    from usage import quota_plans
    from tests.conftest import record_usage

    quota_plans.set_quota_override(db, operator, "431001", {"metric": "api_calls", "limit": 1000, "enforcement": "hard"})
    for quantity in (500, 500, 500):
        record_usage(db, "431001", "api_calls", quantity)
    db.commit()


@pytest.fixture
def posted_fy2025(db, kumamoto):
    """FY2025 posted: 熊本市 owes 3,075,000 yen, 八代市 1,950,000 of which it has paid 1,000,000
    (the worked example of tests/billing); a FY2026 run computed and not reviewed."""
    from billing import allocation_policies, allocation_runs, operations
    from billing.schemas import PaymentCreate

    policy = allocation_policies.create_policy(db, FINANCE, policy_data())
    allocation_policies.adopt_policy(db, colleague(4, "県 財政課長"), policy.id)
    operations.create_cost_item(db, FINANCE, cost_data(name="クラウド利用料", amount=10_000_000))
    operations.create_cost_item(db, FINANCE, cost_data(name="基盤構築費", category="build", amount=6_000_000,
                                                       amortisation_years=3, tax_treatment="taxable_10"))
    run = allocation_runs.create_run(db, FINANCE, 2025)
    allocation_runs.review_run(db, colleague(2), run.id)
    allocation_runs.approve_run(db, colleague(3, "県 財政課長"), run.id, posted_on=dt.date(2025, 7, 31))
    operations.record_payment(db, FINANCE, PaymentCreate(tenant_code="432024", fiscal_year=2025, amount=1_000_000,
                                                         received_on=dt.date(2025, 9, 1), reference="振込 0901-01"))
    operations.create_cost_item(db, FINANCE, cost_data(fiscal_year=2026, name="クラウド利用料", amount=8_000_000))
    operations.create_cost_item(db, FINANCE, cost_data(fiscal_year=2026, name="保守費", amount=2_000_000))
    waiting = allocation_runs.create_run(db, FINANCE, 2026)
    db.commit()
    return run, waiting


def test_the_operator_sees_each_thing_that_needs_attention_with_its_count(
        client, kumamoto, overdue_agreement, open_proposal, over_quota, posted_fy2025):
    sign_in(client, ["platform-operator"])
    page = client.get("/admin/").get_data(as_text=True)

    count, text = attention(page, "審査待ちの参加申請")
    assert count == 2 and "432059 水俣市" in text and "434035 大津町" in text and "/admin/onboarding/" in text
    count, text = attention(page, "環境構築の失敗")
    assert count == 1 and "432067 玉名市" in text and "最初の市町村管理者の招待" in text
    assert "/admin/onboarding/tenant/432067/" in text
    count, text = attention(page, "期限を過ぎた協定・規約の再同意")
    # the active municipalities bound by the agreement: 熊本市, 八代市, 人吉市 (not the prefecture)
    assert count == 3 and "431001 熊本市" in text and "/admin/agreements/" in text
    count, text = attention(page, "今月利用上限に達した項目")
    assert count == 1 and "431001 熊本市" in text and "1,500 / 1,000" in text and "150%" in text
    count, text = attention(page, "投票受付中の議案")
    assert count == 1 and "データ連携基盤の利用促進について" in text and f"/admin/council/{open_proposal.id}/" in text
    count, text = attention(page, "未解決の利用者アカウント障害")
    assert count == 1 and "432024 八代市" in text and "/admin/users/?tenant=432024" in text
    count, text = attention(page, "未入金の負担金")
    assert "431001 熊本市 令和7年度: 3,075,000円" in text
    assert f"432024 八代市 令和7年度: {1_950_000 - 1_000_000:,}円" in text
    assert "/admin/billing/statements/431001/2025/" in text


def test_nothing_to_do_shows_zero_counts(client, kumamoto):
    sign_in(client, ["platform-operator"])
    page = client.get("/admin/").get_data(as_text=True)
    assert attention(page, "投票受付中の議案")[0] == 0
    assert attention(page, "未入金の負担金")[0] == 0
    assert attention(page, "今月利用上限に達した項目")[0] == 0


def test_finance_sees_runs_waiting_unpaid_statements_and_the_latest_years_costs(client, posted_fy2025):
    _posted, waiting = posted_fy2025
    sign_in(client, ["finance-officer"])
    page = client.get("/admin/").get_data(as_text=True)

    count, text = attention(page, "確認待ちの按分計算")
    assert count == 1 and f"/admin/billing/runs/{waiting.id}/" in text and "令和8年度" in text
    assert attention(page, "承認待ちの按分計算")[0] == 0
    count, text = attention(page, "未入金の負担金")
    assert "431001 熊本市" in text and "432024 八代市" in text
    count, text = attention(page, "最新年度の費目")
    # the build cost amortised over FY2025-2027 makes FY2027 the latest year, with its third
    assert count == 1 and f"令和9年度: {6_000_000 // 3:,}円" in text
    assert "審査待ちの参加申請" not in page  # the operator's items are not finance's


def test_the_auditor_sees_the_log_counts_and_the_way_to_verify_it(client, kumamoto):
    from core.audit import AuditRecord
    from admin.extensions import db

    kept = db.session.scalar(sa.select(sa.func.count(AuditRecord.id)))
    sign_in(client, ["auditor"])
    page = client.get("/admin/").get_data(as_text=True)
    count, text = attention(page, "保存されている操作ログ")
    assert count == kept > 0
    assert "/admin/audit-verify/" in text and "/admin/audit/" in text


def test_a_municipal_admin_sees_their_own_tenant_only(client, kumamoto, overdue_agreement, open_proposal, over_quota,
                                                      posted_fy2025):
    sign_in(client, ["municipal-admin"], ["431001"])
    page = client.get("/admin/").get_data(as_text=True)

    assert "431001 熊本市" in page and "利用中" in page
    assert "八代市" not in page and "水俣市" not in page and "432024" not in page
    assert "所属団体: 431001" not in page
    usage = re.search(r'<table class="table table-sm table-bordered home-usage">(.*?)</table>', page, re.S).group(1)
    assert "API 呼び出し回数（月間）" in usage and "1,500" in usage and "1,000" in usage and "150%" in usage
    statements = re.search(r'home-statements">(.*?)</table>', page, re.S).group(1)
    assert "令和7年度" in statements and "3,075,000円" in statements
    assert "/admin/billing/statements/431001/2025/" in statements
    acceptances = re.search(r'<ul class="home-acceptances">(.*?)</ul>', page, re.S).group(1)
    assert "共同利用協定 第1版" in acceptances and "期限切れ" in acceptances
    assert "/admin/agreements/joint_use_agreement/1/" in acceptances
    votes = re.search(r'<ul class="home-votes">(.*?)</ul>', page, re.S).group(1)
    assert "データ連携基盤の利用促進について" in votes
    # the operator's and finance's attention lists are not shown to a municipality
    assert "審査待ちの参加申請" not in page and "未入金の負担金" not in page


def test_a_vote_cast_leaves_the_list_of_votes_waiting(client, db, kumamoto, open_proposal):
    from core.actor import Actor
    from governance import council
    from governance.models import VoteChoice

    admin = Actor(issuer="urn:test", subject="kumamoto-admin", name="熊本市 管理者", roles=frozenset({"municipal-admin"}),
                  tenant_codes=frozenset({"431001"}))
    council.cast_vote(db, admin, open_proposal.id, VoteChoice.for_, "431001")
    db.commit()
    sign_in(client, ["municipal-admin"], ["431001"])
    page = client.get("/admin/").get_data(as_text=True)
    assert 'class="home-votes"' not in page and "投票が必要な議案はありません。" in page


def test_the_municipal_staff_home_page_shows_their_tenant(client, kumamoto, posted_fy2025):
    sign_in(client, ["municipal-staff"], ["432024"])
    page = client.get("/admin/").get_data(as_text=True)
    assert "432024 八代市" in page
    statements = re.search(r'home-statements">(.*?)</table>', page, re.S).group(1)
    assert "1,950,000円" in statements and f"{1_950_000 - 1_000_000:,}円" in statements
    assert "熊本市" not in page


def test_notices_addressed_to_the_tenant_are_on_its_home_page(client, db, operator, kumamoto):
    notices = pytest.importorskip("governance.notices")
    notices.publish_notice(db, operator, notices.NoticeDraft(
        title="メンテナンスのお知らせ", body="6月1日 2時から4時まで停止します。",
        audience="chosen", tenant_codes=["431001"]))
    db.commit()
    sign_in(client, ["municipal-admin"], ["431001"])
    assert "メンテナンスのお知らせ" in client.get("/admin/").get_data(as_text=True)
    sign_in(client, ["municipal-admin"], ["432024"])
    assert "メンテナンスのお知らせ" not in client.get("/admin/").get_data(as_text=True)


def test_english_home_page(client, kumamoto, open_proposal):
    sign_in(client, ["platform-operator"])
    page = client.get("/admin/?lang=en").get_data(as_text=True)
    assert "Applications awaiting screening" in page and "Proposals open for voting" in page
    assert "432059 Minamata" in page


# --- the number of queries does not grow with the number of tenants ---------------------------------

def _add_tenants(db, count: int) -> None:
    from core.codes import with_check_digit
    from tenancy.registry.models import Tenant, TenantKind, TenantStatus

    statuses = [TenantStatus.active, TenantStatus.applied, TenantStatus.screening, TenantStatus.provisioning]
    db.add_all([Tenant(code=with_check_digit(f"{47000 + n:05d}"), name_ja=f"試験町{n}", name_en=f"Test {n}",
                       kind=TenantKind.town, population=1000 + n, status=statuses[n % len(statuses)])
                for n in range(count)])
    db.commit()


def _queries_of_home_page(app, client, roles, tenants=()) -> int:
    from admin.extensions import db

    sign_in(client, roles, tenants)
    client.get("/admin/")  # compile the page once
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get("/admin/")
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(statements)


@pytest.mark.parametrize("roles,tenants", [(["platform-operator"], ()), (["finance-officer"], ()), (["auditor"], ()),
                                           (["municipal-admin"], ("431001",))])
def test_the_home_page_runs_as_many_queries_for_200_tenants_as_for_20(app, client, db, kumamoto, overdue_agreement,
                                                                     open_proposal, over_quota, roles, tenants):
    _add_tenants(db, 13)  # 20 tenants with the 7 of the fixture
    with_20 = _queries_of_home_page(app, client, roles, tenants)
    _add_tenants_more = 180
    from core.codes import with_check_digit
    from tenancy.registry.models import Tenant, TenantKind, TenantStatus

    db.add_all([Tenant(code=with_check_digit(f"{46000 + n:05d}"), name_ja=f"検査村{n}", name_en=f"Check {n}",
                       kind=TenantKind.village, population=500 + n,
                       status=[TenantStatus.active, TenantStatus.applied][n % 2])
                for n in range(_add_tenants_more)])
    db.commit()
    with_200 = _queries_of_home_page(app, client, roles, tenants)
    assert with_200 == with_20


def test_a_long_attention_list_shows_ten_lines_and_how_many_more(client, db, kumamoto):
    from core.codes import with_check_digit
    from tenancy.registry.models import Tenant, TenantKind, TenantStatus

    db.add_all([Tenant(code=with_check_digit(f"{46000 + n:05d}"), name_ja=f"申請村{n:03d}", name_en=f"Applicant {n}",
                       kind=TenantKind.village, population=500 + n, status=TenantStatus.applied) for n in range(40)])
    db.commit()
    sign_in(client, ["platform-operator"])
    count, text = attention(client.get("/admin/").get_data(as_text=True), "審査待ちの参加申請")
    # the fixture's two applicants and the forty villages: every one counted, ten named, the rest summed up
    assert count == 42
    assert len(re.findall(r"<li><a ", text)) == 10 and "ほか 32 件" in text
