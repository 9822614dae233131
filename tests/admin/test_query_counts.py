"""Every admin page and download runs as many SQL statements for 200 tenants as for 20.

The same data set is built twice, with 20 tenants and then with 200 (usage aggregates, quota
plans, overrides and assignments, a posted allocation run with its ledger entries and a payment,
a required agreement some have accepted, an open council proposal with votes, a notice,
notifications, onboarding steps); every GET page under /admin that the role can open is asked
once to warm up and once counted. A page whose count grows with the tenants fails, named with
both counts.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from core.actor import Actor
from tests.billing.conftest import colleague, cost_data, policy_data
from tests.conftest import OPERATOR, reset_database, sign_in

FINANCE = colleague(1, "県 財政担当")
MUNICIPALITY = "431001"

ROLES = {
    "operator": (["platform-operator"], ()),
    "finance": (["finance-officer"], ()),
    "auditor": (["auditor"], ()),
    "municipal admin": (["municipal-admin"], (MUNICIPALITY,)),
}

# endpoints not counted, and why
SKIPPED = {
    "admin.static": "static files",
    "frame.index": "the empty layout",
}
SKIPPED_SUFFIXES = (".ajax_lookup", ".create_view", ".edit_view")  # Flask-Admin's own forms (not used: can_create=False)


def _codes(size: int) -> list[str]:
    from core.codes import with_check_digit

    return [with_check_digit(f"{47000 + n:05d}") for n in range(size - 2)]


def build(db, size: int) -> dict:
    """``size`` tenants (熊本県, 熊本市 and generated towns) with everything the pages show."""
    from billing import allocation_policies, allocation_runs, operations
    from billing.schemas import PaymentCreate
    from core.calendar import add_months, current_month, fiscal_months, fiscal_year_of
    from core.db import utcnow
    from core.outbox import Notification
    from governance import agreements, council, notices
    from governance.models import AgreementDocument, VoteChoice
    from governance.schemas import ProposalCreate, VersionDraft
    from tenancy.identity.models import IdentityIncident
    from tenancy.onboarding.models import ProvisioningStep
    from tenancy.registry.importing import reference_municipalities
    from tenancy.registry.operations import create_tenant
    from tenancy.registry.schemas import TenantCreate
    from usage import quota_plans, quotas
    from usage.models import METRICS
    from tests.conftest import record_usages

    reference = reference_municipalities()
    statuses = ["active", "active", "active", "applied", "screening", "provisioning"]
    tenants = []
    for index, code in enumerate(["430005", MUNICIPALITY, *_codes(size)]):
        row = reference.get(code, {})
        tenants.append(create_tenant(db, OPERATOR, TenantCreate.model_validate({
            "code": code, "name_ja": row.get("name_ja", f"試験町{index}"), "name_en": row.get("name_en", f"Test {index}"),
            "kind": row.get("kind", "town"), "population": int(row.get("population", 1000 + 37 * index)),
            "population_source": "test", "status": "active" if index < 2 else statuses[index % len(statuses)]})))
    db.flush()

    quota_plans.load_default_plans(db, OPERATOR)
    month = current_month()
    months = [m for m in fiscal_months(fiscal_year_of(month)) if m <= month]
    now = utcnow()
    usage = []
    for index, tenant in enumerate(tenants):
        for metric in METRICS.values():
            for m in months:
                value = 100 * (index + 1) + m.month
                usage.append((tenant.code, metric.name, value, m))
        db.add(Notification(tenant_code=tenant.code, kind="onboarding", subject=f"お知らせ {tenant.code}", body="本文",
                            status=["queued", "sent", "failed"][index % 3]))
        if tenant.status == "provisioning":
            db.add(ProvisioningStep(tenant_id=tenant.id, step="admin_invited", status="failed", attempts=1,
                                    last_error="Keycloak unavailable"))
        if index % 7 == 3:
            db.add(IdentityIncident(operation="user.invite", tenant_code=tenant.code, username=f"staff-{index}",
                                    step="undo", error="connection refused"))
    db.flush()
    record_usages(db, usage)  # as ingest writes them: the application cannot write aggregates itself
    for index, tenant in enumerate(tenants):
        if index % 5 == 1:
            quota_plans.set_quota_override(db, OPERATOR, tenant.code, {"metric": "api_calls", "limit": 150, "enforcement": "hard"})
        if index % 6 == 2:
            quota_plans.assign_quota_plan(db, OPERATOR, tenant.code, quotas.list_plans(db, OPERATOR)[0].code)

    published = now - dt.timedelta(days=60)
    draft = VersionDraft(title="共同利用協定", body_md="第1条 目的", effective_on=published.date(), required=True)
    version = agreements.draft_version(db, OPERATOR, AgreementDocument.joint_use_agreement, draft)
    agreements.publish_version(db, OPERATOR, AgreementDocument.joint_use_agreement, 1, 30, now=published)
    active = [t for t in tenants[1:] if t.status == "active"]
    for tenant in active[::2]:
        admin = Actor(issuer="urn:test", subject=f"admin-{tenant.code}", name="管理者", roles=frozenset({"municipal-admin"}),
                      tenant_codes=frozenset({tenant.code}))
        agreements.accept_version(db, admin, AgreementDocument.joint_use_agreement, 1, version.content_hash, tenant.code)

    proposal = council.propose(db, OPERATOR, ProposalCreate(title="データ連携基盤の利用促進について",
                                                            closes_at=now + dt.timedelta(days=14)))
    for tenant in active[1::3]:
        admin = Actor(issuer="urn:test", subject=f"admin-{tenant.code}", name="管理者", roles=frozenset({"municipal-admin"}),
                      tenant_codes=frozenset({tenant.code}))
        council.cast_vote(db, admin, proposal.id, VoteChoice.for_, tenant.code)
    notices.publish_notice(db, OPERATOR, notices.NoticeDraft(title="メンテナンスのお知らせ", body="停止します。", audience="all_active"))

    policy = allocation_policies.create_policy(db, FINANCE, policy_data())
    allocation_policies.adopt_policy(db, colleague(4, "県 財政課長"), policy.id)
    item = operations.create_cost_item(db, FINANCE, cost_data(name="クラウド利用料", amount=10_000_000))[0]
    run = allocation_runs.create_run(db, FINANCE, 2025)
    allocation_runs.review_run(db, colleague(2), run.id)
    allocation_runs.approve_run(db, colleague(3, "県 財政課長"), run.id, posted_on=dt.date(2025, 7, 31))
    for tenant in active[::4]:
        operations.record_payment(db, FINANCE, PaymentCreate(tenant_code=tenant.code, fiscal_year=2025, amount=1_000,
                                                             received_on=dt.date(2025, 9, 1), reference="振込"))
    from core.codes import corporate_number_of_local_government
    from tenancy.members import operations as members

    group = members.form_group(db, OPERATOR, "観光データ連携", corporate_number_of_local_government(MUNICIPALITY),
                               [corporate_number_of_local_government(code) for code in ("430005", MUNICIPALITY)])
    from tenancy.identity.models import ApiClient

    client = ApiClient(tenant_code=MUNICIPALITY, name="防災ダッシュボード連携", purpose="防災情報の表示",
                       allowlist="192.0.2.0/24", expires_on=dt.date.today() + dt.timedelta(days=365), created_by="unei")
    db.add(client)
    from catalogue import operations as datasets

    dataset = datasets.register(db, OPERATOR, datasets.DatasetDraft(  # the dataset register (issue 22)
        provider_code=MUNICIPALITY, title_ja="AED設置箇所一覧", category_code="health_welfare", licence_code="CC-BY-4.0",
        standard_kind="aed"))
    # The audit log's first page shows one query per kind of record on it, and the downloads that are
    # audited (the members list, the annual report) add records while the pages are counted: the
    # newest records before them are of one kind at both sizes, so both pages hold the same kinds.
    for number in range(50):
        datasets.register(db, OPERATOR, datasets.DatasetDraft(
            provider_code=MUNICIPALITY, title_ja=f"公共施設一覧{number}", category_code="health_welfare",
            licence_code="CC-BY-4.0"))
    from service.incidents import operations as incidents  # the incident register (issue 39): one open incident

    incident = incidents.open_for_outage(db, "catalogue", "データカタログ", now - dt.timedelta(hours=1))
    from service import monthly_report  # the monthly report to the prefecture (issue 39): last month's, written

    report = monthly_report.write(db, OPERATOR, add_months(current_month(), -1), None)
    from governance import meetings  # a meeting every tenant attended, its minutes approved (issue 40 item 6)
    from secretariat import groups

    meeting = meetings.create_meeting(db, OPERATOR, meetings.MeetingDraft(
        "prefecture", "定例会", now - dt.timedelta(days=1), attendees=tuple(meetings.Attendee(tenant_code=t.code) for t in tenants)))
    writer = Actor(issuer="urn:test", subject="minutes-writer", name="事務局 書記", roles=frozenset({"platform-operator"}))
    meetings.write_minutes(db, writer, meeting.id, text="議事")
    meetings.approve_minutes(db, OPERATOR, meeting.id)
    minutes = meetings.minutes_submission(db, OPERATOR, meeting)  # their submission's page (issue 57 item 2)
    community = groups.create_group(db, OPERATOR, groups.GroupDraft("community", "データ利活用コミュニティ"))
    from secretariat import advisers

    adviser = advisers.create_adviser(db, OPERATOR, advisers.AdviserDraft("山田 太郎", "データ連携", 10))  # its edit page
    from secretariat import smart_services  # a need, an idea answering it and a service from it (issue 57 item 5)

    clerk = Actor(issuer="urn:test", subject=f"admin-{MUNICIPALITY}", name="管理者", roles=frozenset({"municipal-admin"}),
                  tenant_codes=frozenset({MUNICIPALITY}))
    need = smart_services.record_need(db, clerk, smart_services.NeedDraft(MUNICIPALITY, 2025, "tourism", "観光客の回遊", ""))
    idea = smart_services.create_idea(db, OPERATOR, smart_services.IdeaDraft(
        "周遊ルートの提案", "", "第1回ワークショップ", dt.date(2025, 7, 1), proposer_name="県 観光課", need_ids=(need.id,)))
    smart_service = smart_services.create_service(db, OPERATOR, smart_services.ServiceDraft(
        "観光周遊データ連携", "", "tourism", "regional", dt.date(2025, 8, 1), (idea.id,)))
    db.commit()
    return {"smart_service_id": smart_service.id, "idea_id": idea.id, "need_id": need.id, "meeting_id": meeting.id, "submission_id": minutes.id, "community_group_id": community.id, "report_id": report.id, "adviser_id": adviser.id,
            "call_id": 1,  # no competition call in this data set: its pages answer 404 at both sizes
            "selection_id": 1,  # nor a selection notice (issue 41 item 5): its PDF answers 404 at both sizes
            "contract_id": 1,  # nor a commissioned project's contract (issue 41 item 6): 404 at both sizes
            "incident_id": incident.id, "kind": "first",  # no first report yet: its PDF answers 404 at both sizes
            "uid": dataset.uid, "client_id": client.id, "group_id": group.id, "document": "joint_use_agreement", "number": 1, "run_id": run.id, "code": MUNICIPALITY,
            "fiscal_year": 2025, "proposal_id": proposal.id, "item_id": item.id, "export_type": "csv",
            "ident": dataset.uid,  # the dataset terms page (issue 22)
            # no consent service or receipt in this data set: their pages answer 404 at both sizes
            "service_id": 1, "receipt_id": "00000000-0000-0000-0000-000000000000",
            # no grant in this data set either: its page answers 404 at both sizes
            "grant_id": 1,
            # no inquiry or event either (issue 40): their pages answer 404 at both sizes
            "inquiry_id": 1, "event_id": 1,
            # no letter is issued in this data set, so no reminder (督促状, issue 52 item 2): its PDF answers 404 at both sizes
            "reminder_id": 1,
            "subcontract_id": 1,  # no subcontract request either (issue 57 item 3): its page answers 404 at both sizes
            # nor a breach (issue 56 item 4) or a mailing (issue 58 item 3): their pages answer 404 at both sizes
            "breach_id": 1, "ext": "pdf", "mailing_id": 1,
            "solution_id": 1,  # nor a member's solution (issue 58 item 2): its pages answer 404 at both sizes
            "period": "FY2025",  # the member report of a fiscal year (issue 40)
            "month": "2025-06"}  # the monthly progress report (issue 40 item 7)


def urls(app, arguments: dict) -> dict[str, str]:
    """endpoint → a URL of every GET page and download under /admin."""
    from flask import url_for

    formats = {"billing.statement_file": ["csv", "xlsx"], "billing.summary_file": ["csv", "xlsx"],
               "usage.download": ["csv", "xlsx"], "members.export": ["csv", "xlsx"],
               "dataset_coverage.export": ["csv", "xlsx"], "consent_history.export": ["csv", "xlsx"],
               "billing.accounts_file": ["xlsx", "pdf"], "annual_reports.download": ["xlsx", "pdf"], "kpis.download": ["xlsx", "pdf"],
               "member_import.template": ["xlsx", "csv"], "member_report.download": ["xlsx", "pdf"],
               "progress.download": ["xlsx", "pdf"], "service_monthly_reports.download": ["pdf", "xlsx"],
               "survey_desk.results": ["xlsx", "pdf"]}
    result = {}
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if not rule.rule.startswith("/admin") or "GET" not in rule.methods:
                continue
            if rule.endpoint in SKIPPED or rule.endpoint.endswith(SKIPPED_SUFFIXES):
                continue
            values = {name: arguments[name] for name in rule.arguments if name != "fmt"}
            for fmt in formats.get(rule.endpoint, [None]):
                extra = {"fmt": fmt} if fmt else {}
                if rule.endpoint.endswith(".details_view"):
                    extra["id"] = 1
                name = f"{rule.endpoint}.{fmt}" if fmt else rule.endpoint
                result[name] = url_for(rule.endpoint, **values, **extra)
    result["usage.chart.download"] = result["usage.chart"] + "?download=1"
    result["users.index.tenant"] = "/admin/users/?tenant=" + MUNICIPALITY
    return result


class FakeDirectory:
    """The users page lists a tenant's people from Keycloak; here nobody, and no Keycloak."""

    sends_mail = False

    def tenant_members(self, code):
        return []


def count_queries(app, roles, tenants, pages: dict[str, str]) -> dict[str, tuple[int, int | None]]:
    """page → (status, statements run) for each page, each asked once before it is counted.

    Only a page that opens (200) has its statements compared, so one that refuses on the first ask (403, 404, a
    redirect) is not asked again: its status is that answer's, and its count None (the refusals, asked twice, were
    1,936 of the 3,328 requests and a fifth of their CPU)."""
    from admin.extensions import db

    client = app.test_client()
    sign_in(client, roles, tenants)
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    result = {}
    for name, url in pages.items():
        first = client.get(url)  # templates compiled, caches warm
        first.close()
        if first.status_code != 200:
            result[name] = (first.status_code, None)
            continue
        statements.clear()
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            response = client.get(url)
            response.get_data()  # a streamed download runs its queries while its body is read
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        response.close()
        result[name] = (response.status_code, len(statements))
    return result


@pytest.mark.long
def test_every_page_and_download_runs_as_many_queries_for_200_tenants_as_for_20(app, db, monkeypatch):
    import admin.identity
    import admin.views.account_reviews
    import admin.views.users

    monkeypatch.setattr(admin.views.users, "identity_directory", FakeDirectory)
    monkeypatch.setattr(admin.views.account_reviews, "identity_directory", FakeDirectory)
    monkeypatch.setattr(admin.identity, "secretariat_people", dict)  # the secretariat's people: nobody, and no Keycloak
    # every download is asked twice a role by four roles: each different PDF is laid out once (tests/pdf_once.py)
    counts = {}
    for size in (20, 200):
        reset_database(app)
        pages = urls(app, build(db, size))
        counts[size] = {role: count_queries(app, roles, tenants, pages) for role, (roles, tenants) in ROLES.items()}

    opened = {(role, page) for role in ROLES for page, (status, _) in counts[20][role].items() if status == 200}
    # each role opens the pages its work needs
    assert ("operator", "usage.index") in opened and ("finance", "billing_accounts.index_view") in opened
    assert ("auditor", "audit.index_view") in opened and ("municipal admin", "usage.index") in opened
    assert ("operator", "incidents.index") in opened and ("municipal admin", "incidents.index") not in opened
    assert ("finance", "billing.statement_file.xlsx") in opened and ("operator", "usage.download.xlsx") in opened
    assert ("auditor", "service_monthly_reports.download.pdf") in opened
    assert ("operator", "service_monthly_reports.download.xlsx") in opened
    assert ("auditor", "annual_reports.download.pdf") in opened and ("municipal admin", "annual_reports.index") not in opened
    assert ("auditor", "meetings.pdf") in opened and ("operator", "community_groups.detail") in opened
    assert ("municipal admin", "meetings.detail") not in opened
    growing = []
    for role in ROLES:
        for page, (status, few) in counts[20][role].items():
            many_status, many = counts[200][role][page]
            assert status == many_status, f"{role} {page}: {status} with 20 tenants, {many_status} with 200"
            if status == 200 and many != few:
                growing.append(f"{role} {pages[page]} ({page}): {few} queries with 20 tenants, {many} with 200")
    assert not growing, "pages whose queries grow with the tenants:\n" + "\n".join(growing)
