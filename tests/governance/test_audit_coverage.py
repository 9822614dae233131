"""Every state-changing API endpoint writes its audit record(s) on success and none when refused.

The endpoints come from the OpenAPI document (every POST, PUT, PATCH and DELETE), so a new
endpoint without an entry in :data:`TABLE` fails :func:`test_every_state_changing_endpoint_is_in_the_table`.
An entry says how to make one successful call and one refused call. A successful call writes
exactly one record, carrying the call's request id and source IP; calls made of several steps
(the provisioning saga, a wave, a council close that enacts a change) write one record whose
``after.steps`` lists the steps (core.audit.act).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from core.actor import Actor
from core.audit import AuditRecord
from core.calendar import JST
from tests.consent.conftest import SERVICE as CONSENT_SERVICE

STATE_CHANGING = {"post", "put", "patch", "delete"}
CONTACT = [{"name": "担当 太郎", "email": "audit-coverage@example.jp", "role": "admin"}]
# Entries that change Keycloak (users, suspension, provisioning, waves) use tenants no other test module uses:
# the test realm lives for the whole session, and other modules count the members of their tenants' groups.
STAFF = ("municipal-staff",)


@dataclasses.dataclass
class Ctx:
    client: object
    db: object
    operator: object
    tenants: Callable
    users: Callable
    directory: object
    as_operator: dict

    def admin_of(self, code: str) -> dict:
        return self.users(("municipal-admin",), code)[1]

    def fresh_user(self, code: str, roles=STAFF) -> str:
        return self.users(roles, code, fresh=True)[0].id


@dataclasses.dataclass(frozen=True)
class Call:
    method: str
    url: str
    headers: dict
    json: dict | None = None


@dataclasses.dataclass(frozen=True)
class Entry:
    success: Callable[[Ctx], Call]
    refused: Callable[[Ctx], Call]
    steps: tuple[str, ...] = ()  # the actions a multi-step call must list inside its one record


# --- setups ---------------------------------------------------------------------------------------

def provisioned(ctx: Ctx, code: str):
    from tenancy.onboarding.saga import STEPS
    from tenancy.onboarding.models import ProvisioningStep

    tenant = ctx.tenants(code, status="provisioning", contacts=CONTACT)
    for step in STEPS:
        ctx.db.add(ProvisioningStep(tenant_id=tenant.id, step=step.name, status="done"))
    ctx.db.commit()
    return tenant


def screened(ctx: Ctx, code: str):
    from tenancy.onboarding import lifecycle

    ctx.tenants(code, status="screening", contacts=CONTACT)
    for entry in lifecycle.SCREENING_ITEMS:
        lifecycle.check_item(ctx.db, ctx.operator, code, lifecycle.SCREENING, entry.key)
    ctx.db.commit()


def agreement(ctx: Ctx, publish: bool = True):
    from governance import agreements
    from governance.schemas import VersionDraft

    version = agreements.draft_version(ctx.db, ctx.operator, "joint_use_agreement",
                                       VersionDraft(title="共同利用協定", body_md="第1条 …", effective_on=dt.date(2025, 4, 1)))
    if publish:
        agreements.publish_version(ctx.db, ctx.operator, "joint_use_agreement", version.number)
    ctx.db.commit()
    return version


def council(ctx: Ctx, *, votes: bool = False) -> int:
    """The prefecture and Kumamoto city as members, one open free-text proposal; its id."""
    from governance import council as council_ops
    from governance.schemas import ProposalCreate

    ctx.tenants("430005")
    ctx.tenants("431001")
    proposal = council_ops.propose(ctx.db, ctx.operator, ProposalCreate(
        title="議案", closes_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=7)))
    ctx.db.commit()
    if votes:
        for code, headers in (("431001", ctx.admin_of("431001")),
                              ("430005", ctx.users(("platform-operator",), "430005")[1])):
            response = ctx.client.post(f"/api/v1/council/proposals/{proposal.id}/votes", json={"choice": "for"},
                                       headers=headers)
            assert response.status_code == 201
    return proposal.id


ORG = "9000012050099"  # a member organisation used by no other test module (its Keycloak group outlives the test)


def member_applied(ctx: Ctx, *, screened_fully: bool = False) -> str:
    """An organisation under screening (issue 15); ``screened_fully``: documents and checklist done."""
    from tenancy.members import operations as members
    from tenancy.members.models import Organisation

    members.apply(ctx.db, members.Application(ORG, "監査網羅株式会社", "company", "熊本県", "代表 太郎", "担当 花子",
                                              "audit-member@example.jp"), confirm_url=lambda token: f"/join/confirm/{token}")
    org = ctx.db.scalar(sa.select(Organisation))
    org.status, org.email_token_hash = "applied", None
    if screened_fully:
        for document in ("pledge", "profile"):
            members.record_document(ctx.db, ctx.operator, ORG, document, dt.date.today())
        for item in members.screening_items(ctx.db, ctx.operator):
            members.check_item(ctx.db, ctx.operator, ORG, item.id, True)
    ctx.db.commit()
    return ORG


DETAILS = {"name": "監査網羅株式会社", "prefecture": "熊本県", "representative": "代表 太郎", "contact_name": "担当 次郎",
           "contact_email": "audit-member@example.jp"}


def waiting_change(ctx: Ctx) -> int:
    """An approved member whose admin asked to change its name (issue 58): the change's id."""
    from tenancy.members import details
    from tenancy.members.models import Organisation

    number = member_applied(ctx)
    org = ctx.db.scalar(sa.select(Organisation).where(Organisation.corporate_number == number))
    org.status = "approved"
    admin = Actor(issuer="urn:test", subject="org-admin-coverage", name="会員 管理者", roles=frozenset({"org-admin"}),
                  tenant_codes=frozenset({number}))
    change = details.change_details(ctx.db, admin, number, dataclasses.replace(details.details_of(org), name="監査網羅研究所株式会社"))
    ctx.db.commit()
    return change.pending.id


def project_group(ctx: Ctx) -> int:
    """A project group of 熊本市 and 八代市 (issue 15); its id."""
    from tenancy.members import operations as members

    ctx.tenants("431001"), ctx.tenants("432024")
    group = members.form_group(ctx.db, ctx.operator, "提案B", "9000020431001", ["9000020431001", "9000020432024"])
    ctx.db.commit()
    return group.id


def inquiry(ctx: Ctx, *, answered: bool = False) -> int:
    """An inquiry taken by phone (issue 40 item 3); its id."""
    from secretariat import inquiries

    row = inquiries.record_inquiry(ctx.db, ctx.operator, inquiries.InquiryDraft(
        "resident", "phone", "other", "監査網羅", "質問", inquirer_name="問合 太郎", email="q@example.jp"))
    if answered:
        inquiries.transition(ctx.db, ctx.operator, row.id, "answer")
    ctx.db.commit()
    return row.id


def secretary(ctx: Ctx) -> str:
    """The user id of the operator the calls act as (one of the secretariat's people: an owner)."""
    return ctx.users(("platform-operator",))[0].id


def work_item(ctx: Ctx) -> int:
    """A work item of the schedule (issue 40 item 7) owned by the operator; its id."""
    from secretariat import progress

    owner = secretary(ctx)
    row = progress.add_item(ctx.db, ctx.operator, {owner: "事務局 花子"}, title="監査網羅", due_on="2030-06-01", owner=owner)
    ctx.db.commit()
    return row.id


def adviser(ctx: Ctx) -> int:
    """An adviser of 4 hours a month (issue 58 item 6); its id."""
    from secretariat import advisers

    row = advisers.create_adviser(ctx.db, ctx.operator, advisers.AdviserDraft("監査 網羅", "データ連携", 4))
    ctx.db.commit()
    return row.id


def adviser_member(ctx: Ctx) -> str:
    """The approved member 7000012050002, applied for if not there yet; its number."""
    from tenancy.members import operations as members
    from tenancy.members.models import MemberStatus, Organisation

    number = "7000012050002"
    if ctx.db.scalar(sa.select(Organisation).where(Organisation.corporate_number == number)) is None:
        members.apply(ctx.db, members.Application(number, "監査網羅株式会社", "company", "熊本県", "代表", "担当",
                                                  "coverage@example.jp"), confirm_url=lambda token: f"http://t/{token}")
    ctx.db.scalar(sa.select(Organisation).where(Organisation.corporate_number == number)).status = MemberStatus.approved
    ctx.db.commit()
    return number


SOLUTION = {"title": "監査網羅ソリューション", "description": "網羅の確認", "categories": ["other"], "contact_name": "担当",
            "contact_email": "coverage@example.jp"}


def as_member(ctx: Ctx, method: str, url: str, json=None) -> Call:
    """A call by the admin of the approved member 7000012050002 (the members' site, issue 58 item 2)."""
    number = adviser_member(ctx)
    return Call(method, url, ctx.users(("org-admin",), number)[1], json)


def solution(ctx: Ctx) -> int:
    """A solution listed by the approved member 7000012050002 (issue 58 item 2); its id."""
    from secretariat import solutions

    number = adviser_member(ctx)
    admin = Actor(issuer="urn:test", subject="org-admin-coverage", name="会員 管理者", roles=frozenset({"org-admin"}),
                  tenant_codes=frozenset({number}))
    row = solutions.create_solution(ctx.db, admin, solutions.SolutionDraft(
        SOLUTION["title"], SOLUTION["description"], ("other",), "担当", "coverage@example.jp"))
    ctx.db.commit()
    return row.id


def consultation(ctx: Ctx) -> int:
    """A consultation booked for the approved member 7000012050002 (issue 58 item 6); its id."""
    import datetime as dt

    from core.calendar import JST
    from secretariat import advisers

    adviser_member(ctx)
    row = advisers.book(ctx.db, ctx.operator, advisers.Booking(adviser(ctx), "7000012050002",
                                                               dt.datetime(2030, 6, 10, 10, tzinfo=JST), 1, "監査網羅"))
    ctx.db.commit()
    return row.id


def smart_need(ctx: Ctx) -> int:
    """A need 熊本市 answered (issue 57 item 5); its id."""
    from secretariat import smart_services as ss

    ctx.tenants("431001")
    admin = Actor(issuer="urn:test", subject="admin-431001-coverage", name="熊本 管理者", roles=frozenset({"municipal-admin"}),
                  tenant_codes=frozenset({"431001"}))
    row = ss.record_need(ctx.db, admin, ss.NeedDraft("431001", 2030, "tourism", "監査網羅の課題", ""))
    ctx.db.commit()
    return row.id


def smart_idea(ctx: Ctx) -> int:
    """An idea from a workshop (issue 57 item 5); its id."""
    from secretariat import smart_services as ss

    row = ss.create_idea(ctx.db, ctx.operator, ss.IdeaDraft("監査網羅のアイデア", "", "", dt.date(2030, 6, 1),
                                                            proposer_name="県 観光課"))
    ctx.db.commit()
    return row.id


def smart_service(ctx: Ctx) -> int:
    """A service found (issue 57 item 5), proposed; its id."""
    from secretariat import smart_services as ss

    row = ss.create_service(ctx.db, ctx.operator, ss.ServiceDraft("監査網羅のサービス", "", "tourism", "prefecture",
                                                                  dt.date(2030, 6, 1)))
    ctx.db.commit()
    return row.id


def issue(ctx: Ctx) -> int:
    """An open issue (issue 40 item 7) owned by the operator; its id."""
    from secretariat import progress

    owner = secretary(ctx)
    row = progress.raise_issue(ctx.db, ctx.operator, {owner: "事務局 花子"}, title="監査網羅の課題", owner=owner)
    ctx.db.commit()
    return row.id


def event(ctx: Ctx, *, capacity: int = 1, registered: int = 0, begun: bool = False) -> tuple[int, list[int]]:
    """A member seminar a week ahead (issue 40 item 4) with ``registered`` people; ``begun``: moved to an hour ago."""
    from secretariat import events

    starts = dt.datetime.now(dt.timezone.utc) + (dt.timedelta(hours=-1) if begun else dt.timedelta(days=7))
    row = events.create_event(ctx.db, ctx.operator, events.EventDraft(
        "member_seminar", "監査網羅セミナー", starts, starts + dt.timedelta(hours=2), capacity, "anyone", place="県庁"))
    people = [events.EventRegistration(event_id=row.id, name=f"参加 {n}", email=f"p{n}@example.jp",
                                       status="registered" if n < capacity else "waitlisted") for n in range(registered)]
    ctx.db.add_all(people)  # as registered before the event began
    ctx.db.commit()
    ids = [person.id for person in people]
    return row.id, ids


MINUTES_WRITER = Actor(issuer="urn:test", subject="minutes-writer", name="事務局 書記", roles=frozenset({"platform-operator"}))


def meeting(ctx: Ctx, *, minutes: str = "none") -> int:
    """A monthly meeting with the prefecture (issue 40 item 6) attended by the prefecture; ``minutes``: how far
    its minutes went (``draft`` written by another operator than the caller, ``approved``)."""
    from governance import meetings
    from tenancy.registry.operations import find_tenant

    if find_tenant(ctx.db, "430005") is None:
        ctx.tenants("430005", contacts=CONTACT)
    row = meetings.create_meeting(ctx.db, ctx.operator, meetings.MeetingDraft(
        "prefecture", "11月 定例会", dt.datetime(2026, 11, 20, 14, tzinfo=JST), attendees=(meetings.Attendee("県", "430005"),)))
    if minutes in ("draft", "approved"):
        meetings.write_minutes(ctx.db, MINUTES_WRITER, row.id, text="議事")
    if minutes == "approved":
        meetings.approve_minutes(ctx.db, ctx.operator, row.id)
    ctx.db.commit()
    return row.id


def community(ctx: Ctx, *, member: bool = False) -> int:
    """The data-utilisation community (issue 40 item 5); ``member``: with the approved 7000012050002 in it."""
    import sqlalchemy as sa

    from secretariat import groups
    from tenancy.members import operations as members
    from tenancy.members.models import MemberStatus, Organisation

    if ctx.db.scalar(sa.select(Organisation).where(Organisation.corporate_number == "7000012050002")) is None:
        members.apply(ctx.db, members.Application("7000012050002", "監査網羅株式会社", "company", "熊本県", "代表", "担当",
                                                  "coverage@example.jp"), confirm_url=lambda token: f"http://t/{token}")
        ctx.db.scalar(sa.select(Organisation).where(Organisation.corporate_number == "7000012050002")).status = \
            MemberStatus.approved
    row = groups.create_group(ctx.db, ctx.operator, groups.GroupDraft("community", f"コミュニティ {uuid.uuid4().hex[:6]}"))
    if member:
        groups.add_member(ctx.db, ctx.operator, row.id, "7000012050002")
    ctx.db.commit()
    return row.id


def working_group(ctx: Ctx) -> int:
    """A working group (issue 57 item 4), not yet under the council."""
    from secretariat import groups

    row = groups.create_group(ctx.db, ctx.operator, groups.GroupDraft("working_group", f"WG {uuid.uuid4().hex[:6]}"))
    ctx.db.commit()
    return row.id


def staff_membership(ctx: Ctx) -> tuple[int, int]:
    """A working group with a 熊本市 staff member in it: (the group's id, the membership's id)."""
    from secretariat import groups

    ctx.tenants("431001")
    group_id = working_group(ctx)
    row = groups.join(ctx.db, ctx.operator, group_id, groups.Candidate("municipal_staff", tenant_code="431001", name="熊本 太郎"))
    ctx.db.commit()
    return group_id, row.id


def first_item(ctx: Ctx) -> int:
    from tenancy.members import operations as members

    item_id = members.screening_items(ctx.db, ctx.operator)[0].id
    ctx.db.commit()
    return item_id


def usage_event(code: str) -> dict:
    now = dt.datetime.now(JST)
    return {"tenant": code, "metric": "api_calls", "quantity": 5, "timestamp": now.isoformat(), "event_id": uuid.uuid4().hex}


def default_plans(ctx: Ctx) -> None:
    """The standard quota plans exist already (as after the first onboarding), so provisioning creates none."""
    from usage import quota_plans

    quota_plans.load_default_plans(ctx.db, ctx.operator)
    ctx.db.commit()


def quota_plan(ctx: Ctx, code: str = "small"):
    from usage import quota_plans

    quota_plans.change_quota_plan(ctx.db, ctx.operator, code, {"name_ja": "小規模", "limits": [{"metric": "api_calls", "limit": 1000}]})
    ctx.db.commit()


def finance(ctx: Ctx) -> dict:
    return ctx.users(("finance-officer",))[1]


def fin(ctx: Ctx, method: str, url: str, json=None) -> Call:
    return Call(method, url, finance(ctx), json)


COST_ITEM = {"fiscal_year": 2026, "name": "クラウド利用料", "category": "run", "amount": 1_200_000, "tax_treatment": "taxable_10"}


# billing's use cases are finance's (billing.manage); the operator may not enter costs or run allocations
FINANCE_OFFICER = Actor(issuer="urn:test", subject="finance-1", name="県 財政担当", roles=frozenset({"finance-officer"}))


def cost_item(ctx: Ctx) -> int:
    from billing import operations as billing
    from billing.schemas import CostItemCreate

    [item] = billing.create_cost_item(ctx.db, FINANCE_OFFICER, CostItemCreate(**COST_ITEM))
    ctx.db.commit()
    return item.id


def policy(ctx: Ctx, adopt: bool = False) -> int:
    from billing import allocation_policies
    from billing.schemas import PolicyCreate

    created = allocation_policies.create_policy(ctx.db, FINANCE_OFFICER, PolicyCreate(name="均等割", components=[{"basis": "equal", "weight": "1"}]))
    if adopt:
        allocation_policies.adopt_policy(ctx.db, dataclasses.replace(FINANCE_OFFICER, subject="finance-4", name="県 財政課長"), created.id)
    ctx.db.commit()
    return created.id


GRANT = {"fiscal_year": 2026, "name": "デジタル田園都市国家構想交付金", "grantor": "内閣府", "rate": "1/2",
         "categories": ["run"], "applied_amount": 600_000}


def grant(ctx: Ctx) -> int:
    from billing import grants
    from billing.schemas import GrantCreate

    made = grants.create_grant(ctx.db, FINANCE_OFFICER, GrantCreate(**GRANT))
    ctx.db.commit()
    return made.id


def year_close_requested(ctx: Ctx) -> None:
    """FY2024's close asked by the finance officer (its 出納整理期間 ended on 31 May 2025)."""
    from billing import year_close

    year_close.request_close(ctx.db, FINANCE_OFFICER, 2024)
    ctx.db.commit()


def run(ctx: Ctx, until: str = "computed") -> int:
    """An allocation run of FY2026 for Kumamoto city, moved as far as ``until``."""
    from billing import allocation_runs

    ctx.tenants("431001")
    policy(ctx, adopt=True)
    cost_item(ctx)
    created = allocation_runs.create_run(ctx.db, FINANCE_OFFICER, 2026)
    if until in ("reviewed", "approved"):
        allocation_runs.review_run(ctx.db, FINANCE_OFFICER, created.id, four_eyes=False)
    if until == "approved":
        allocation_runs.approve_run(ctx.db, FINANCE_OFFICER, created.id, four_eyes=False)
    if until == "discarded":
        allocation_runs.discard_run(ctx.db, FINANCE_OFFICER, created.id)
    ctx.db.commit()
    return created.id


def provisional_run_to_settle(ctx: Ctx) -> None:
    """FY2026 charged by a posted 概算 run (no grant, so nothing waits for a fixed amount)."""
    from billing import allocation_runs
    from billing.models import RunKind

    ctx.tenants("431001")
    policy(ctx, adopt=True)
    cost_item(ctx)
    created = allocation_runs.create_run(ctx.db, FINANCE_OFFICER, 2026, kind=RunKind.provisional)
    allocation_runs.review_run(ctx.db, FINANCE_OFFICER, created.id, four_eyes=False)
    allocation_runs.approve_run(ctx.db, FINANCE_OFFICER, created.id, four_eyes=False)
    ctx.db.commit()


def budget_to_estimate(ctx: Ctx) -> None:
    """FY2027 with a draft budget, an adopted policy, a municipality and the prefecture's settings."""
    from billing import budgets
    from billing.schemas import BudgetCreate

    ctx.tenants("431001")
    policy(ctx, adopt=True)
    prefecture_settings(ctx)
    budgets.draft_budget(ctx.db, FINANCE_OFFICER, BudgetCreate.model_validate({"fiscal_year": 2027, "amounts": {"run": 1_200_000}}))
    ctx.db.commit()


def settings_body() -> dict:
    from tenancy.registry.sample import KUMAMOTO_SETTINGS

    return dict(KUMAMOTO_SETTINGS)


def prefecture_settings(ctx: Ctx) -> None:
    from tenancy.registry.prefecture import PrefectureSettingsIn, update_settings

    update_settings(ctx.db, ctx.operator, PrefectureSettingsIn.model_validate(settings_body()))
    ctx.db.commit()


def issued_letters(ctx: Ctx) -> None:
    from billing import documents

    prefecture_settings(ctx)
    documents.issue_documents(ctx.db, FINANCE_OFFICER, run(ctx, "approved"))
    ctx.db.commit()


def overdue_letters(ctx: Ctx) -> None:
    """FY2026's letters issued with a due date a month past, unpaid: a statement a reminder may be sent for."""
    from billing import documents
    from core.calendar import today_jst

    prefecture_settings(ctx)
    today = today_jst()
    documents.issue_documents(ctx.db, FINANCE_OFFICER, run(ctx, "approved"), issued_on=today - dt.timedelta(days=60),
                              due_on=today - dt.timedelta(days=30))
    ctx.db.commit()


def reminder_body() -> dict:
    from core.calendar import today_jst

    return {"statements": [{"tenant_code": "431001", "fiscal_year": 2026}],
            "due_on": (today_jst() + dt.timedelta(days=14)).isoformat()}


def bank_file_body(amount: int = 1_000, payer: str = "ｸﾏﾓﾄｼ") -> dict:
    """The bank's CSV (one credit), base64 in the API's body."""
    import base64

    raw = f"日付,金額,振込依頼人,参照\n2026-06-30,{amount},{payer},\n".encode("cp932")
    return {"filename": "bank.csv", "content_base64": base64.b64encode(raw).decode("ascii")}


def bank_line(ctx: Ctx, *, matching: bool = False) -> int:
    """A credit of the bank's file for 熊本市's posted FY2026 share: 1,000 yen, or (``matching``) what it
    owes, paid under its kana name."""
    import base64

    from billing import bank_reconciliation, ledger
    from tenancy.registry.models import Tenant

    run(ctx, "approved")
    amount = 1_000
    if matching:
        ctx.db.scalars(sa.select(Tenant).where(Tenant.code == "431001")).one().name_kana = "クマモトシ"
        amount = ledger.tenant_balance(ctx.db, "431001", fiscal_year=2026)
    raw = base64.b64decode(bank_file_body(amount)["content_base64"])
    line = bank_reconciliation.import_bank_file(ctx.db, FINANCE_OFFICER, raw, "bank.csv").lines[0]
    ctx.db.commit()
    return line.id


def manual_payment(ctx: Ctx) -> int:
    from billing import bank_reconciliation
    from billing.schemas import ManualPaymentCreate

    ctx.tenants("431001")
    asked = bank_reconciliation.request_manual_payment(ctx.db, FINANCE_OFFICER, ManualPaymentCreate.model_validate({
        "tenant_code": "431001", "fiscal_year": 2026, "amount": 1000, "received_on": "2026-06-30", "reference": "窓口",
        "reason": "窓口で現金納付"}))
    ctx.db.commit()
    return asked.id


SMART_SERVICE = {"name": "監査網羅のサービス", "field": "tourism", "scope": "regional", "found_on": "2030-06-01"}
SMART_IDEA = {"title": "監査網羅のアイデア", "proposed_on": "2030-06-01", "proposer_name": "県 観光課"}
SMART_NEED = {"tenant_code": "431001", "fiscal_year": 2030, "field": "tourism", "title": "監査網羅の課題"}


def owed(ctx: Ctx, *, submitted: bool = False) -> int:
    """A project plan the secretariat owes (issue 57 item 2); ``submitted``: a version awaits inspection (submitted
    by another person than the caller)."""
    from governance import submissions

    row = submissions.open_submission(ctx.db, ctx.operator, kind="project_plan", title="プロジェクト計画書",
                                      due_on="2040-06-01", contractor="secretariat",
                                      refers_to=f"plan-{uuid.uuid4().hex[:8]}")
    if submitted:
        submissions.submit(ctx.db, CONTRACTED_SECRETARIAT, row.id, text="計画")
    ctx.db.commit()
    return row.id


CONTRACTED_SECRETARIAT = Actor(issuer="urn:test", subject="secretariat-writer", name="事務局 担当",
                               roles=frozenset({"secretariat"}))


def secretariat_headers(ctx: Ctx) -> dict:
    return ctx.users(("secretariat",), None)[1]


def op(ctx: Ctx, method: str, url: str, json=None) -> Call:
    return Call(method, url, ctx.as_operator, json)


def member_file(rows: int, *, faulty: bool = False, dry_run: bool = True) -> dict:
    """A member list for the import (bench.member_files), base64 in the API's body; ``faulty``: three bad rows."""
    import base64

    from bench import member_files

    made = member_files.member_rows(rows)
    raw = member_files.as_csv(member_files.faulty(made) if faulty else made)
    return {"content_base64": base64.b64encode(raw).decode("ascii"), "dry_run": dry_run}


def api_client_body(**fields) -> dict:
    return {"name": "監査網羅", "purpose": "試験", "scopes": ["broker.read"], "allowlist": ["192.0.2.0/24"],
            "expires_on": (dt.date.today() + dt.timedelta(days=30)).isoformat(), **fields}


def api_client(ctx: Ctx, code: str = "431001", *, revoked: bool = False) -> int:
    """A client of ``code`` created through the API (issue 15); its id."""
    ctx.tenants(code)
    response = ctx.client.post(f"/api/v1/tenants/{code}/api-clients", json=api_client_body(), headers=ctx.as_operator)
    assert response.status_code == 201, response.get_json()
    number = response.get_json()["client"]["id"]
    if revoked:
        assert ctx.client.post(f"/api/v1/api-clients/{number}/revoke", headers=ctx.as_operator).status_code == 200
    return number


def waiting_request(ctx: Ctx) -> int:
    """A registration by 熊本市's admin asking for a write scope, waiting for the operator (issue 26); its request's id."""
    ctx.tenants("431001")
    response = ctx.client.post("/api/v1/tenants/431001/api-clients", json=api_client_body(scopes=["broker.write"]),
                               headers=ctx.admin_of("431001"))
    assert response.status_code == 201 and response.get_json()["client"]["status"] == "pending", response.get_json()
    waiting = ctx.client.get("/api/v1/api-client-requests", headers=ctx.as_operator).get_json()["items"]
    return next(r["id"] for r in waiting if r["client"] == response.get_json()["client"]["id"])


SERVICE_WINDOW = {"title": "定期更新", "starts_at": "2099-01-05T10:00:00+09:00", "ends_at": "2099-01-05T11:00:00+09:00",
                  "component_keys": ["ckan", "dcat"], "tenant_codes": ["431001"]}
SERVICE_SETTINGS = {"target_basis_points": 9950, "outage_after_minutes": 5, "maintenance_weekdays_only": True,
                    "maintenance_start_hour": 9, "maintenance_end_hour": 17}
POLICY = {"max_prefix_v4": 20, "max_prefix_v6": 56, "approval_scopes": ["broker.write"], "max_expiry_days": 180}


DATASET = {"provider_code": "431001", "title_ja": "駐輪場一覧", "category_code": "transport", "licence_code": "CC-BY-4.0",
           "description": "市内の駐輪場。", "department": "自転車利用推進課", "contact_email": "bike@example.jp"}


def dataset(ctx: Ctx, status: str = "draft", **fields) -> str:
    """A dataset of 熊本市 (issue 22) moved as far as ``status``; its uid."""
    from catalogue import operations

    ctx.tenants("431001")
    created = operations.register(ctx.db, ctx.operator, operations.DatasetDraft(**{**DATASET, **fields}))
    for verb in {"draft": (), "submitted": ("submit",), "published": ("submit", "publish")}[status]:
        operations.move(ctx.db, ctx.operator, created.uid, verb)
    ctx.db.commit()
    return created.uid


def accept_terms(ctx: Ctx, good: bool) -> Call:
    """八代市's admin accepts the terms of a published members-only dataset of 熊本市 with terms of its own."""
    from catalogue import operations, terms

    ctx.tenants("432024")
    uid = dataset(ctx, licence_code="own-terms", access="members")
    version = terms.revise(ctx.db, ctx.operator, uid, "利用規約", "会員の業務にのみ利用できます。")
    for verb in ("submit", "publish"):
        operations.move(ctx.db, ctx.operator, uid, verb)
    ctx.db.commit()
    return Call("POST", f"/api/v1/dataset-terms/{uid}/acceptances", ctx.admin_of("432024"),
                {"number": 1, "content_hash": version.content_hash if good else "0" * 64})


def b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode("cp932")).decode()


WAVE_CSV = ("団体コード,担当者名,メールアドレス,申込書受領,参加資格確認,反社会的勢力でないことの確認,協定同意\n"
            "433691,和水 花子,dx-admin@nagomi.example.jp,済,済,済,済\n")

# --- the table ------------------------------------------------------------------------------------

def consent_service(ctx: Ctx, *, approve: bool = True) -> int:
    """A service of 熊本市 that receives personal data (issue 23), approved unless told otherwise; its id."""
    from residents.consent import operations as consent

    ctx.tenants("431001")
    consent.ensure_default_levels(ctx.db, ctx.operator)
    service = consent.register_service(ctx.db, ctx.operator, {**CONSENT_SERVICE, "owner_code": "431001"})
    if approve:
        consent.move_service(ctx.db, ctx.operator, service.id, "approve")
    ctx.db.commit()
    return service.id


def consent_body(ctx: Ctx, service_id: int, **fields) -> dict:
    from residents.consent import operations as consent

    text = consent.current_text(ctx.db, consent.get_service(ctx.db, service_id))
    return {"service_id": service_id, "tenant_code": "431001", "subject_id": "pid-audit-coverage-1",
            "content_hash": text.content_hash, "method": "paper", "assurance_level": 2, **fields}


def clerk_of(ctx: Ctx, code: str = "431001") -> dict:
    return ctx.users(("municipal-staff",), code)[1]


def consented(ctx: Ctx) -> int:
    service_id = consent_service(ctx)
    response = ctx.client.post("/api/v1/consent/records", json=consent_body(ctx, service_id), headers=clerk_of(ctx))
    assert response.status_code == 201, response.get_json()
    return service_id


RESIDENT = {"full_name": "監査 太郎", "address": "熊本市中央区水前寺6-18-1", "birth_date": "1980-04-01", "sex": "1",
            "verification": "my_number_card", "assurance_level": 3}


def desk_of(ctx: Ctx, code: str = "431001") -> dict:
    return ctx.users(("resident-desk",), code)[1]


def enrolled(ctx: Ctx, **fields) -> dict:
    """A resident enrolled at Kumamoto's counter (issue 42; the city and the levels set up by consent_service):
    the API's answer (a common ID, or a review)."""
    response = ctx.client.post("/api/v1/tenants/431001/residents", json={**RESIDENT, **fields}, headers=desk_of(ctx))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def linking(ctx: Ctx, service_id: int) -> Call:
    common_id = enrolled(ctx)["common_id"]
    return Call("POST", f"/api/v1/tenants/431001/residents/{common_id}/links", desk_of(ctx),
                {"service_id": service_id, "service_user_id": "audit-user-0001", "assurance_level": 3})


def service_lookup(ctx: Ctx) -> Call:
    """A look-up by the service's user ID of a resident linked to it."""
    link = linking(ctx, consent_service(ctx))
    assert ctx.client.post(link.url, json=link.json, headers=link.headers).status_code == 201
    return Call("POST", "/api/v1/tenants/431001/residents/lookup-by-service", desk_of(ctx),
                {"service_id": link.json["service_id"], "service_user_id": "audit-user-0001", "reason": "監査網羅の確認"})


def disclosing(ctx: Ctx, items: list[str]) -> Call:
    """A disclosure range for the service a resident is linked to."""
    link = linking(ctx, consent_service(ctx))
    assert ctx.client.post(link.url, json=link.json, headers=link.headers).status_code == 201
    return Call("PUT", link.url.removesuffix("/links") + "/disclosure", desk_of(ctx),
                {"service_id": link.json["service_id"], "items": items, "reason": "本人の申出"})


def link_code_call(ctx: Ctx, *, own: bool = True) -> Call:
    """A one-time link code asked by a service's API client (scope residents:broker) for one of its user IDs: its
    own service, or (refused, not found) a service another client is the client of."""
    from residents.consent.models import DataService
    from tenancy.identity.keycloak import client_credentials_token

    service_id = consent_service(ctx)
    created = ctx.client.post("/api/v1/tenants/431001/api-clients", headers=ctx.admin_of("431001"), json=api_client_body(
        name="監査網羅の仲介", scopes=["residents:broker"], allowlist=["127.0.0.1/32"]))
    assert created.status_code == 201, created.get_json()
    answer = created.get_json()
    if own:  # no operation moves a service to another client: set as the schema owner (not the app's role)
        from tests.conftest import owner_bind

        with owner_bind(ctx.db).begin() as connection:
            connection.execute(sa.update(DataService).where(DataService.id == service_id)
                               .values(api_client_id=answer["client"]["id"]))
        ctx.db.expire_all()
    token = client_credentials_token(ctx.directory.settings, answer["client_id"], answer["client_secret"])["access_token"]
    return Call("POST", "/api/v1/residents/link-codes", {"Authorization": f"Bearer {token}"},
                {"service_id": service_id, "service_user_id": "audit-user-0001"})


def split_call(ctx: Ctx) -> Call:
    """A proposal to split the link of a resident linked to a service of the city."""
    link = linking(ctx, consent_service(ctx))
    assert ctx.client.post(link.url, json=link.json, headers=link.headers).status_code == 201
    return Call("POST", "/api/v1/tenants/431001/resident-recoveries/split", desk_of(ctx),
                {"common_id": link.url.split("/")[-2], "service_id": link.json["service_id"], "reason": "別人のID"})


def split_proposal(ctx: Ctx) -> tuple[int, dict]:
    """A split of a resident's link proposed by the city's residents' desk: its id, and a second person of the desk."""
    call = split_call(ctx)
    made = ctx.client.post(call.url, headers=call.headers, json=call.json)
    assert made.status_code == 201, made.get_json()
    return made.get_json()["id"], ctx.users(("resident-desk",), "431001", fresh=True)[1]


def merging(ctx: Ctx, *, same: bool = False) -> Call:
    consent_service(ctx)
    first = enrolled(ctx)["common_id"]
    second = first if same else enrolled(ctx, full_name="別人 花子", birth_date="1990-02-02")["common_id"]
    return Call("POST", "/api/v1/tenants/431001/resident-recoveries/merge", desk_of(ctx),
                {"surviving_common_id": first, "merged_common_id": second, "reason": "同一人物の二重登録"})


def recovery_call(ctx: Ctx, action: str, *, by_proposer: bool, body: dict | None = None) -> Call:
    recovery_id, second = split_proposal(ctx)
    return Call("POST", f"/api/v1/tenants/431001/resident-recoveries/{recovery_id}/{action}",
                desk_of(ctx) if by_proposer else second, body if body is not None else {"reason": "確認しました"})


def resident_review(ctx: Ctx) -> int:
    consent_service(ctx)
    enrolled(ctx)
    return enrolled(ctx, full_name="監査　太郎")["review_id"]


TEXT_V2 = {"title": "第2版", "body_ja": "所得も利用します。", "purposes": ["子育て支援サービスの案内"],
           "items": {"生年月日": {}, "所得": {}}}


def platform_incident(ctx: Ctx, *, first: bool = False, recovered: bool = False) -> int:
    """An incident of the register (issue 39), the prefecture's settings set for its letters; its id."""
    from service.incidents import operations as incidents
    from tenancy.registry.prefecture import PrefectureSettingsIn, update_settings
    from tenancy.registry.sample import KUMAMOTO_SETTINGS

    ctx.tenants("430005", kind="prefecture")
    update_settings(ctx.db, ctx.operator, PrefectureSettingsIn.model_validate(KUMAMOTO_SETTINGS))
    detected = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    incident = incidents.open_incident(ctx.db, ctx.operator, incidents.IncidentDraft(title="監査網羅の障害", detected_at=detected))
    if first:
        incidents.send_first_report(ctx.db, ctx.operator, incident.id)
    if recovered:
        incidents.add_entry(ctx.db, ctx.operator, incident.id, "recovered", "復旧")
    ctx.db.commit()
    return incident.id


FINAL_REPORT = {"cause": "原因", "impact": "影響", "response": "対応", "prevention": "再発防止策"}


def breach_body(ctx: Ctx) -> dict:
    """A breach of 熊本市's residents as the API marks it (issue 56 item 4), on a service of 熊本市."""
    known = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
    return {"tenant_code": "431001", "kind": "leak", "window_start": (known - dt.timedelta(days=2)).isoformat(),
            "window_end": (known - dt.timedelta(days=1)).isoformat(), "known_at": known.isoformat(),
            "service_ids": [consent_service(ctx)]}


def marked_breach(ctx: Ctx) -> int:
    """An incident marked as a breach of 熊本市's residents; the breach's id."""
    from service import breaches

    body = breach_body(ctx)
    breach = breaches.mark_breach(ctx.db, ctx.operator, platform_incident(ctx), breaches.BreachDraft(
        tenant_code=body["tenant_code"], kind=body["kind"], window_start=dt.datetime.fromisoformat(body["window_start"]),
        window_end=dt.datetime.fromisoformat(body["window_end"]), known_at=dt.datetime.fromisoformat(body["known_at"]),
        service_ids=body["service_ids"]))
    ctx.db.commit()
    return breach.id



# --- the project competition (issue 41): calls of a year whose deadlines are ahead (2040) or passed (2025)

def competition_call(ctx: Ctx, fiscal_year: int = 2040, *, publish: bool = True) -> int:
    from competition import operations as comp

    call = comp.create_call(ctx.db, ctx.operator, fiscal_year)
    if publish:
        comp.publish_call(ctx.db, ctx.operator, call.id)
        if fiscal_year == 2040:  # opened an hour ago (its template's 公募開始 is in March 2040): applicants act now
            from tests.competition.conftest import opened_now
            opened_now(ctx.db, ctx.operator, call)
    ctx.db.commit()
    return call.id


def competition_question(ctx: Ctx, *, answered: bool = True) -> tuple[int, int]:
    """A question of 熊本市 on the 2040 call (answered, not published); (call id, question id)."""
    from competition import operations as comp

    call_id = competition_call(ctx)
    row = comp.ask(ctx.db, ctx.operator, call_id, "CSV での登録でもよいですか。", asked_for="431001")
    if answered:
        comp.answer(ctx.db, ctx.operator, row.id, "可能です。")
    ctx.db.commit()
    return call_id, row.id


def competition_documents() -> dict:
    import base64

    pdf = base64.b64encode(b"%PDF-1.4\n1 0 obj << /Type /Page >> endobj\n").decode()
    return {"documents": [{"kind": kind, "filename": f"{kind}.pdf", "content_base64": pdf}
                          for kind in ("participation_form", "company_profile", "pledge")]}


def competition_declared(ctx: Ctx) -> str:
    """The project group 提案B declared on the 2040 call; the proposal's address."""
    call_id, group_id = competition_call(ctx), project_group(ctx)
    response = ctx.client.post(f"/api/v1/competition/calls/{call_id}/groups/{group_id}/declaration",
                               json=competition_documents(), headers=ctx.as_operator)
    assert response.status_code == 201, response.get_data(as_text=True)
    return f"/api/v1/competition/calls/{call_id}/groups/{group_id}/proposal"


def competition_proposal(total_yen: int) -> dict:
    import base64

    from tests.competition.conftest import pdf_of

    return {"proposal": {"filename": "企画提案書.pdf", "content_base64": base64.b64encode(pdf_of(3)).decode()},
            "lines": [{"item": "人件費", "amount_yen": total_yen}], "total_yen": total_yen}



def competition_review(ctx: Ctx, *, points: int = 80) -> tuple[str, dict]:
    """The 2040 call with 提案B's proposal and the operator's account assigned as its reviewer: the scores'
    address and a body of marks (``points`` on the first scored criterion)."""
    from competition import operations as comp
    from competition import review
    from tests.competition.conftest import pdf_of, proposals_closed

    call_id, group_id = competition_call(ctx), project_group(ctx)
    docs = [comp.Upload(k, f"{k}.pdf", pdf_of(1)) for k in ("participation_form", "company_profile", "pledge")]
    comp.declare(ctx.db, ctx.operator, call_id, group_id, docs)
    comp.submit_proposal(ctx.db, ctx.operator, call_id, group_id, comp.Upload("proposal", "p.pdf", pdf_of(2)),
                         [comp.Line("人件費", 4_000_000)], 4_000_000)
    proposals_closed(ctx.db, ctx.operator, call_id)  # the review starts once proposals are closed
    review.assign_reviewer(ctx.db, ctx.operator, ctx.directory, call_id, ctx.users(("platform-operator",))[0].id)
    marks = [{"criterion_id": c.id, "passed": True} if c.kind.value == "gate" else
             {"criterion_id": c.id, "points": points if n == 1 else 10, "comment": "良い"}
             for n, c in enumerate(comp.criteria(ctx.db, call_id))]
    ctx.db.commit()
    return f"/api/v1/competition/calls/{call_id}/stages/first/groups/{group_id}/scores", {"marks": marks}


def competition_proposed(ctx: Ctx) -> str:
    """提案B declared and its proposal submitted on the 2040 call; the group's address."""
    path = competition_declared(ctx)
    response = ctx.client.post(path, json=competition_proposal(4_800_000), headers=ctx.as_operator)
    assert response.status_code == 201, response.get_data(as_text=True)
    return path.removesuffix("/proposal")


def competition_scored(ctx: Ctx) -> tuple[str, dict]:
    """提案B scored by the operator's account as the 2040 call's reviewer (the stage open); the correction's
    address and a body of marks different from the first ones."""
    from competition import review

    path, body = competition_review(ctx)
    reviewer = Actor(issuer="urn:test", subject=ctx.users(("platform-operator",))[0].id, name="審査 運営者",
                     roles=frozenset({"platform-operator"}))
    review.score(ctx.db, reviewer, int(path.split("/")[5]), "first", int(path.split("/")[9]),
                 [review.Mark(m["criterion_id"], m.get("passed"), m.get("points", 0), m.get("comment", "")) for m in body["marks"]])
    ctx.db.commit()
    return path + "/correct", competition_review_marks(body, 70)


def competition_review_marks(body: dict, points: int) -> dict:
    """The marks of ``body`` with ``points`` on the first scored criterion."""
    marks = [dict(m) for m in body["marks"]]
    next(m for m in marks if "points" in m)["points"] = points
    return {"marks": marks}


def competition_closed(ctx: Ctx) -> tuple[str, dict]:
    """The 2040 call's first stage scored by its one reviewer and closed, with the prefecture's settings for the
    letters: the selection's address and a body choosing 提案B."""
    from competition import review
    from tenancy.registry.prefecture import PrefectureSettingsIn, update_settings
    from tenancy.registry.sample import KUMAMOTO_SETTINGS

    path, body = competition_review(ctx)
    call_id, group_id = int(path.split("/")[5]), int(path.split("/")[9])
    reviewer = Actor(issuer="urn:test", subject=ctx.users(("platform-operator",))[0].id, name="審査 運営者",
                     roles=frozenset({"platform-operator"}))
    review.score(ctx.db, reviewer, call_id, "first", group_id,
                 [review.Mark(m["criterion_id"], m.get("passed"), m.get("points", 0), m.get("comment", "")) for m in body["marks"]])
    review.close_stage(ctx.db, ctx.operator, call_id, "first")
    update_settings(ctx.db, ctx.operator, PrefectureSettingsIn.model_validate(KUMAMOTO_SETTINGS))
    ctx.db.commit()
    return f"/api/v1/competition/calls/{call_id}/stages/first/selection", {"group_ids": [group_id]}


def competition_unfilled(ctx: Ctx) -> int:
    """The 2040 call closed without a selection (no proposal); its id."""
    from competition import review

    call_id = competition_call(ctx)
    review.close_without_selection(ctx.db, ctx.operator, call_id, "応募なし")
    ctx.db.commit()
    return call_id


def competition_reviewer(ctx: Ctx) -> int:
    """The 2040 call with the operator's account assigned as its reviewer; the call's id."""
    from competition import review

    call_id = competition_call(ctx)
    review.assign_reviewer(ctx.db, ctx.operator, ctx.directory, call_id, ctx.users(("platform-operator",))[0].id)
    ctx.db.commit()
    return call_id


def competition_chosen(ctx: Ctx) -> tuple[int, int]:
    """The 2040 call whose final selection chose 提案B (both stages scored by one reviewer); (call id, group id)."""
    from competition import operations as comp
    from competition import review, selection

    path, body = competition_closed(ctx)
    call_id, group_id = int(path.split("/")[5]), body["group_ids"][0]
    selection.select(ctx.db, ctx.operator, call_id, "first", [group_id])
    reviewer = Actor(issuer="urn:test", subject=ctx.users(("platform-operator",))[0].id, name="審査 運営者",
                     roles=frozenset({"platform-operator"}))
    marks = [review.Mark(c.id, True, 0, "") if c.kind.value == "gate" else review.Mark(c.id, None, 10, "")
             for c in comp.criteria(ctx.db, call_id)]
    review.score(ctx.db, reviewer, call_id, "second", group_id, marks)
    review.close_stage(ctx.db, ctx.operator, call_id, "second")
    selection.select(ctx.db, ctx.operator, call_id, "second", [group_id])
    ctx.db.commit()
    return call_id, group_id


def contract_body(amount_yen: int = 4_800_000) -> dict:
    return {"representative": "9000020431001", "amount_yen": amount_yen, "starts_on": "2040-06-01",
            "ends_on": "2041-03-27", "signed_on": "2040-06-01",
            "lines": [{"category": "labour", "item": "人件費", "amount_yen": amount_yen}],
            "items": [{"kind": "report", "title": "実績報告書", "due_on": "2041-03-20"}]}


def competition_contract(ctx: Ctx) -> tuple[int, int]:
    """提案B's contract on the 2040 call; (contract id, its report's id)."""
    from competition import contracts

    call_id, group_id = competition_chosen(ctx)
    body = contract_body()
    row = contracts.create_contract(ctx.db, ctx.operator, call_id, group_id, contracts.Terms(
        body["representative"], body["amount_yen"], dt.date(2040, 6, 1), dt.date(2041, 3, 27), dt.date(2040, 6, 1)),
        [contracts.BudgetLine("labour", "人件費", body["amount_yen"])],
        [contracts.Deliverable("report", "実績報告書", dt.date(2041, 3, 20))])
    ctx.db.commit()
    return row.id, contracts.deliverables(ctx.db, row.id)[0].id


def competition_grant(ctx: Ctx, fiscal_year: int = 2040) -> int:
    from billing import grants
    from billing.schemas import GrantCreate

    grant = grants.create_grant(ctx.db, FINANCE_OFFICER, GrantCreate.model_validate({
        "fiscal_year": fiscal_year, "name": f"交付金 {uuid.uuid4().hex[:6]}", "grantor": "内閣府", "rate": "1/2",
        "categories": ["overhead"], "applied_amount": 6_000_000}))
    ctx.db.commit()
    return grant.id


TABLE: dict[tuple[str, str], Entry] = {
    # tenant registry
    ("POST", "/api/v1/tenants"): Entry(
        success=lambda c: op(c, "POST", "/api/v1/tenants", {"code": "432024", "name_ja": "八代市", "name_en": "Yatsushiro",
                                                             "kind": "city", "population": 123067}),
        refused=lambda c: (c.tenants("431001"), op(c, "POST", "/api/v1/tenants", {
            "code": "431001", "name_ja": "熊本市", "name_en": "Kumamoto", "kind": "designated_city", "population": 1}))[1]),
    ("PATCH", "/api/v1/tenants/{code}"): Entry(
        success=lambda c: (c.tenants("431001"), op(c, "PATCH", "/api/v1/tenants/431001", {"population": 740000}))[1],
        refused=lambda c: (c.tenants("431001"), op(c, "PATCH", "/api/v1/tenants/431001",
                                                   {"population": 740000, "name_ja": None}))[1]),
    # users (Keycloak)
    ("POST", "/api/v1/tenants/{code}/users"): Entry(
        success=lambda c: (c.tenants("434230"), op(c, "POST", "/api/v1/tenants/434230/users", {
            "username": f"staff-{uuid.uuid4().hex[:8]}", "email": f"{uuid.uuid4().hex[:8]}@example.jp",
            "first_name": "花子", "last_name": "熊本", "roles": ["municipal-staff"]}))[1],
        refused=lambda c: (c.tenants("434230"), Call("POST", "/api/v1/tenants/434230/users", c.admin_of("434230"), {
            "username": f"aud-{uuid.uuid4().hex[:8]}", "email": f"{uuid.uuid4().hex[:8]}@example.jp",
            "first_name": "次郎", "last_name": "熊本", "roles": ["auditor"]}))[1]),
    ("PUT", "/api/v1/tenants/{code}/users/{user_id}/roles"): Entry(
        success=lambda c: (c.tenants("434230"), op(c, "PUT", f"/api/v1/tenants/434230/users/{c.fresh_user('434230')}/roles",
                                                   {"roles": ["municipal-admin"]}))[1],
        refused=lambda c: (c.tenants("434230"), Call("PUT", f"/api/v1/tenants/434230/users/{c.fresh_user('434230')}/roles",
                                                     c.admin_of("434230"), {"roles": ["platform-operator"]}))[1]),
    ("POST", "/api/v1/tenants/{code}/users/{user_id}/disable"): Entry(
        success=lambda c: (c.tenants("434230"), op(c, "POST", f"/api/v1/tenants/434230/users/{c.fresh_user('434230')}/disable"))[1],
        refused=lambda c: (c.tenants("434230"), c.tenants("434426"),
                           op(c, "POST", f"/api/v1/tenants/434230/users/{c.fresh_user('434426')}/disable"))[2]),
    ("POST", "/api/v1/tenants/{code}/users/{user_id}/enable"): Entry(
        success=lambda c: (c.tenants("434230"), (uid := c.fresh_user("434230")), c.directory.set_enabled(uid, False),
                           op(c, "POST", f"/api/v1/tenants/434230/users/{uid}/enable"))[3],
        refused=lambda c: (c.tenants("434426", status="suspended"), (uid := c.fresh_user("434426")),
                           c.directory.set_enabled(uid, False), op(c, "POST", f"/api/v1/tenants/434426/users/{uid}/enable"))[3]),
    ("DELETE", "/api/v1/tenants/{code}/users/{user_id}"): Entry(
        success=lambda c: (c.tenants("434230"), op(c, "DELETE", f"/api/v1/tenants/434230/users/{c.fresh_user('434230')}"))[1],
        refused=lambda c: (c.tenants("434230"), op(c, "DELETE", f"/api/v1/tenants/434230/users/{uuid.uuid4()}"))[1]),
    # onboarding lifecycle
    ("POST", "/api/v1/tenants/{code}/screen"): Entry(
        success=lambda c: (c.tenants("434248", status="applied", contacts=CONTACT), op(c, "POST", "/api/v1/tenants/434248/screen", {}))[1],
        refused=lambda c: (c.tenants("434248"), op(c, "POST", "/api/v1/tenants/434248/screen", {}))[1]),
    ("POST", "/api/v1/tenants/{code}/approve"): Entry(
        success=lambda c: (screened(c, "434248"), op(c, "POST", "/api/v1/tenants/434248/approve", {}))[1],
        refused=lambda c: (c.tenants("434248", status="screening", contacts=CONTACT),
                           op(c, "POST", "/api/v1/tenants/434248/approve", {}))[1]),
    ("POST", "/api/v1/tenants/{code}/activate"): Entry(
        success=lambda c: (provisioned(c, "434248"), op(c, "POST", "/api/v1/tenants/434248/activate", {}))[1],
        refused=lambda c: (provisioned(c, "434248"), agreement(c),  # the required agreement is not accepted
                           op(c, "POST", "/api/v1/tenants/434248/activate", {}))[2]),
    ("POST", "/api/v1/tenants/{code}/reapply"): Entry(
        success=lambda c: (c.tenants("434248", status="withdrawn", contacts=CONTACT),
                           op(c, "POST", "/api/v1/tenants/434248/reapply", {"reason": "再参加の申込"}))[1],
        refused=lambda c: (c.tenants("434248", status="withdrawn"), op(c, "POST", "/api/v1/tenants/434248/reapply", {}))[1]),
    ("POST", "/api/v1/tenants/{code}/suspend"): Entry(
        success=lambda c: (c.tenants("434248"), op(c, "POST", "/api/v1/tenants/434248/suspend", {"reason": "負担金の未納"}))[1],
        refused=lambda c: (c.tenants("434248"), op(c, "POST", "/api/v1/tenants/434248/suspend", {}))[1]),
    ("POST", "/api/v1/tenants/{code}/resume"): Entry(
        success=lambda c: (c.tenants("434248", status="suspended"), op(c, "POST", "/api/v1/tenants/434248/resume", {}))[1],
        refused=lambda c: (c.tenants("434248"), op(c, "POST", "/api/v1/tenants/434248/resume", {}))[1]),
    ("POST", "/api/v1/tenants/{code}/withdraw"): Entry(
        success=lambda c: (c.tenants("434248"), op(c, "POST", "/api/v1/tenants/434248/withdraw", {"reason": "事業の終了"}))[1],
        refused=lambda c: (c.tenants("434248"), op(c, "POST", "/api/v1/tenants/434248/withdraw", {}))[1]),
    ("POST", "/api/v1/tenants/{code}/provision"): Entry(
        success=lambda c: (default_plans(c), c.tenants("434248", status="approved", contacts=CONTACT),
                           op(c, "POST", "/api/v1/tenants/434248/provision", {}))[2],
        refused=lambda c: (c.tenants("434248", status="applied", contacts=CONTACT),
                           op(c, "POST", "/api/v1/tenants/434248/provision", {}))[1],
        steps=("tenant.start_provisioning", "provisioning.keycloak_group", "provisioning.admin_invited",
               "provisioning.default_quotas", "provisioning.platform_resources", "tenant.activate")),
    ("POST", "/api/v1/tenants/{code}/retry"): Entry(
        success=lambda c: (default_plans(c), c.tenants("434248", status="provisioning", contacts=CONTACT),
                           op(c, "POST", "/api/v1/tenants/434248/retry", {}))[2],
        refused=lambda c: (c.tenants("434248"), op(c, "POST", "/api/v1/tenants/434248/retry", {}))[1],
        steps=("provisioning.keycloak_group", "provisioning.admin_invited", "provisioning.default_quotas",
               "provisioning.platform_resources", "tenant.activate")),
    ("PUT", "/api/v1/tenants/{code}/checklist/{checklist}/{item}"): Entry(
        success=lambda c: (c.tenants("434248", status="screening", contacts=CONTACT),
                           op(c, "PUT", "/api/v1/tenants/434248/checklist/screening/application_received", {"checked": True}))[1],
        refused=lambda c: (c.tenants("434248", status="screening", contacts=CONTACT),
                           op(c, "PUT", "/api/v1/tenants/434248/checklist/screening/no_such_item", {"checked": True}))[1]),
    ("POST", "/api/v1/onboarding/waves"): Entry(
        success=lambda c: (default_plans(c), op(c, "POST", "/api/v1/onboarding/waves", {"fiscal_year": "FY2025", "csv": WAVE_CSV}))[1],
        refused=lambda c: op(c, "POST", "/api/v1/onboarding/waves", {"fiscal_year": "昨年", "csv": WAVE_CSV})),
    # usage and quotas
    ("POST", "/api/v1/usage"): Entry(
        success=lambda c: (c.tenants("431001"), op(c, "POST", "/api/v1/usage", {"events": [usage_event("431001")]}))[1],
        refused=lambda c: op(c, "POST", "/api/v1/usage", {"events": [usage_event("432024")]})),  # unknown tenant
    ("PUT", "/api/v1/quota-plans/{plan}"): Entry(
        success=lambda c: op(c, "PUT", "/api/v1/quota-plans/pilot", {"name_ja": "試行", "limits": [{"metric": "api_calls", "limit": 10}]}),
        refused=lambda c: op(c, "PUT", "/api/v1/quota-plans/pilot", {"limits": [{"metric": "api_calls", "limit": 10}]})),
    ("PUT", "/api/v1/tenants/{code}/quota-plan"): Entry(
        success=lambda c: (c.tenants("431001"), quota_plan(c), op(c, "PUT", "/api/v1/tenants/431001/quota-plan", {"plan": "small"}))[2],
        refused=lambda c: (c.tenants("431001"), op(c, "PUT", "/api/v1/tenants/431001/quota-plan", {"plan": "no-such-plan"}))[1]),
    ("PUT", "/api/v1/tenants/{code}/quota-override"): Entry(
        success=lambda c: (c.tenants("431001"), op(c, "PUT", "/api/v1/tenants/431001/quota-override",
                                                   {"metric": "api_calls", "limit": 2000}))[1],
        refused=lambda c: op(c, "PUT", "/api/v1/tenants/431001/quota-override", {"metric": "api_calls", "limit": 2000})),
    # billing
    ("POST", "/api/v1/billing/cost-items"): Entry(
        success=lambda c: fin(c, "POST", "/api/v1/billing/cost-items", COST_ITEM),
        refused=lambda c: (run(c, "approved"), fin(c, "POST", "/api/v1/billing/cost-items", COST_ITEM))[1]),  # year posted
    ("DELETE", "/api/v1/billing/cost-items/{item_id}"): Entry(
        success=lambda c: fin(c, "DELETE", f"/api/v1/billing/cost-items/{cost_item(c)}"),
        refused=lambda c: fin(c, "DELETE", "/api/v1/billing/cost-items/4242")),
    ("POST", "/api/v1/billing/budgets"): Entry(
        success=lambda c: fin(c, "POST", "/api/v1/billing/budgets", {"fiscal_year": 2026, "amounts": {"run": 1_200_000}}),
        refused=lambda c: op(c, "POST", "/api/v1/billing/budgets", {"fiscal_year": 2026, "amounts": {"run": 1}})),
    ("POST", "/api/v1/billing/fiscal-years/{fiscal_year}/close"): Entry(
        success=lambda c: fin(c, "POST", "/api/v1/billing/fiscal-years/2024/close"),
        refused=lambda c: fin(c, "POST", "/api/v1/billing/fiscal-years/2090/close")),  # before its 出納整理期間 ends
    ("POST", "/api/v1/billing/fiscal-years/{fiscal_year}/close/approve"): Entry(
        success=lambda c: (year_close_requested(c), fin(c, "POST", "/api/v1/billing/fiscal-years/2024/close/approve"))[1],
        refused=lambda c: fin(c, "POST", "/api/v1/billing/fiscal-years/2024/close/approve")),  # nothing requested
    ("POST", "/api/v1/billing/fiscal-years/{fiscal_year}/close/withdraw"): Entry(
        success=lambda c: (year_close_requested(c), fin(c, "POST", "/api/v1/billing/fiscal-years/2024/close/withdraw"))[1],
        refused=lambda c: fin(c, "POST", "/api/v1/billing/fiscal-years/2024/close/withdraw")),
    ("POST", "/api/v1/billing/grants"): Entry(
        success=lambda c: fin(c, "POST", "/api/v1/billing/grants", GRANT),
        refused=lambda c: (run(c, "approved"), fin(c, "POST", "/api/v1/billing/grants", GRANT))[1]),  # year posted
    ("PUT", "/api/v1/billing/grants/{grant_id}"): Entry(
        success=lambda c: fin(c, "PUT", f"/api/v1/billing/grants/{grant(c)}", {**GRANT, "decided_amount": 500_000,
                                                                                 "decided_on": "2026-06-01"}),
        refused=lambda c: fin(c, "PUT", "/api/v1/billing/grants/4242", GRANT)),
    ("DELETE", "/api/v1/billing/grants/{grant_id}"): Entry(
        success=lambda c: fin(c, "DELETE", f"/api/v1/billing/grants/{grant(c)}"),
        refused=lambda c: fin(c, "DELETE", "/api/v1/billing/grants/4242")),
    ("POST", "/api/v1/billing/grants/{grant_id}/fix"): Entry(
        success=lambda c: fin(c, "POST", f"/api/v1/billing/grants/{grant(c)}/fix",
                              {"fixed_amount": 450_000, "fixed_on": "2027-05-20"}),
        refused=lambda c: fin(c, "POST", "/api/v1/billing/grants/4242/fix",
                              {"fixed_amount": 450_000, "fixed_on": "2027-05-20"})),
    ("POST", "/api/v1/billing/policies"): Entry(
        success=lambda c: fin(c, "POST", "/api/v1/billing/policies", {"name": "均等割", "components": [{"basis": "equal", "weight": "1"}]}),
        refused=lambda c: op(c, "POST", "/api/v1/billing/policies", {"name": "均等割", "components": [{"basis": "equal", "weight": "1"}]})),
    ("POST", "/api/v1/billing/policies/{policy_id}/adopt"): Entry(
        success=lambda c: fin(c, "POST", f"/api/v1/billing/policies/{policy(c)}/adopt", {}),
        refused=lambda c: fin(c, "POST", "/api/v1/billing/policies/4242/adopt", {})),
    ("POST", "/api/v1/billing/fiscal-years/{fiscal_year}/settlement"): Entry(
        success=lambda c: (provisional_run_to_settle(c),
                           fin(c, "POST", "/api/v1/billing/fiscal-years/2026/settlement"))[1],
        refused=lambda c: fin(c, "POST", "/api/v1/billing/fiscal-years/2026/settlement")),  # nothing to settle
    ("POST", "/api/v1/billing/fiscal-years/{fiscal_year}/estimates"): Entry(
        success=lambda c: (budget_to_estimate(c), fin(c, "POST", "/api/v1/billing/fiscal-years/2027/estimates",
                                                      {"billing_month": "2027-06"}))[1],
        refused=lambda c: fin(c, "POST", "/api/v1/billing/fiscal-years/2027/estimates", {"billing_month": "2027-06"})),
    ("POST", "/api/v1/billing/runs"): Entry(
        success=lambda c: (c.tenants("431001"), policy(c, adopt=True), cost_item(c),
                           fin(c, "POST", "/api/v1/billing/runs", {"fiscal_year": 2026}))[3],
        refused=lambda c: (c.tenants("431001"), policy(c, adopt=True), fin(c, "POST", "/api/v1/billing/runs", {"fiscal_year": 2030}))[2]),
    ("POST", "/api/v1/billing/runs/{run_id}/review"): Entry(
        success=lambda c: fin(c, "POST", f"/api/v1/billing/runs/{run(c)}/review", {}),
        refused=lambda c: fin(c, "POST", f"/api/v1/billing/runs/{run(c, 'discarded')}/review", {})),
    ("POST", "/api/v1/billing/runs/{run_id}/approve"): Entry(
        success=lambda c: fin(c, "POST", f"/api/v1/billing/runs/{run(c, 'reviewed')}/approve"),
        refused=lambda c: fin(c, "POST", f"/api/v1/billing/runs/{run(c)}/approve")),  # not reviewed
    ("POST", "/api/v1/billing/runs/{run_id}/reverse"): Entry(
        success=lambda c: fin(c, "POST", f"/api/v1/billing/runs/{run(c, 'approved')}/reverse", {"reason": "人口の誤り"}),
        refused=lambda c: fin(c, "POST", f"/api/v1/billing/runs/{run(c)}/reverse", {"reason": "人口の誤り"})),  # not posted
    ("POST", "/api/v1/billing/runs/{run_id}/discard"): Entry(
        success=lambda c: fin(c, "POST", f"/api/v1/billing/runs/{run(c)}/discard"),
        refused=lambda c: fin(c, "POST", f"/api/v1/billing/runs/{run(c, 'approved')}/discard")),
    # letters: issuing numbers a posted run's letters; a reissue keeps the number; the operator sets the settings
    ("POST", "/api/v1/billing/runs/{run_id}/letters"): Entry(
        success=lambda c: (prefecture_settings(c), fin(c, "POST", f"/api/v1/billing/runs/{run(c, 'approved')}/letters", {}))[1],
        refused=lambda c: (prefecture_settings(c), fin(c, "POST", f"/api/v1/billing/runs/{run(c)}/letters", {}))[1]),  # not posted
    ("POST", "/api/v1/billing/statements/{code}/{fiscal_year}/letter/reissue"): Entry(
        success=lambda c: (issued_letters(c), fin(c, "POST", "/api/v1/billing/statements/431001/2026/letter/reissue"))[1],
        refused=lambda c: (run(c, "approved"), fin(c, "POST", "/api/v1/billing/statements/431001/2026/letter/reissue"))[1]),
    # a reminder (督促状) for a statement unpaid after its due date; one not yet due is refused
    ("POST", "/api/v1/billing/reminders"): Entry(
        success=lambda c: (overdue_letters(c), fin(c, "POST", "/api/v1/billing/reminders", reminder_body()))[1],
        refused=lambda c: (issued_letters(c), fin(c, "POST", "/api/v1/billing/reminders", reminder_body()))[1]),
    ("PUT", "/api/v1/settings/prefecture"): Entry(
        success=lambda c: op(c, "PUT", "/api/v1/settings/prefecture", settings_body()),
        refused=lambda c: fin(c, "PUT", "/api/v1/settings/prefecture", settings_body())),  # finance reads, never sets
    # payments: from a bank line of an imported file, or asked with a reason and approved by another officer
    ("POST", "/api/v1/billing/payments"): Entry(
        success=lambda c: (c.tenants("431001"), fin(c, "POST", "/api/v1/billing/payments", {
            "tenant_code": "431001", "fiscal_year": 2026, "amount": 1000, "received_on": "2026-06-30", "reference": "振込 0001",
            "reason": "窓口で現金納付"}))[1],
        refused=lambda c: fin(c, "POST", "/api/v1/billing/payments", {
            "tenant_code": "432024", "fiscal_year": 2026, "amount": 1000, "received_on": "2026-06-30", "reference": "振込 0001",
            "reason": "窓口で現金納付"})),  # no such tenant
    ("POST", "/api/v1/billing/payments/{request_id}/approve"): Entry(
        success=lambda c: fin(c, "POST", f"/api/v1/billing/payments/{manual_payment(c)}/approve"),
        refused=lambda c: fin(c, "POST", "/api/v1/billing/payments/999999/approve")),
    ("POST", "/api/v1/billing/bank-files"): Entry(
        success=lambda c: fin(c, "POST", "/api/v1/billing/bank-files", bank_file_body()),
        refused=lambda c: fin(c, "POST", "/api/v1/billing/bank-files", {"content_base64": "MTIzNDU2"})),  # not a bank file
    ("POST", "/api/v1/billing/bank-lines/{line_id}/confirm"): Entry(
        success=lambda c: fin(c, "POST", f"/api/v1/billing/bank-lines/{bank_line(c)}/confirm",
                              {"tenant_code": "431001", "fiscal_year": 2026}),
        refused=lambda c: fin(c, "POST", f"/api/v1/billing/bank-lines/{bank_line(c)}/confirm",
                              {"tenant_code": "431001", "fiscal_year": 2025})),  # nothing owed for FY2025
    ("POST", "/api/v1/billing/bank-lines/confirm-matched"): Entry(
        success=lambda c: (bank_line(c, matching=True), fin(c, "POST", "/api/v1/billing/bank-lines/confirm-matched"))[1],
        refused=lambda c: Call("POST", "/api/v1/billing/bank-lines/confirm-matched", c.users(("auditor",))[1])),
    # governance
    ("POST", "/api/v1/agreements/{document}/versions"): Entry(
        success=lambda c: op(c, "POST", "/api/v1/agreements/operating_rules/versions",
                             {"title": "運用規約", "body_md": "第1条 …", "effective_on": "2025-04-01"}),
        refused=lambda c: (c.tenants("431001"), Call("POST", "/api/v1/agreements/operating_rules/versions", c.admin_of("431001"),
                                                     {"title": "運用規約", "body_md": "第1条 …", "effective_on": "2025-04-01"}))[1]),
    ("POST", "/api/v1/agreements/{document}/versions/{number}/publish"): Entry(
        success=lambda c: (agreement(c, publish=False), op(c, "POST", "/api/v1/agreements/joint_use_agreement/versions/1/publish", {}))[1],
        refused=lambda c: (agreement(c), op(c, "POST", "/api/v1/agreements/joint_use_agreement/versions/1/publish", {}))[1]),
    ("POST", "/api/v1/agreements/{document}/versions/{number}/acceptances"): Entry(
        success=lambda c: (c.tenants("431001"), (v := agreement(c)),
                           Call("POST", "/api/v1/agreements/joint_use_agreement/versions/1/acceptances", c.admin_of("431001"),
                                {"content_hash": v.content_hash}))[2],
        refused=lambda c: (c.tenants("431001"), agreement(c),
                           Call("POST", "/api/v1/agreements/joint_use_agreement/versions/1/acceptances", c.admin_of("431001"),
                                {"content_hash": "f" * 64}))[2]),
    ("POST", "/api/v1/council/proposals"): Entry(
        success=lambda c: (c.tenants("431001"), op(c, "POST", "/api/v1/council/proposals", {
            "title": "議案", "closes_at": (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)).isoformat()}))[1],
        refused=lambda c: (c.tenants("431001"), op(c, "POST", "/api/v1/council/proposals", {
            "title": "議案", "change_type": "adopt_allocation_policy", "params": {"policy_id": 4242},
            "closes_at": (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)).isoformat()}))[1]),
    ("POST", "/api/v1/council/proposals/{proposal_id}/votes"): Entry(
        success=lambda c: Call("POST", f"/api/v1/council/proposals/{council(c)}/votes", c.admin_of("431001"), {"choice": "for"}),
        refused=lambda c: Call("POST", f"/api/v1/council/proposals/{council(c, votes=True)}/votes", c.admin_of("431001"),
                               {"choice": "against"})),
    ("POST", "/api/v1/council/proposals/{proposal_id}/close"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/council/proposals/{council(c, votes=True)}/close"),
        refused=lambda c: op(c, "POST", f"/api/v1/council/proposals/{council(c)}/close")),
    ("POST", "/api/v1/council/proposals/{proposal_id}/withdraw"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/council/proposals/{council(c)}/withdraw", {"reason": "差し替え"}),
        refused=lambda c: (pid := council(c, votes=True), c.client.post(f"/api/v1/council/proposals/{pid}/close", headers=c.as_operator),
                           op(c, "POST", f"/api/v1/council/proposals/{pid}/withdraw", {"reason": "差し替え"}))[2]),
    # consortium members (issue 15)
    ("POST", "/api/v1/members/{corporate_number}/documents"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/members/{member_applied(c)}/documents", {"document": "pledge", "received_on": "2026-04-01"}),
        refused=lambda c: (c.tenants("431001"), Call("POST", f"/api/v1/members/{member_applied(c)}/documents", c.admin_of("431001"),
                                                     {"document": "pledge", "received_on": "2026-04-01"}))[1]),
    ("PUT", "/api/v1/members/{corporate_number}/checklist/{item_id}"): Entry(
        success=lambda c: op(c, "PUT", f"/api/v1/members/{member_applied(c)}/checklist/{first_item(c)}", {"checked": True}),
        refused=lambda c: op(c, "PUT", f"/api/v1/members/{member_applied(c)}/checklist/9999", {"checked": True})),
    ("POST", "/api/v1/members/{corporate_number}/approve"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/members/{member_applied(c, screened_fully=True)}/approve", {
            "reason": "審査完了", "admin_username": f"audit-org-{uuid.uuid4().hex[:6]}", "admin_first_name": "一郎", "admin_last_name": "管理"}),
        refused=lambda c: op(c, "POST", f"/api/v1/members/{member_applied(c)}/approve", {
            "reason": "審査完了", "admin_username": f"audit-org-{uuid.uuid4().hex[:6]}", "admin_first_name": "一郎", "admin_last_name": "管理"}),
        steps=("user.invite",)),
    ("POST", "/api/v1/members/{corporate_number}/reject"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/members/{member_applied(c)}/reject", {"reason": "対象外"}),
        refused=lambda c: op(c, "POST", f"/api/v1/members/{member_applied(c)}/reject", {"reason": "   "})),
    ("POST", "/api/v1/members/{corporate_number}/withdraw"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/members/{member_applied(c)}/withdraw", {"reason": "取下げ"}),
        refused=lambda c: op(c, "POST", "/api/v1/members/8000012050001/withdraw", {"reason": "取下げ"})),
    # a member keeps its own details (issue 58): the secretariat's change applies at once; a waiting change decided
    ("PUT", "/api/v1/members/{corporate_number}/details"): Entry(
        success=lambda c: op(c, "PUT", f"/api/v1/members/{member_applied(c)}/details", DETAILS),
        refused=lambda c: op(c, "PUT", f"/api/v1/members/{member_applied(c)}/details", {**DETAILS, "industry": "Z"})),
    ("POST", "/api/v1/member-changes/{change_id}/approve"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/member-changes/{waiting_change(c)}/approve", {}),
        refused=lambda c: op(c, "POST", "/api/v1/member-changes/9999/approve", {})),
    ("POST", "/api/v1/member-changes/{change_id}/reject"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/member-changes/{waiting_change(c)}/reject", {"reason": "登記と異なる"}),
        refused=lambda c: op(c, "POST", f"/api/v1/member-changes/{waiting_change(c)}/reject", {"reason": "   "})),
    ("POST", "/api/v1/members/checklist"): Entry(
        success=lambda c: op(c, "POST", "/api/v1/members/checklist", {"label_ja": "県内に事業所があること"}),
        refused=lambda c: (c.tenants("431001"), Call("POST", "/api/v1/members/checklist", c.admin_of("431001"),
                                                     {"label_ja": "県内に事業所があること"}))[1]),
    # the secretariat's desk (issue 40): an import is one record; a file with a bad row writes nothing
    ("POST", "/api/v1/members/import"): Entry(
        success=lambda c: op(c, "POST", "/api/v1/members/import", member_file(3, dry_run=False)),
        refused=lambda c: op(c, "POST", "/api/v1/members/import", member_file(500, faulty=True, dry_run=False))),
    ("PUT", "/api/v1/members/recruitment-targets/{fiscal_year}"): Entry(
        success=lambda c: op(c, "PUT", "/api/v1/members/recruitment-targets/2026", {"target": 60}),
        refused=lambda c: (c.tenants("431001"), Call("PUT", "/api/v1/members/recruitment-targets/2026",
                                                     c.admin_of("431001"), {"target": 60}))[1]),
    # the grant's indicators (service.kpis): the year's targets, one record with before and after
    ("PUT", "/api/v1/fiscal-years/{fiscal_year}/kpi-targets"): Entry(
        success=lambda c: op(c, "PUT", "/api/v1/fiscal-years/2026/kpi-targets", {"municipalities": 21, "members": None}),
        refused=lambda c: (c.tenants("431001"), Call("PUT", "/api/v1/fiscal-years/2026/kpi-targets",
                                                     c.admin_of("431001"), {"municipalities": 21}))[1]),
    ("POST", "/api/v1/project-groups"): Entry(
        success=lambda c: (c.tenants("431001"), c.tenants("432024"),
                           op(c, "POST", "/api/v1/project-groups", {"name": "提案A", "representative": "9000020431001",
                                                                    "members": ["9000020431001", "9000020432024"]}))[2],
        refused=lambda c: (c.tenants("431001"), op(c, "POST", "/api/v1/project-groups", {
            "name": "提案A", "representative": "9000020431001", "members": ["9000020431001"]}))[1]),
    ("PUT", "/api/v1/project-groups/{group_id}"): Entry(
        success=lambda c: op(c, "PUT", f"/api/v1/project-groups/{project_group(c)}", {
            "name": "提案B", "representative": "9000020432024", "members": ["9000020431001", "9000020432024"]}),
        refused=lambda c: op(c, "PUT", f"/api/v1/project-groups/{project_group(c)}", {
            "name": "提案B", "representative": "9000020431001", "members": ["9000020431001"]})),
    ("POST", "/api/v1/project-groups/{group_id}/dissolve"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/project-groups/{project_group(c)}/dissolve", {"reason": "事業終了"}),
        refused=lambda c: op(c, "POST", f"/api/v1/project-groups/{project_group(c)}/dissolve", {"reason": "   "})),
    # the secretariat's desk (issue 40 items 3-4)
    ("POST", "/api/v1/smart-services"): Entry(
        success=lambda c: op(c, "POST", "/api/v1/smart-services", SMART_SERVICE),
        refused=lambda c: op(c, "POST", "/api/v1/smart-services", {**SMART_SERVICE, "idea_ids": [999999]})),
    ("PUT", "/api/v1/smart-services/{smart_service_id}"): Entry(
        success=lambda c: op(c, "PUT", f"/api/v1/smart-services/{smart_service(c)}", SMART_SERVICE),
        refused=lambda c: op(c, "PUT", "/api/v1/smart-services/999999", SMART_SERVICE)),
    ("POST", "/api/v1/smart-services/{smart_service_id}/transitions"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/smart-services/{smart_service(c)}/transitions", {"move": "pilot"}),
        refused=lambda c: op(c, "POST", f"/api/v1/smart-services/{smart_service(c)}/transitions", {"move": "run"})),
    ("POST", "/api/v1/smart-service-ideas"): Entry(
        success=lambda c: op(c, "POST", "/api/v1/smart-service-ideas", SMART_IDEA),
        refused=lambda c: op(c, "POST", "/api/v1/smart-service-ideas", {**SMART_IDEA, "proposer_name": ""})),
    ("PUT", "/api/v1/smart-service-ideas/{idea_id}"): Entry(
        success=lambda c: op(c, "PUT", f"/api/v1/smart-service-ideas/{smart_idea(c)}", {**SMART_IDEA, "need_ids": [smart_need(c)]}),
        refused=lambda c: op(c, "PUT", f"/api/v1/smart-service-ideas/{smart_idea(c)}", {**SMART_IDEA, "need_ids": [999999]})),
    ("POST", "/api/v1/smart-service-ideas/{idea_id}/transitions"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/smart-service-ideas/{smart_idea(c)}/transitions", {"move": "study"}),
        refused=lambda c: op(c, "POST", f"/api/v1/smart-service-ideas/{smart_idea(c)}/transitions", {"move": "drop"})),
    ("POST", "/api/v1/municipal-needs"): Entry(
        success=lambda c: (c.tenants("431001"), Call("POST", "/api/v1/municipal-needs", c.admin_of("431001"), SMART_NEED))[1],
        refused=lambda c: (c.tenants("431001"), Call("POST", "/api/v1/municipal-needs", c.admin_of("431001"),
                                                     {**SMART_NEED, "tenant_code": "432024"}))[1]),
    ("PUT", "/api/v1/municipal-needs/{need_id}"): Entry(
        success=lambda c: Call("PUT", f"/api/v1/municipal-needs/{smart_need(c)}", c.admin_of("431001"), SMART_NEED),
        refused=lambda c: Call("PUT", f"/api/v1/municipal-needs/{smart_need(c)}", c.admin_of("431001"),
                               {**SMART_NEED, "field": "not-a-field"})),
    ("PUT", "/api/v1/smart-service-targets/{fiscal_year}"): Entry(
        success=lambda c: op(c, "PUT", "/api/v1/smart-service-targets/2030", {"target": 3}),
        refused=lambda c: op(c, "PUT", "/api/v1/smart-service-targets/2030", {"target": 0})),
    ("POST", "/api/v1/advisers"): Entry(
        success=lambda c: op(c, "POST", "/api/v1/advisers", {"name": "監査 網羅", "fields": "統計", "monthly_hours": 2}),
        refused=lambda c: op(c, "POST", "/api/v1/advisers", {"name": "監査 網羅", "fields": "統計", "monthly_hours": 0})),
    ("PUT", "/api/v1/advisers/{adviser_id}"): Entry(
        success=lambda c: op(c, "PUT", f"/api/v1/advisers/{adviser(c)}", {"name": "監査 網羅", "fields": "統計", "monthly_hours": 3}),
        refused=lambda c: op(c, "PUT", "/api/v1/advisers/999999", {"name": "監査 網羅", "fields": "統計", "monthly_hours": 3})),
    ("POST", "/api/v1/consultations"): Entry(
        success=lambda c: op(c, "POST", "/api/v1/consultations", {"adviser_id": adviser(c), "member_number": adviser_member(c),
                                                                  "starts_at": "2030-07-01T10:00:00", "hours": 1,
                                                                  "topic": "監査網羅"}),
        refused=lambda c: op(c, "POST", "/api/v1/consultations", {"adviser_id": adviser(c), "member_number": "7000012050002",
                                                                  "starts_at": "2030-07-01T10:00:00", "hours": 5,
                                                                  "topic": "監査網羅"})),
    ("POST", "/api/v1/solutions"): Entry(
        success=lambda c: as_member(c, "POST", "/api/v1/solutions", SOLUTION),
        refused=lambda c: as_member(c, "POST", "/api/v1/solutions", {**SOLUTION, "need_ids": [999999]})),
    ("PUT", "/api/v1/solutions/{solution_id}"): Entry(
        success=lambda c: as_member(c, "PUT", f"/api/v1/solutions/{solution(c)}", {**SOLUTION, "title": "変更後"}),
        refused=lambda c: as_member(c, "PUT", "/api/v1/solutions/999999", SOLUTION)),
    ("POST", "/api/v1/solutions/{solution_id}/withdraw"): Entry(
        success=lambda c: as_member(c, "POST", f"/api/v1/solutions/{solution(c)}/withdraw", {"reason": "提供終了"}),
        refused=lambda c: as_member(c, "POST", "/api/v1/solutions/999999/withdraw", {"reason": "提供終了"})),
    ("POST", "/api/v1/consultations/{consultation_id}/record"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/consultations/{consultation(c)}/record", {"held": True, "outcome": "助言"}),
        refused=lambda c: op(c, "POST", f"/api/v1/consultations/{consultation(c)}/record", {"held": True, "outcome": " "})),
    ("POST", "/api/v1/progress/items"): Entry(
        success=lambda c: op(c, "POST", "/api/v1/progress/items", {"title": "監査網羅", "due_on": "2030-06-01",
                                                                   "owner": secretary(c)}),
        refused=lambda c: op(c, "POST", "/api/v1/progress/items", {"title": "監査網羅", "due_on": "2030-06-01",
                                                                   "owner": "typed-by-hand"})),
    ("PATCH", "/api/v1/progress/items/{item_id}"): Entry(
        success=lambda c: op(c, "PATCH", f"/api/v1/progress/items/{work_item(c)}", {"status": "done"}),
        refused=lambda c: op(c, "PATCH", f"/api/v1/progress/items/{work_item(c)}", {"owner": "typed-by-hand"})),
    ("POST", "/api/v1/progress/issues"): Entry(
        success=lambda c: op(c, "POST", "/api/v1/progress/issues", {"title": "監査網羅の課題", "owner": secretary(c)}),
        refused=lambda c: op(c, "POST", "/api/v1/progress/issues", {"title": "監査網羅の課題", "owner": "typed-by-hand"})),
    ("PATCH", "/api/v1/progress/issues/{issue_id}"): Entry(
        success=lambda c: op(c, "PATCH", f"/api/v1/progress/issues/{issue(c)}", {"status": "resolved",
                                                                                "resolution": "解決しました"}),
        refused=lambda c: op(c, "PATCH", f"/api/v1/progress/issues/{issue(c)}", {"status": "resolved"})),
    ("POST", "/api/v1/inquiries"): Entry(
        success=lambda c: op(c, "POST", "/api/v1/inquiries", {"inquirer_kind": "resident", "channel": "mail",
                                                              "category": "fault", "subject": "障害", "question": "?"}),
        refused=lambda c: op(c, "POST", "/api/v1/inquiries", {"inquirer_kind": "resident", "channel": "mail",
                                                              "category": "fault", "subject": "障害", "question": "?",
                                                              "tenant_code": "439999"})),
    ("POST", "/api/v1/inquiries/{inquiry_id}/assign"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/inquiries/{inquiry(c)}/assign", {"assignee_name": "事務局 花子"}),
        refused=lambda c: op(c, "POST", "/api/v1/inquiries/999999/assign", {"assignee_name": "事務局 花子"})),
    ("POST", "/api/v1/inquiries/{inquiry_id}/replies"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/inquiries/{inquiry(c)}/replies", {"body": "回答します"}),
        refused=lambda c: op(c, "POST", f"/api/v1/inquiries/{inquiry(c)}/replies", {"body": "\u0000"}),
        steps=("inquiry.answer",)),
    ("POST", "/api/v1/inquiries/{inquiry_id}/transitions"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/inquiries/{inquiry(c, answered=True)}/transitions", {"move": "close"}),
        refused=lambda c: op(c, "POST", f"/api/v1/inquiries/{inquiry(c)}/transitions", {"move": "close"})),
    ("POST", "/api/v1/events"): Entry(
        success=lambda c: op(c, "POST", "/api/v1/events", {
            "kind": "open_event", "title": "オープンイベント", "starts_at": "2030-09-20T13:00:00+09:00",
            "ends_at": "2030-09-20T17:00:00+09:00", "capacity": 200, "audience": "anyone", "place": "熊本城ホール"}),
        refused=lambda c: op(c, "POST", "/api/v1/events", {
            "kind": "open_event", "title": "オープンイベント", "starts_at": "2030-09-20T13:00:00+09:00",
            "ends_at": "2030-09-20T12:00:00+09:00", "capacity": 200, "audience": "anyone", "place": "熊本城ホール"})),
    ("POST", "/api/v1/events/{event_id}/registrations"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/events/{event(c)[0]}/registrations",
                             {"name": "参加 太郎", "email": "t@example.jp"}),
        refused=lambda c: op(c, "POST", f"/api/v1/events/{event(c, begun=True)[0]}/registrations",
                             {"name": "参加 太郎", "email": "t@example.jp"})),
    ("POST", "/api/v1/event-registrations/{registration_id}/cancel"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/event-registrations/{event(c, registered=2)[1][0]}/cancel"),
        refused=lambda c: op(c, "POST", "/api/v1/event-registrations/999999/cancel"),
        steps=("event.promote",)),
    ("PUT", "/api/v1/events/{event_id}/attendance"): Entry(
        success=lambda c: (lambda made: op(c, "PUT", f"/api/v1/events/{made[0]}/attendance",
                                           {"attended": made[1]}))(event(c, registered=1, begun=True)),
        refused=lambda c: op(c, "PUT", f"/api/v1/events/{event(c)[0]}/attendance", {"attended": []})),
    ("PUT", "/api/v1/events/{event_id}/archive"): Entry(
        success=lambda c: op(c, "PUT", f"/api/v1/events/{event(c, begun=True)[0]}/archive",
                             {"archive_url": "https://video.example.jp/seminar"}),
        refused=lambda c: op(c, "PUT", f"/api/v1/events/{event(c)[0]}/archive",
                             {"archive_url": "https://video.example.jp/seminar"})),
    ("PUT", "/api/v1/event-years/{fiscal_year}/targets/{event_kind}"): Entry(
        success=lambda c: op(c, "PUT", "/api/v1/event-years/2025/targets/member_seminar", {"events": 6, "attendance": 180}),
        refused=lambda c: op(c, "PUT", "/api/v1/event-years/2025/targets/party", {"events": 6, "attendance": 180})),
    # meetings and minutes, the community and working groups (issue 40 items 5 and 6)
    ("POST", "/api/v1/meetings"): Entry(
        success=lambda c: (c.tenants("430005", contacts=CONTACT), op(c, "POST", "/api/v1/meetings", {
            "kind": "prefecture", "title": "11月 定例会", "held_at": "2026-11-20T14:00:00+09:00",
            "attendees": [{"name": "県", "tenant_code": "430005"}]}))[1],
        refused=lambda c: op(c, "POST", "/api/v1/meetings", {
            "kind": "prefecture", "title": "11月 定例会", "held_at": "2026-11-20T14:00:00+09:00",
            "attendees": [{"name": "誰か", "tenant_code": "439999"}]})),
    ("PUT", "/api/v1/meetings/{meeting_id}"): Entry(
        success=lambda c: op(c, "PUT", f"/api/v1/meetings/{meeting(c, minutes='draft')}", {
            "title": "11月 定例会（修正）", "held_at": "2026-11-21T14:00:00+09:00", "place": "県庁",
            "attendees": [{"name": "県", "tenant_code": "430005"}]}),
        refused=lambda c: op(c, "PUT", f"/api/v1/meetings/{meeting(c, minutes='approved')}", {
            "title": "11月 定例会（修正）", "held_at": "2026-11-21T14:00:00+09:00"})),
    ("PUT", "/api/v1/meetings/{meeting_id}/minutes"): Entry(
        success=lambda c: op(c, "PUT", f"/api/v1/meetings/{meeting(c)}/minutes", {"text": "議事"}),
        refused=lambda c: op(c, "PUT", f"/api/v1/meetings/{meeting(c)}/minutes", {"pdf_base64": "UEsDBA==", "filename": "m.zip"})),
    ("POST", "/api/v1/meetings/{meeting_id}/minutes/approve"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/meetings/{meeting(c, minutes='draft')}/minutes/approve"),
        refused=lambda c: op(c, "POST", f"/api/v1/meetings/{meeting(c)}/minutes/approve")),
    ("POST", "/api/v1/meetings/{meeting_id}/minutes/return"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/meetings/{meeting(c, minutes='draft')}/minutes/return",
                             {"reason": "決定事項がありません"}),
        refused=lambda c: op(c, "POST", f"/api/v1/meetings/{meeting(c, minutes='draft')}/minutes/return", {"reason": " "}),
        steps=("submission.return",)),
    # documents a contractor owes the prefecture (issue 57 item 2)
    ("POST", "/api/v1/submissions"): Entry(
        success=lambda c: op(c, "POST", "/api/v1/submissions", {"kind": "deliverable", "title": "成果品",
                                                               "due_on": "2040-06-01", "contractor": "vendor"}),
        refused=lambda c: op(c, "POST", "/api/v1/submissions", {"kind": "deliverable", "title": "成果品"})),
    ("POST", "/api/v1/submissions/{submission_id}/versions"): Entry(
        success=lambda c: Call("POST", f"/api/v1/submissions/{owed(c)}/versions", secretariat_headers(c), {"text": "計画"}),
        refused=lambda c: Call("POST", f"/api/v1/submissions/{owed(c)}/versions", secretariat_headers(c), {"text": " "})),
    ("POST", "/api/v1/submissions/{submission_id}/approve"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/submissions/{owed(c, submitted=True)}/approve"),
        refused=lambda c: op(c, "POST", f"/api/v1/submissions/{owed(c)}/approve")),
    ("POST", "/api/v1/submissions/{submission_id}/return"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/submissions/{owed(c, submitted=True)}/return", {"reason": "不足"}),
        refused=lambda c: op(c, "POST", f"/api/v1/submissions/{owed(c, submitted=True)}/return", {"reason": ""})),
    ("POST", "/api/v1/meetings/{meeting_id}/minutes/publish"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/meetings/{meeting(c, minutes='approved')}/minutes/publish"),
        refused=lambda c: op(c, "POST", f"/api/v1/meetings/{meeting(c, minutes='draft')}/minutes/publish")),
    ("POST", "/api/v1/community-groups"): Entry(
        success=lambda c: op(c, "POST", "/api/v1/community-groups", {"kind": "community", "name": "データ利活用コミュニティ"}),
        refused=lambda c: op(c, "POST", "/api/v1/community-groups", {"kind": "community", "name": "コミュニティ",
                                                                    "purpose": "\x07"})),
    ("PUT", "/api/v1/community-groups/{community_group_id}/target"): Entry(
        success=lambda c: op(c, "PUT", f"/api/v1/community-groups/{community(c)}/target", {"target_members": 25}),
        refused=lambda c: op(c, "PUT", "/api/v1/community-groups/999999/target", {"target_members": 25})),
    ("POST", "/api/v1/community-groups/{community_group_id}/members"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/community-groups/{community(c)}/members", {"corporate_number": "7000012050002"}),
        refused=lambda c: op(c, "POST", f"/api/v1/community-groups/{community(c, member=True)}/members",
                             {"corporate_number": "7000012050002"})),
    ("DELETE", "/api/v1/community-groups/{community_group_id}/members/{corporate_number}"): Entry(
        success=lambda c: op(c, "DELETE", f"/api/v1/community-groups/{community(c, member=True)}/members/7000012050002"),
        refused=lambda c: op(c, "DELETE", f"/api/v1/community-groups/{community(c)}/members/7000012050002")),
    ("PUT", "/api/v1/community-groups/{community_group_id}/council"): Entry(
        success=lambda c: op(c, "PUT", f"/api/v1/community-groups/{working_group(c)}/council", {"under_council": True}),
        refused=lambda c: op(c, "PUT", f"/api/v1/community-groups/{community(c)}/council", {"under_council": True})),
    ("DELETE", "/api/v1/community-groups/{community_group_id}/memberships/{membership_id}"): Entry(
        success=lambda c: op(c, "DELETE", "/api/v1/community-groups/{}/memberships/{}".format(*staff_membership(c))),
        refused=lambda c: op(c, "DELETE", f"/api/v1/community-groups/{working_group(c)}/memberships/999999")),
    # API clients (issue 15)
    ("POST", "/api/v1/tenants/{code}/api-clients"): Entry(
        success=lambda c: (c.tenants("431001"), op(c, "POST", "/api/v1/tenants/431001/api-clients", api_client_body()))[1],
        refused=lambda c: (c.tenants("431001"), op(c, "POST", "/api/v1/tenants/431001/api-clients",
                                                   api_client_body(allowlist=["10.0.0.0/33"])))[1]),
    ("PATCH", "/api/v1/api-clients/{client_id}"): Entry(
        success=lambda c: op(c, "PATCH", f"/api/v1/api-clients/{api_client(c)}", {"allowlist": ["10.1.0.0/16"]}),
        refused=lambda c: op(c, "PATCH", f"/api/v1/api-clients/{api_client(c)}", {"allowlist": ["10.0.0.0/33"]})),
    ("POST", "/api/v1/api-clients/{client_id}/rotate"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/api-clients/{api_client(c)}/rotate", {"overlap_seconds": 60}),
        refused=lambda c: op(c, "POST", f"/api/v1/api-clients/{api_client(c, revoked=True)}/rotate", {})),
    ("POST", "/api/v1/api-clients/{client_id}/revoke"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/api-clients/{api_client(c)}/revoke"),
        refused=lambda c: op(c, "POST", f"/api/v1/api-clients/{api_client(c, revoked=True)}/revoke")),
    ("POST", "/api/v1/api-clients/{client_id}/disable"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/api-clients/{api_client(c)}/disable"),
        refused=lambda c: (c.tenants("432024"), Call("POST", f"/api/v1/api-clients/{api_client(c)}/disable",
                                                     c.admin_of("432024")))[1]),
    ("POST", "/api/v1/api-clients/{client_id}/enable"): Entry(
        success=lambda c: (number := api_client(c), c.client.post(f"/api/v1/api-clients/{number}/disable", headers=c.as_operator),
                           op(c, "POST", f"/api/v1/api-clients/{number}/enable"))[2],
        refused=lambda c: op(c, "POST", f"/api/v1/api-clients/{api_client(c, revoked=True)}/enable")),
    # the operator's approval and policy (issue 26)
    ("POST", "/api/v1/api-client-requests/{request_id}/approve"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/api-client-requests/{waiting_request(c)}/approve", {}),
        refused=lambda c: Call("POST", f"/api/v1/api-client-requests/{waiting_request(c)}/approve",
                               c.admin_of("431001"), {})),
    ("POST", "/api/v1/api-client-requests/{request_id}/reject"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/api-client-requests/{waiting_request(c)}/reject",
                             {"note": "書き込みは不要"}),
        refused=lambda c: op(c, "POST", f"/api/v1/api-client-requests/{waiting_request(c)}/reject", {"note": " "})),
    ("PUT", "/api/v1/api-client-policy"): Entry(
        success=lambda c: op(c, "PUT", "/api/v1/api-client-policy", POLICY),
        refused=lambda c: Call("PUT", "/api/v1/api-client-policy", (c.tenants("431001"), c.admin_of("431001"))[1],
                               POLICY)),
    # the dataset register (issue 22)
    ("POST", "/api/v1/datasets"): Entry(
        success=lambda c: (c.tenants("431001"), op(c, "POST", "/api/v1/datasets", DATASET))[1],
        refused=lambda c: (c.tenants("431001"), op(c, "POST", "/api/v1/datasets", {**DATASET, "licence_code": "GPL"}))[1]),
    ("PUT", "/api/v1/datasets/{uid}"): Entry(
        success=lambda c: op(c, "PUT", f"/api/v1/datasets/{dataset(c)}", {**DATASET, "title_ja": "駐輪場の一覧"}),
        refused=lambda c: op(c, "PUT", f"/api/v1/datasets/{dataset(c)}", {**DATASET, "category_code": "nothing"})),
    ("POST", "/api/v1/datasets/{uid}/check"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/datasets/{dataset(c, standard_kind='aed')}/check",
                             {"content_base64": b64("名称,名称_カナ,住所,設置位置\n市役所,シヤクショ,熊本市,1階\n")}),
        refused=lambda c: op(c, "POST", f"/api/v1/datasets/{dataset(c)}/check", {"content_base64": b64("a\n1\n")})),
    ("POST", "/api/v1/datasets/{uid}/{verb}"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/datasets/{dataset(c)}/submit", {}),
        refused=lambda c: op(c, "POST", f"/api/v1/datasets/{dataset(c, contact_email='', department='')}/submit", {})),
    ("POST", "/api/v1/datasets/{uid}/terms"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/datasets/{dataset(c, licence_code='own-terms')}/terms",
                             {"title": "利用規約", "body_md": "会員の業務にのみ利用できます。"}),
        refused=lambda c: op(c, "POST", f"/api/v1/datasets/{dataset(c)}/terms", {"title": "利用規約", "body_md": "本文"})),
    ("POST", "/api/v1/dataset-terms/{uid}/acceptances"): Entry(
        success=lambda c: accept_terms(c, good=True), refused=lambda c: accept_terms(c, good=False)),
    ("POST", "/api/v1/datasets/import"): Entry(
        success=lambda c: (c.tenants("431001"), op(c, "POST", "/api/v1/datasets/import", {"content_base64": b64(
            "提供者コード,タイトル,分野,ライセンス,更新頻度\n431001,駐輪場一覧,交通,CC-BY-4.0,毎年\n")}))[1],
        refused=lambda c: (c.tenants("431001"), op(c, "POST", "/api/v1/datasets/import", {"content_base64": b64(
            "提供者コード,タイトル,分野,ライセンス,更新頻度\n431001,駐輪場一覧,交通,ひみつ,毎年\n")}))[1],
        steps=("dataset.register",)),
    ("POST", "/api/v1/datasets/reminders"): Entry(
        success=lambda c: (dataset(c, "published", frequency="monthly"), op(c, "POST", "/api/v1/datasets/reminders"))[1],
        refused=lambda c: (dataset(c, "published", frequency="monthly"),
                           Call("POST", "/api/v1/datasets/reminders", c.admin_of("431001")))[1]),
    # the lists a dataset chooses from (issue 22): the operator keeps them
    ("POST", "/api/v1/dataset-categories"): Entry(
        success=lambda c: op(c, "POST", "/api/v1/dataset-categories", {"code": "smart_city", "label_ja": "スマートシティ"}),
        refused=lambda c: op(c, "POST", "/api/v1/dataset-categories", {"code": "tourism", "label_ja": "観光"})),
    ("PUT", "/api/v1/dataset-categories/{category}/active"): Entry(
        success=lambda c: op(c, "PUT", "/api/v1/dataset-categories/tourism/active", {"active": False}),
        refused=lambda c: Call("PUT", "/api/v1/dataset-categories/tourism/active",
                               (c.tenants("431001"), c.admin_of("431001"))[1], {"active": False})),
    ("POST", "/api/v1/dataset-licences"): Entry(
        success=lambda c: op(c, "POST", "/api/v1/dataset-licences", {"code": "ODbL-1.0", "title_ja": "ODbL 1.0",
                                                                     "url": "https://opendatacommons.org/licenses/odbl/1-0/"}),
        refused=lambda c: op(c, "POST", "/api/v1/dataset-licences", {"code": "cc-by-4.0", "title_ja": "重複"})),
    ("PUT", "/api/v1/dataset-licences/{licence}/active"): Entry(
        success=lambda c: op(c, "PUT", "/api/v1/dataset-licences/CC0-1.0/active", {"active": False}),
        refused=lambda c: Call("PUT", "/api/v1/dataset-licences/CC0-1.0/active",
                               (c.tenants("431001"), c.admin_of("431001"))[1], {"active": False})),
    # personal data by consent (issue 23)
    ("PUT", "/api/v1/consent/levels/{level}"): Entry(
        success=lambda c: op(c, "PUT", "/api/v1/consent/levels/4", {"label_ja": "レベル4：対面での本人確認"}),
        refused=lambda c: op(c, "PUT", "/api/v1/consent/levels/4", {"label_ja": "   "})),
    ("POST", "/api/v1/consent/services"): Entry(
        success=lambda c: (consent_service(c), op(c, "POST", "/api/v1/consent/services", {
            **CONSENT_SERVICE, "owner_code": "431001"}))[1],
        refused=lambda c: (consent_service(c), op(c, "POST", "/api/v1/consent/services", {
            **CONSENT_SERVICE, "owner_code": "431001",
            "required_level": 9}))[1]),
    ("POST", "/api/v1/consent/services/{service_id}/texts"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/consent/services/{consent_service(c)}/texts", TEXT_V2),
        refused=lambda c: op(c, "POST", f"/api/v1/consent/services/{consent_service(c)}/texts",
                             {**TEXT_V2, "purposes": ["子育て支援", "子育て支援"]})),
    ("POST", "/api/v1/consent/services/{service_id}/{transition}"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/consent/services/{consent_service(c, approve=False)}/approve", {}),
        refused=lambda c: op(c, "POST", f"/api/v1/consent/services/{consent_service(c)}/approve", {})),
    ("POST", "/api/v1/consent/records"): Entry(
        success=lambda c: Call("POST", "/api/v1/consent/records", clerk_of(c), consent_body(c, consent_service(c))),
        refused=lambda c: Call("POST", "/api/v1/consent/records", clerk_of(c),
                               consent_body(c, consent_service(c), content_hash="0" * 64))),
    # running the platform (issue 39)
    ("POST", "/api/v1/service/components"): Entry(
        success=lambda c: op(c, "POST", "/api/v1/service/components", {"name_ja": "ブローカー", "url": "http://127.0.0.1:9/v"}),
        refused=lambda c: op(c, "POST", "/api/v1/service/components", {"name_ja": "ブローカー", "url": "ftp://127.0.0.1/v"})),
    ("PUT", "/api/v1/service/components/{key}/active"): Entry(
        success=lambda c: op(c, "PUT", "/api/v1/service/components/dcat/active", {"active": False}),
        refused=lambda c: op(c, "PUT", "/api/v1/service/components/dcat/active", {"active": True})),
    ("POST", "/api/v1/service/maintenance"): Entry(
        success=lambda c: (c.tenants("431001"), op(c, "POST", "/api/v1/service/maintenance", SERVICE_WINDOW))[1],
        refused=lambda c: (c.tenants("431001"), op(c, "POST", "/api/v1/service/maintenance", {
            **SERVICE_WINDOW, "starts_at": "2020-01-06T10:00:00+09:00", "ends_at": "2020-01-06T11:00:00+09:00"}))[1],
        steps=("notice.publish",)),
    ("POST", "/api/v1/service/maintenance/{window_id}/cancel"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/service/maintenance/{service_window(c)}/cancel", {"reason": "延期"}),
        refused=lambda c: op(c, "POST", f"/api/v1/service/maintenance/{service_window(c)}/cancel", {"reason": "   "}),
        steps=("notice.publish",)),
    ("PUT", "/api/v1/service/settings"): Entry(
        success=lambda c: op(c, "PUT", "/api/v1/service/settings", {**SERVICE_SETTINGS, "target_basis_points": 9990}),
        refused=lambda c: op(c, "PUT", "/api/v1/service/settings", {**SERVICE_SETTINGS, "maintenance_start_hour": 18})),
    ("POST", "/api/v1/consent/withdrawals"): Entry(
        success=lambda c: Call("POST", "/api/v1/consent/withdrawals", clerk_of(c), {
            "service_id": consented(c), "tenant_code": "431001", "subject_id": "pid-audit-coverage-1", "method": "paper"}),
        refused=lambda c: Call("POST", "/api/v1/consent/withdrawals", clerk_of(c), {
            "service_id": consent_service(c), "tenant_code": "431001", "subject_id": "pid-audit-coverage-1"})),
    ("POST", "/api/v1/service/monthly-reports"): Entry(
        success=lambda c: op(c, "POST", "/api/v1/service/monthly-reports", {"month": "2026-10"}),
        refused=lambda c: op(c, "POST", "/api/v1/service/monthly-reports", {"month": "2099-01"})),
    ("POST", "/api/v1/service/monthly-reports/{report_id}/send"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/service/monthly-reports/{monthly_report(c)}/send"),
        refused=lambda c: op(c, "POST", f"/api/v1/service/monthly-reports/{monthly_report(c, sent=True)}/send")),
    # the residents' side (issue 42): the municipality's residents' desk
    ("POST", "/api/v1/tenants/{code}/residents"): Entry(
        success=lambda c: (consent_service(c), Call("POST", "/api/v1/tenants/431001/residents", desk_of(c), RESIDENT))[1],
        refused=lambda c: (consent_service(c), Call("POST", "/api/v1/tenants/431001/residents", desk_of(c),
                                                    {**RESIDENT, "assurance_level": 42}))[1]),
    ("POST", "/api/v1/tenants/{code}/residents/lookup"): Entry(
        success=lambda c: Call("POST", "/api/v1/tenants/431001/residents/lookup", desk_of(c),
                               {"common_id": (consent_service(c), enrolled(c))[1]["common_id"], "reason": "監査網羅の確認"}),
        refused=lambda c: (consent_service(c), Call("POST", "/api/v1/tenants/431001/residents/lookup", desk_of(c),
                                                    {"common_id": "0000000000000000", "reason": "監査網羅の確認"}))[1]),
    ("POST", "/api/v1/tenants/{code}/residents/lookup-by-service"): Entry(
        success=lambda c: service_lookup(c),
        refused=lambda c: Call("POST", "/api/v1/tenants/431001/residents/lookup-by-service", desk_of(c),
                               {"service_id": consent_service(c), "service_user_id": "audit-user-9999",
                                "reason": "監査網羅の確認"})),
    ("POST", "/api/v1/tenants/{code}/residents/search-by-name"): Entry(
        success=lambda c: Call("POST", "/api/v1/tenants/431001/residents/search-by-name", desk_of(c),
                               {"full_name": (consent_service(c), enrolled(c))[1] and "監査　太郎", "reason": "監査網羅の確認"}),
        refused=lambda c: (consent_service(c), Call("POST", "/api/v1/tenants/431001/residents/search-by-name",
                                                    desk_of(c), {"full_name": "監査 太郎", "reason": " "}))[1],
        steps=("resident.view",)),
    ("POST", "/api/v1/tenants/{code}/residents/{common_id}/links"): Entry(
        success=lambda c: linking(c, consent_service(c)),
        refused=lambda c: (consent_service(c), linking(c, 999999))[1]),
    ("PUT", "/api/v1/tenants/{code}/residents/{common_id}/disclosure"): Entry(
        success=lambda c: disclosing(c, ["生年月日"]),
        refused=lambda c: disclosing(c, ["マイナンバー"])),
    # a service's one-time link code for the residents' portal (issue 42 item 2): its own service only
    ("POST", "/api/v1/residents/link-codes"): Entry(
        success=lambda c: link_code_call(c), refused=lambda c: link_code_call(c, own=False)),
    ("POST", "/api/v1/tenants/{code}/resident-reviews/{review_id}/decide"): Entry(
        success=lambda c: Call("POST", f"/api/v1/tenants/431001/resident-reviews/{resident_review(c)}/decide", desk_of(c),
                               {"same_person": True, "reason": "券面の一致"}),
        refused=lambda c: (consent_service(c), Call("POST", "/api/v1/tenants/431001/resident-reviews/999999/decide",
                                                    desk_of(c), {"same_person": True, "reason": "券面の一致"}))[1]),
    # a notice to the city's residents, shown in the portal (issue 42 item 7); another city's desk is refused
    ("POST", "/api/v1/tenants/{code}/resident-notices"): Entry(
        success=lambda c: (consent_service(c), Call("POST", "/api/v1/tenants/431001/resident-notices", desk_of(c), {
            "title_ja": "窓口の休業", "body_ja": "年末年始は住民窓口を休みます。"}))[1],
        refused=lambda c: (consent_service(c), c.tenants("431010"), Call(
            "POST", "/api/v1/tenants/431001/resident-notices", desk_of(c, "431010"),
            {"title_ja": "窓口の休業", "body_ja": "年末年始は住民窓口を休みます。"}))[2]),
    # recovery (issue 42 item 3): four eyes, each act with its reason
    ("POST", "/api/v1/tenants/{code}/resident-recoveries/split"): Entry(
        success=lambda c: split_call(c),
        refused=lambda c: Call("POST", "/api/v1/tenants/431001/resident-recoveries/split", desk_of(c), {
            "common_id": (consent_service(c), enrolled(c))[1]["common_id"], "service_id": 999999, "reason": "別人のID"})),
    ("POST", "/api/v1/tenants/{code}/resident-recoveries/merge"): Entry(
        success=lambda c: merging(c), refused=lambda c: merging(c, same=True)),
    ("POST", "/api/v1/tenants/{code}/resident-recoveries/{recovery_id}/approve"): Entry(
        success=lambda c: recovery_call(c, "approve", by_proposer=False),
        refused=lambda c: recovery_call(c, "approve", by_proposer=True)),
    ("POST", "/api/v1/tenants/{code}/resident-recoveries/{recovery_id}/refuse"): Entry(
        success=lambda c: recovery_call(c, "refuse", by_proposer=False),
        refused=lambda c: recovery_call(c, "refuse", by_proposer=True)),
    ("POST", "/api/v1/tenants/{code}/resident-recoveries/{recovery_id}/cancel"): Entry(
        success=lambda c: recovery_call(c, "cancel", by_proposer=True),
        refused=lambda c: recovery_call(c, "cancel", by_proposer=False)),
    # the incident register (issue 39)
    ("POST", "/api/v1/incidents"): Entry(
        success=lambda c: op(c, "POST", "/api/v1/incidents", {"title": "監査網羅の障害", "severity": "minor"}),
        refused=lambda c: op(c, "POST", "/api/v1/incidents", {"title": "監査網羅の障害", "tenant_codes": ["432032"]})),
    ("PATCH", "/api/v1/incidents/{incident_id}"): Entry(
        success=lambda c: op(c, "PATCH", f"/api/v1/incidents/{platform_incident(c)}", {"severity": "critical"}),
        refused=lambda c: op(c, "PATCH", f"/api/v1/incidents/{platform_incident(c)}", {"add_tenant_codes": ["432032"]})),
    ("POST", "/api/v1/incidents/{incident_id}/entries"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/incidents/{platform_incident(c)}/entries",
                             {"kind": "workaround", "text": "切り替えました"}),
        refused=lambda c: op(c, "POST", f"/api/v1/incidents/{platform_incident(c)}/entries",
                             {"kind": "note", "text": "検知前", "at": "2020-01-01T00:00:00+09:00"})),
    ("POST", "/api/v1/incidents/{incident_id}/first-report"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/incidents/{platform_incident(c)}/first-report"),
        refused=lambda c: op(c, "POST", f"/api/v1/incidents/{platform_incident(c, first=True)}/first-report")),
    ("POST", "/api/v1/incidents/{incident_id}/close"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/incidents/{platform_incident(c, first=True, recovered=True)}/close",
                             FINAL_REPORT),
        refused=lambda c: op(c, "POST", f"/api/v1/incidents/{platform_incident(c, first=True)}/close", FINAL_REPORT)),
    ("POST", "/api/v1/incidents/{incident_id}/breaches"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/incidents/{platform_incident(c)}/breaches", breach_body(c)),
        refused=lambda c: op(c, "POST", f"/api/v1/incidents/{platform_incident(c)}/breaches",
                             {**breach_body(c), "service_ids": [999999]})),
    ("POST", "/api/v1/breaches/{breach_id}/submissions"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/breaches/{marked_breach(c)}/submissions", {"kind": "preliminary"}),
        refused=lambda c: op(c, "POST", f"/api/v1/breaches/{marked_breach(c)}/submissions", {"kind": "final"})),
    ("POST", "/api/v1/competition/calls"): Entry(
        success=lambda c: op(c, "POST", "/api/v1/competition/calls", {"fiscal_year": 2041}),
        refused=lambda c: (competition_call(c, 2041), op(c, "POST", "/api/v1/competition/calls", {"fiscal_year": 2041}))[1]),
    ("POST", "/api/v1/competition/calls/{call_id}/publish"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/competition/calls/{competition_call(c, publish=False)}/publish"),
        refused=lambda c: op(c, "POST", f"/api/v1/competition/calls/{competition_call(c)}/publish")),
    ("POST", "/api/v1/competition/calls/{call_id}/questions"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/competition/calls/{competition_call(c)}/questions",
                             {"question": "県外企業が代表でもよいですか。", "asked_for": "431001"}),
        refused=lambda c: op(c, "POST", f"/api/v1/competition/calls/{competition_call(c, 2025)}/questions",
                             {"question": "締切後の質問", "asked_for": "431001"})),
    ("POST", "/api/v1/competition/questions/{question_id}/answer"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/competition/questions/{competition_question(c, answered=False)[1]}/answer",
                             {"answer": "可能です。"}),
        refused=lambda c: op(c, "POST", "/api/v1/competition/questions/999999/answer", {"answer": "可能です。"})),
    ("POST", "/api/v1/competition/calls/{call_id}/answers/publish"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/competition/calls/{competition_question(c)[0]}/answers/publish"),
        refused=lambda c: op(c, "POST", f"/api/v1/competition/calls/{competition_question(c, answered=False)[0]}/answers/publish")),
    ("POST", "/api/v1/competition/calls/{call_id}/groups/{group_id}/declaration"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/competition/calls/{competition_call(c)}/groups/{project_group(c)}/declaration",
                             competition_documents()),
        refused=lambda c: op(c, "POST", f"/api/v1/competition/calls/{competition_call(c, 2025)}/groups/{project_group(c)}/declaration",
                             competition_documents())),
    ("POST", "/api/v1/competition/calls/{call_id}/groups/{group_id}/proposal"): Entry(
        success=lambda c: op(c, "POST", competition_declared(c), competition_proposal(4_800_000)),
        refused=lambda c: op(c, "POST", competition_declared(c), competition_proposal(5_000_001))),
    # applicants' rights before a deadline (issue 59 item 2); refused: a group that has not declared, no proposal
    ("POST", "/api/v1/competition/calls/{call_id}/groups/{group_id}/declaration/withdraw"): Entry(
        success=lambda c: op(c, "POST", competition_declared(c).replace("/proposal", "/declaration/withdraw")),
        refused=lambda c: op(c, "POST", f"/api/v1/competition/calls/{competition_call(c)}/groups/{project_group(c)}"
                                        "/declaration/withdraw")),
    ("POST", "/api/v1/competition/calls/{call_id}/groups/{group_id}/declaration/amend"): Entry(
        success=lambda c: op(c, "POST", competition_declared(c).replace("/proposal", "/declaration/amend"),
                             {"documents": competition_documents()["documents"][2:]}),
        refused=lambda c: op(c, "POST", f"/api/v1/competition/calls/{competition_call(c)}/groups/{project_group(c)}"
                                        "/declaration/amend", {"documents": competition_documents()["documents"][2:]})),
    ("POST", "/api/v1/competition/calls/{call_id}/groups/{group_id}/proposal/withdraw"): Entry(
        success=lambda c: op(c, "POST", competition_proposed(c) + "/proposal/withdraw"),
        refused=lambda c: op(c, "POST", competition_declared(c) + "/withdraw")),
    ("POST", "/api/v1/competition/calls/{call_id}/groups/{group_id}/proposal/resubmit"): Entry(
        success=lambda c: op(c, "POST", competition_proposed(c) + "/proposal/resubmit", competition_proposal(4_000_000)),
        refused=lambda c: op(c, "POST", competition_proposed(c) + "/proposal/resubmit", competition_proposal(5_000_001))),
    ("POST", "/api/v1/competition/calls/{call_id}/stages/{stage}/groups/{group_id}/scores/correct"): Entry(
        success=lambda c: op(c, "POST", *competition_scored(c)),
        refused=lambda c: (lambda path, body: op(c, "POST", path + "/correct", body))(*competition_review(c))),
    ("POST", "/api/v1/competition/calls/{call_id}/reviewers"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/competition/calls/{competition_call(c)}/reviewers",
                             {"subject": c.users(("municipal-staff",), "431001")[0].id}),
        refused=lambda c: op(c, "POST", f"/api/v1/competition/calls/{competition_reviewer(c)}/reviewers",
                             {"subject": c.users(("platform-operator",))[0].id})),
    ("POST", "/api/v1/competition/calls/{call_id}/conflicts"): Entry(
        success=lambda c: (lambda parts: op(c, "POST", f"/api/v1/competition/calls/{parts[5]}/conflicts",
                                            {"group_id": int(parts[9]), "note": "役員を兼任"}))(competition_review(c)[0].split("/")),
        refused=lambda c: op(c, "POST", f"/api/v1/competition/calls/{competition_call(c)}/conflicts",
                             {"group_id": project_group(c)})),  # not a reviewer of this call
    ("POST", "/api/v1/competition/calls/{call_id}/stages/{stage}/groups/{group_id}/scores"): Entry(
        success=lambda c: op(c, "POST", *competition_review(c)),
        refused=lambda c: op(c, "POST", *competition_review(c, points=101))),  # over the maximum of 100
    ("POST", "/api/v1/competition/calls/{call_id}/stages/{stage}/close"): Entry(
        success=lambda c: op(c, "POST", "/api/v1/competition/calls/{}/stages/first/close".format(
            competition_review(c)[0].split("/")[5])),
        refused=lambda c: op(c, "POST", "/api/v1/competition/calls/999999/stages/first/close")),
    ("POST", "/api/v1/competition/calls/{call_id}/close"): Entry(  # no proposal: closed without a selection
        success=lambda c: op(c, "POST", f"/api/v1/competition/calls/{competition_call(c)}/close", {"reason": "応募なし"}),
        refused=lambda c: op(c, "POST", "/api/v1/competition/calls/{}/close".format(competition_review(c)[0].split("/")[5]),
                             {"reason": "応募なし"})),  # it has a proposal to review
    ("POST", "/api/v1/competition/calls/{call_id}/reopen"): Entry(
        success=lambda c: op(c, "POST", f"/api/v1/competition/calls/{competition_unfilled(c)}/reopen", {"reason": "再公募"}),
        refused=lambda c: op(c, "POST", f"/api/v1/competition/calls/{competition_call(c)}/reopen", {"reason": "再公募"})),
    ("POST", "/api/v1/competition/calls/{call_id}/stages/{stage}/selection"): Entry(
        success=lambda c: op(c, "POST", *competition_closed(c)),
        refused=lambda c: op(c, "POST", competition_closed(c)[0], {"group_ids": [999999]})),  # not among the results
    ("POST", "/api/v1/competition/calls/{call_id}/groups/{group_id}/contract"): Entry(
        success=lambda c: op(c, "POST", "/api/v1/competition/calls/{}/groups/{}/contract".format(*competition_chosen(c)),
                             contract_body()),
        refused=lambda c: op(c, "POST", "/api/v1/competition/calls/{}/groups/{}/contract".format(*competition_chosen(c)),
                             contract_body(5_000_001))),  # over the cap
    ("POST", "/api/v1/competition/contracts/{contract_id}/items/{item_id}/delivered"): Entry(
        success=lambda c: op(c, "POST", "/api/v1/competition/contracts/{}/items/{}/delivered".format(*competition_contract(c)),
                             {"delivered_on": "2041-03-19"}),
        refused=lambda c: op(c, "POST", "/api/v1/competition/contracts/{}/items/{}/delivered".format(*competition_contract(c)),
                             {"delivered_on": "2040-05-01"})),  # before the period
    ("POST", "/api/v1/competition/contracts/{contract_id}/cost"): Entry(
        success=lambda c: fin(c, "POST", f"/api/v1/competition/contracts/{competition_contract(c)[0]}/cost",
                              {"grant_id": competition_grant(c)}),
        refused=lambda c: fin(c, "POST", f"/api/v1/competition/contracts/{competition_contract(c)[0]}/cost",
                              {"grant_id": competition_grant(c, 2039)})),  # a grant of another year
}

def monthly_report(ctx: Ctx, *, sent: bool = False) -> int:
    """A monthly report written by the operator (and sent once already, for the refused second sending);
    the prefecture's settings name the e-mail address it goes to."""
    from tenancy.registry.prefecture import PrefectureSettingsIn, update_settings
    from tenancy.registry.sample import KUMAMOTO_SETTINGS

    update_settings(ctx.db, ctx.operator, PrefectureSettingsIn.model_validate(KUMAMOTO_SETTINGS))
    ctx.db.commit()
    response = ctx.client.post("/api/v1/service/monthly-reports", json={"month": "2026-10"}, headers=ctx.as_operator)
    assert response.status_code == 201, response.get_data(as_text=True)
    report_id = response.get_json()["id"]
    if sent:
        sending = ctx.client.post(f"/api/v1/service/monthly-reports/{report_id}/send", headers=ctx.as_operator)
        assert sending.status_code == 200, sending.get_data(as_text=True)
    return report_id


def service_window(ctx: Ctx) -> int:
    """A planned maintenance window scheduled by the operator (for its cancellation)."""
    ctx.tenants("431001")
    response = ctx.client.post("/api/v1/service/maintenance", json=SERVICE_WINDOW, headers=ctx.as_operator)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["id"]


# reads that hand out an official document: each file handed out is recorded (who, which year, its SHA-256)
AUDITED_READS = {
    ("GET", "/api/v1/fiscal-years/{fiscal_year}/annual-report"): Entry(
        success=lambda c: (c.tenants("431001"), fin(c, "GET", "/api/v1/fiscal-years/2026/annual-report?format=xlsx"))[1],
        refused=lambda c: Call("GET", "/api/v1/fiscal-years/2026/annual-report", c.admin_of("431001"))),
    ("GET", "/api/v1/fiscal-years/{fiscal_year}/results-report"): Entry(
        success=lambda c: fin(c, "GET", "/api/v1/fiscal-years/2026/results-report?format=xlsx"),
        refused=lambda c: (c.tenants("431001"), Call("GET", "/api/v1/fiscal-years/2026/results-report",
                                                     c.admin_of("431001")))[1]),
    ("GET", "/api/v1/members/report"): Entry(
        success=lambda c: op(c, "GET", "/api/v1/members/report?period=2026-Q1&format=xlsx"),
        refused=lambda c: (c.tenants("431001"), Call("GET", "/api/v1/members/report?period=2026-Q1",
                                                     c.admin_of("431001")))[1]),
    ("GET", "/api/v1/progress/report"): Entry(
        success=lambda c: op(c, "GET", "/api/v1/progress/report?month=2026-05&format=xlsx"),
        refused=lambda c: (c.tenants("431001"), Call("GET", "/api/v1/progress/report?month=2026-05",
                                                     c.admin_of("431001")))[1]),
    ("GET", "/api/v1/meetings/{meeting_id}/minutes/pdf"): Entry(
        success=lambda c: op(c, "GET", f"/api/v1/meetings/{meeting(c, minutes='approved')}/minutes/pdf"),
        refused=lambda c: (c.tenants("431001"), Call("GET", f"/api/v1/meetings/{meeting(c, minutes='approved')}/minutes/pdf",
                                                     c.admin_of("431001")))[1]),
}

# POST only to keep the caller's token out of URLs and logs: a read, which writes no audit record
READS_BY_POST = {("POST", "/api/v1/gateway/check"),
                 # every call writes a hash-chained linkage record instead (residents.consent.check)
                 ("POST", "/api/v1/consent/check"),
                 # a service's request for a person's items: the consent check's linkage record is its record
                 ("POST", "/api/v1/residents/broker"),
                 # a service's request for a person's ID at another service: its linkage records, as above
                 ("POST", "/api/v1/residents/broker/linked-id")}


# --- the tests ------------------------------------------------------------------------------------

def state_changing_operations(document: dict) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, operations in document["paths"].items()
            for method in operations if method in STATE_CHANGING} - READS_BY_POST


@pytest.fixture(scope="module")
def api_document(app) -> dict:
    """The API's document as the app serves it, fetched once for the module's few hundred cases (fetched and encoded
    again for each case, it was a third of their CPU)."""
    return app.test_client().get("/api/v1/openapi.json").get_json()


def test_every_state_changing_endpoint_is_in_the_table(api_document):
    operations = state_changing_operations(api_document)
    missing = sorted(operations - set(TABLE))
    stale = sorted(set(TABLE) - operations)
    assert not missing, f"state-changing endpoints without an audit coverage entry (add them to TABLE): {missing}"
    assert not stale, f"entries for endpoints that no longer exist: {stale}"


@pytest.fixture
def ctx(client, db, operator, tenant_factory, user_factory, directory, as_operator) -> Ctx:
    return Ctx(client, db, operator, tenant_factory, user_factory, directory, as_operator)


def records_after(db, seq: int) -> list[AuditRecord]:
    db.expire_all()
    return list(db.scalars(sa.select(AuditRecord).where(AuditRecord.seq > seq).order_by(AuditRecord.seq)))


def last_seq(db) -> int:
    db.expire_all()
    return db.scalar(sa.select(sa.func.coalesce(sa.func.max(AuditRecord.seq), 0)))


def send(ctx: Ctx, call: Call, request_id: str):
    headers = {**call.headers, "X-Request-Id": request_id}
    return ctx.client.open(call.url, method=call.method, json=call.json, headers=headers)


KEYS = sorted(TABLE)


@pytest.mark.parametrize("key", KEYS, ids=[f"{m} {p}" for m, p in KEYS])
def test_a_successful_call_writes_its_audit_records(api_document, ctx, key):
    if key not in state_changing_operations(api_document):
        pytest.fail(f"{key} is in the table but not in the API (see the enumeration test)")
    entry = TABLE[key]
    call = entry.success(ctx)
    before = last_seq(ctx.db)
    request_id = uuid.uuid4().hex
    response = send(ctx, call, request_id)
    assert response.status_code < 400, (response.status_code, response.get_data(as_text=True)[:500])
    written = records_after(ctx.db, before)
    assert len(written) == 1, [r.action for r in written]
    if entry.steps:
        steps = [step["action"] for step in json.loads(written[0].after)["steps"]]
        assert steps == list(entry.steps)
    for record in written:
        assert record.request_id == request_id and record.source_ip
        assert record.actor_subject and record.actor_role


@pytest.mark.parametrize("key", KEYS, ids=[f"{m} {p}" for m, p in KEYS])
def test_a_refused_call_writes_no_audit_record(api_document, ctx, key):
    if key not in state_changing_operations(api_document):
        pytest.fail(f"{key} is in the table but not in the API (see the enumeration test)")
    call = TABLE[key].refused(ctx)
    before = last_seq(ctx.db)
    response = send(ctx, call, uuid.uuid4().hex)
    assert response.status_code >= 400, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/problem+json"
    assert records_after(ctx.db, before) == []


READ_KEYS = sorted(AUDITED_READS)


@pytest.mark.parametrize("key", READ_KEYS, ids=[f"{m} {p}" for m, p in READ_KEYS])
def test_an_audited_read_writes_one_record_and_none_when_refused(api_document, ctx, key):
    method, path = key
    assert method.lower() in api_document["paths"].get(path, {}), f"{key} is not in the API"
    entry = AUDITED_READS[key]
    call = entry.success(ctx)
    before = last_seq(ctx.db)
    request_id = uuid.uuid4().hex
    response = send(ctx, call, request_id)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    [record] = records_after(ctx.db, before)
    assert record.request_id == request_id and record.source_ip and record.actor_role
    assert json.loads(record.after)["sha256"] == hashlib.sha256(response.get_data()).hexdigest()
    call = entry.refused(ctx)
    before = last_seq(ctx.db)
    refused = send(ctx, call, uuid.uuid4().hex)
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert records_after(ctx.db, before) == []
