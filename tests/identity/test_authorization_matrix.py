"""Every API endpoint × every role × own/other tenant, against real Keycloak tokens.

The endpoint list comes from the OpenAPI document: an endpoint without a row in ENDPOINTS
fails ``test_every_endpoint_has_a_rule``. The expectations are written here from the roles as
the identity issue states them, not read from core.authz:

* platform operator: every tenant, every operation except finance's own acts;
* municipal admin: reads their own tenant, manages their own tenant's users, votes for it;
* municipal staff: reads their own tenant;
* finance officer: billing, and reads everything billing needs;
* auditor: reads everything, changes nothing;
* the contracted secretariat: the consortium's desk (members, inquiries, events, progress, groups, meetings)
  and nothing else: no money, no identity administration, no settings, no incidents, no minutes' approval;
* the contracted platform vendor: service operations (components, maintenance, the monthly report, incidents)
  and nothing else: not the desk, nor the service settings (the availability target is the prefecture's).

"Allowed" means the answer is neither 401 nor 403 (it may be 404 or 422 for the sample input);
"refused" means 403, or 404 where another tenant's resource is hidden, and never a success.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable

import pytest

from tests.conftest import expires_soon, seeded_database

# Tenants no other test module changes in Keycloak: transitions below (suspend, withdraw) act on them.
OWN, OTHER = "435015", "435058"
ROLES = {
    "operator": (("platform-operator",), None),
    "municipal-admin": (("municipal-admin",), OWN),
    "municipal-staff": (("municipal-staff",), OWN),
    "finance": (("finance-officer",), None),
    "auditor": (("auditor",), None),
    # a member organisation's admin (issue 15): its "tenant" is its corporate number, never OWN or OTHER
    "org-admin": (("org-admin",), "7000012050002"),
    # a municipality's residents' desk (issue 42): its own municipality's residents, nothing else
    "resident-desk": (("resident-desk",), OWN),
    # the prefecture's contractors (issue 57 item 1): every grant of theirs is for all tenants
    "secretariat": (("secretariat",), None),
    "vendor": (("platform-vendor",), None),
}
CONTRACTORS = ("secretariat", "vendor")
EVERYONE = set(ROLES)

# who may, by kind of act; "own" = only for the municipal roles' own tenant
READ_TENANT = {"operator": "any", "finance": "any", "auditor": "any", "municipal-admin": "own", "municipal-staff": "own"}
# the platform's use: the tenants' readers and the platform vendor, who reports it monthly
READ_USAGE = {**READ_TENANT, "vendor": "any"}
OPERATE = {"operator": "any"}
READ_USERS = {"operator": "any", "auditor": "any", "municipal-admin": "own"}
MANAGE_USERS = {"operator": "any", "municipal-admin": "own"}
SELF = {role: "any" for role in ROLES}
# lists filtered to what the reader may see; a member organisation reads none of the municipalities'
# quota plans, cost items, policies, agreements or council
EVERYONE_READS = {role: "any" for role in ROLES if role not in ("org-admin", "resident-desk", *CONTRACTORS)}
READ_ALL = {"operator": "any", "finance": "any", "auditor": "any"}
FINANCE = {"finance": "any"}
AUDIT = {"operator": "any", "auditor": "any"}
MUNICIPAL_ADMIN_OWN = {"municipal-admin": "any"}  # acts for the tenant the admin belongs to (no code in the path)
OUTBOX = {"operator": "any", "auditor": "any", "municipal-admin": "own"}
QUOTA_CHECK = {"operator": "any", "auditor": "any", "municipal-admin": "own", "municipal-staff": "own"}
INGEST = {"operator": "any"}  # and the metering machine client
READ_MEMBERS = {"operator": "any", "auditor": "any", "secretariat": "any", "org-admin": "any"}  # an organisation: itself
# the consortium's desk: the operator or the contracted secretariat; the auditor reads
DESK = {"operator": "any", "secretariat": "any"}
DESK_READ = {**DESK, "auditor": "any"}
# running the platform: the operator or the contracted vendor; the auditor reads
SERVICE = {"operator": "any", "vendor": "any"}
# documents owed to the prefecture: the contractors submit (their own), the operator and the auditor read every one
CONTRACTED = {"secretariat": "any", "vendor": "any"}
SUBMISSIONS_READ = {"operator": "any", "auditor": "any", **CONTRACTED}
SERVICE_READ = {**SERVICE, "auditor": "any"}
# datasets (issue 22): every reader of a provider's own (no finance); managed by the provider's admins
READ_DATASETS = {"operator": "any", "auditor": "any", "municipal-admin": "any", "municipal-staff": "any", "org-admin": "any"}
MANAGE_DATASETS = {"operator": "any", "municipal-admin": "any", "org-admin": "any"}
# the body names the tenant (OWN): a clerk records consent for their own tenant's people only
CLERKS_OWN = {"municipal-admin": "any", "municipal-staff": "any"}
# the competition's reviewers (issue 41): never the auditor, nor a contractor (who may bid)
REVIEWERS = {role: "any" for role in ROLES if role not in ("auditor", *CONTRACTORS)}
CONSENT_READERS = {"operator": "any", "auditor": "any", "municipal-admin": "any", "municipal-staff": "any"}
# the residents' side (issue 42): the municipality's own residents' desk, no one else (not the operator)
RESIDENT_DESK = {"resident-desk": "own"}
# personal-data breaches (issue 56 item 4): no code in the path; a municipality's people get their own only
BREACH_READ = {"operator": "any", "vendor": "any", "auditor": "any", "municipal-admin": "any", "resident-desk": "any"}
BREACH_MANAGE = {"operator": "any", "municipal-admin": "any"}
MEMBERS_SITE = {**DESK_READ, "org-admin": "any"}  # the members' site (issue 58 item 2): never anonymous
MEMBER_ITSELF = {"org-admin": "any"}  # a member's own people, for their own member
BREACH_MARK = {"operator": "any"}  # breach.manage and incident.read: the municipality's admin does not see the incidents


@dataclasses.dataclass(frozen=True)
class Rule:
    who: dict[str, str]
    body: Callable[[], object] | None = None


def _tenant_body():
    return {"code": "432032", "name_ja": "人吉市", "name_en": "Hitoyoshi", "kind": "city", "population": 31334}


def _invite_body():
    name = f"matrix-{uuid.uuid4().hex[:8]}"
    return {"username": name, "email": f"{name}@example.jp", "first_name": "太郎", "last_name": "試験",
            "roles": ["municipal-staff"]}


def _kumamoto_settings():
    from tenancy.registry.sample import KUMAMOTO_SETTINGS

    return KUMAMOTO_SETTINGS


def _reason():
    return {"reason": "authorization matrix"}


def _service_body(owner):
    from tests.consent.conftest import SERVICE

    return {**SERVICE, "owner_code": owner, "required_level": 1}


def _consent_body(code):
    return {"service_id": 1, "tenant_code": code, "subject_id": "pid-matrix-0001", "content_hash": "0" * 64,
            "method": "paper", "assurance_level": 1}


def _solution_body():
    return {"title": "matrix", "description": "matrix", "categories": ["other"], "contact_name": "matrix",
            "contact_email": "matrix@example.jp"}


def _usage_body():
    import datetime as dt

    return {"events": [{"tenant": OWN, "metric": "api_calls", "quantity": 1, "event_id": uuid.uuid4().hex,
                        "timestamp": dt.datetime.now(dt.timezone.utc).isoformat()}]}


ENDPOINTS: dict[tuple[str, str], Rule] = {
    ("GET", "/api/v1/me"): Rule(SELF),
    # the one search (issue 38): every person who may list some kind; each kind within its list's scope
    # (tests/governance/test_search.py checks what each role finds)
    ("GET", "/api/v1/search"): Rule(SELF),
    ("GET", "/api/v1/tenants"): Rule(READ_TENANT),
    ("POST", "/api/v1/tenants"): Rule(OPERATE, _tenant_body),
    ("GET", "/api/v1/tenants/{code}"): Rule(READ_TENANT),
    ("PATCH", "/api/v1/tenants/{code}"): Rule(OPERATE, lambda: {"population_source": "2020 census final count"}),
    ("GET", "/api/v1/tenants/{code}/users"): Rule(READ_USERS),
    ("POST", "/api/v1/tenants/{code}/users"): Rule(MANAGE_USERS, _invite_body),
    ("PUT", "/api/v1/tenants/{code}/users/{user_id}/roles"): Rule(MANAGE_USERS, lambda: {"roles": ["municipal-staff"]}),
    ("POST", "/api/v1/tenants/{code}/users/{user_id}/disable"): Rule(MANAGE_USERS),
    ("POST", "/api/v1/tenants/{code}/users/{user_id}/enable"): Rule(MANAGE_USERS),
    ("DELETE", "/api/v1/tenants/{code}/users/{user_id}"): Rule(MANAGE_USERS),
    # onboarding: the operator moves tenants through their lifecycle
    **{("POST", f"/api/v1/tenants/{{code}}/{verb}"): Rule(OPERATE, _reason)
       for verb in ("screen", "approve", "provision", "retry", "activate", "suspend", "resume", "withdraw", "reapply")},
    ("PUT", "/api/v1/tenants/{code}/checklist/{checklist}/{item}"): Rule(OPERATE, lambda: {"checked": True, "note": "確認済"}),
    ("GET", "/api/v1/tenants/{code}/onboarding"): Rule(READ_TENANT),
    ("GET", "/api/v1/tenants/{code}/transitions"): Rule(READ_TENANT),
    ("GET", "/api/v1/onboarding/board"): Rule(READ_TENANT),
    ("GET", "/api/v1/onboarding/platform-resources"): Rule(READ_TENANT),
    ("GET", "/api/v1/onboarding/outbox"): Rule(OUTBOX),
    ("POST", "/api/v1/onboarding/waves"): Rule(OPERATE, lambda: {"fiscal_year": "FY2025", "csv": "code\n000000\n"}),
    # quotas and usage
    ("POST", "/api/v1/usage"): Rule(INGEST, _usage_body),
    ("GET", "/api/v1/tenants/{code}/quota-check"): Rule(QUOTA_CHECK),
    ("GET", "/api/v1/tenants/{code}/usage"): Rule(READ_USAGE),
    ("GET", "/api/v1/usage/report"): Rule(READ_USAGE),
    ("GET", "/api/v1/usage/chart.png"): Rule(READ_USAGE),
    ("GET", "/api/v1/quota-plans"): Rule({**EVERYONE_READS, "vendor": "any"}),  # the plans are read with the use
    ("PUT", "/api/v1/quota-plans/{plan}"): Rule(OPERATE, lambda: {"limits": []}),
    ("PUT", "/api/v1/tenants/{code}/quota-plan"): Rule(OPERATE, lambda: {"plan": None}),
    ("PUT", "/api/v1/tenants/{code}/quota-override"): Rule(OPERATE, lambda: {"metric": "api_calls", "limit": 1000, "reason": "試験"}),
    # billing: finance acts; statements are the tenant's own
    ("GET", "/api/v1/billing/cost-items"): Rule(EVERYONE_READS),
    ("POST", "/api/v1/billing/cost-items"): Rule(FINANCE, lambda: {
        "fiscal_year": 2025, "name": "クラウド利用料", "category": "run", "amount": 1200000, "tax_treatment": "taxable_10"}),
    ("DELETE", "/api/v1/billing/cost-items/{item_id}"): Rule(FINANCE),
    ("GET", "/api/v1/billing/budgets"): Rule(EVERYONE_READS),
    ("GET", "/api/v1/billing/budgets/{budget_id}"): Rule(EVERYONE_READS),
    ("POST", "/api/v1/billing/budgets"): Rule(FINANCE, lambda: {"fiscal_year": 2031, "amounts": {"run": 1000},
                                                                "reason": "補正"}),
    ("GET", "/api/v1/billing/fiscal-years/{fiscal_year}/budget-actual"): Rule(EVERYONE_READS),
    ("GET", "/api/v1/billing/fiscal-years/{fiscal_year}/close"): Rule(EVERYONE_READS),
    ("POST", "/api/v1/billing/fiscal-years/{fiscal_year}/close"): Rule(FINANCE),
    ("POST", "/api/v1/billing/fiscal-years/{fiscal_year}/close/approve"): Rule(FINANCE),
    ("POST", "/api/v1/billing/fiscal-years/{fiscal_year}/close/withdraw"): Rule(FINANCE),
    ("POST", "/api/v1/billing/fiscal-years/{fiscal_year}/settlement"): Rule(FINANCE),
    ("GET", "/api/v1/billing/fiscal-years/{fiscal_year}/estimates"): Rule(READ_ALL),
    ("GET", "/api/v1/billing/fiscal-years/{fiscal_year}/estimates/preview"): Rule(READ_ALL),
    ("POST", "/api/v1/billing/fiscal-years/{fiscal_year}/estimates"): Rule(FINANCE, lambda: {"billing_month": "2026-06"}),
    ("GET", "/api/v1/billing/fiscal-years/{fiscal_year}/accounts"): Rule(EVERYONE_READS),
    # the annual report (年度報告書): every tenant's figures, for the operator, finance and the auditor
    ("GET", "/api/v1/fiscal-years/{fiscal_year}/annual-report"): Rule(READ_ALL),
    # the grant's indicators and results report (実績報告書): read as the annual report is; the operator sets targets
    ("GET", "/api/v1/fiscal-years/{fiscal_year}/kpis"): Rule(READ_ALL),
    ("PUT", "/api/v1/fiscal-years/{fiscal_year}/kpi-targets"): Rule(OPERATE, lambda: {"members": 60}),
    ("GET", "/api/v1/fiscal-years/{fiscal_year}/results-report"): Rule(READ_ALL),
    ("GET", "/api/v1/billing/grants"): Rule(EVERYONE_READS),
    ("GET", "/api/v1/billing/grants/{grant_id}"): Rule(EVERYONE_READS),
    ("POST", "/api/v1/billing/grants"): Rule(FINANCE, lambda: {
        "fiscal_year": 2025, "name": f"matrix-{uuid.uuid4().hex[:6]}", "grantor": "内閣府", "rate": "1/2",
        "categories": ["run"]}),
    ("PUT", "/api/v1/billing/grants/{grant_id}"): Rule(FINANCE, lambda: {
        "fiscal_year": 2025, "name": f"matrix-{uuid.uuid4().hex[:6]}", "grantor": "内閣府", "rate": "1/2",
        "categories": ["build"]}),
    ("DELETE", "/api/v1/billing/grants/{grant_id}"): Rule(FINANCE),
    ("POST", "/api/v1/billing/grants/{grant_id}/fix"): Rule(FINANCE, lambda: {"fixed_amount": 1000, "fixed_on": "2026-05-20"}),
    ("GET", "/api/v1/billing/policies"): Rule(EVERYONE_READS),
    ("POST", "/api/v1/billing/policies"): Rule(FINANCE, lambda: {
        "name": f"matrix-{uuid.uuid4().hex[:6]}", "components": [{"basis": "equal", "weight": "1"}]}),
    ("GET", "/api/v1/billing/policies/{policy_id}"): Rule(EVERYONE_READS),
    ("POST", "/api/v1/billing/policies/{policy_id}/adopt"): Rule(FINANCE, lambda: {}),
    ("GET", "/api/v1/billing/policies/{policy_id}/resolutions"): Rule(FINANCE),
    ("GET", "/api/v1/billing/runs"): Rule(READ_ALL),
    ("POST", "/api/v1/billing/runs"): Rule(FINANCE, lambda: {"fiscal_year": 2025}),
    ("GET", "/api/v1/billing/runs/{run_id}"): Rule(READ_ALL),
    ("POST", "/api/v1/billing/runs/{run_id}/review"): Rule(FINANCE, lambda: {}),
    ("POST", "/api/v1/billing/runs/{run_id}/approve"): Rule(FINANCE),
    ("POST", "/api/v1/billing/runs/{run_id}/discard"): Rule(FINANCE),
    ("POST", "/api/v1/billing/runs/{run_id}/reverse"): Rule(FINANCE, _reason),
    ("GET", "/api/v1/billing/ledger/entries"): Rule(READ_ALL),
    ("GET", "/api/v1/billing/ledger/trial-balance"): Rule(READ_ALL),
    ("GET", "/api/v1/billing/fiscal-years/{fiscal_year}/summary"): Rule(READ_ALL),
    ("POST", "/api/v1/billing/payments"): Rule(FINANCE, lambda: {
        "tenant_code": OWN, "fiscal_year": 2025, "amount": 1000, "received_on": "2025-06-30", "reference": uuid.uuid4().hex[:8],
        "reason": "窓口で現金納付"}),
    ("POST", "/api/v1/billing/payments/{request_id}/approve"): Rule(FINANCE),
    ("POST", "/api/v1/billing/bank-files"): Rule(FINANCE, lambda: {"content_base64": "MTIzNDU2"}),
    ("GET", "/api/v1/billing/bank-lines"): Rule(READ_ALL),
    ("POST", "/api/v1/billing/bank-lines/{line_id}/confirm"): Rule(FINANCE, lambda: {"tenant_code": OWN, "fiscal_year": 2025}),
    ("POST", "/api/v1/billing/bank-lines/confirm-matched"): Rule(FINANCE),
    ("GET", "/api/v1/billing/statements/{code}/{fiscal_year}"): Rule(READ_TENANT),
    # letters (納入通知書): finance issues and reissues; a municipality reads its own; the operator sets
    # the prefecture's settings that letters carry, which finance and the auditor read
    ("POST", "/api/v1/billing/runs/{run_id}/letters"): Rule(FINANCE, lambda: {}),
    ("GET", "/api/v1/billing/runs/{run_id}/letters"): Rule(READ_ALL),
    ("GET", "/api/v1/billing/statements/{code}/{fiscal_year}/letter"): Rule(READ_TENANT),
    ("POST", "/api/v1/billing/statements/{code}/{fiscal_year}/letter/reissue"): Rule(FINANCE),
    # reminders (督促状): finance lists the overdue and sends; a municipality reads its own
    ("GET", "/api/v1/billing/reminders/overdue"): Rule(FINANCE),
    ("POST", "/api/v1/billing/reminders"): Rule(FINANCE, lambda: {"statements": [{"tenant_code": OWN, "fiscal_year": 2025}],
                                                                  "due_on": "2099-03-31"}),
    ("GET", "/api/v1/billing/statements/{code}/{fiscal_year}/reminders"): Rule(READ_TENANT),
    ("GET", "/api/v1/billing/reminders/{reminder_id}"): Rule(READ_TENANT),
    ("GET", "/api/v1/settings/prefecture"): Rule(READ_ALL),
    ("PUT", "/api/v1/settings/prefecture"): Rule(OPERATE, lambda: dict(_kumamoto_settings())),
    # governance
    ("GET", "/api/v1/agreements"): Rule(EVERYONE_READS),
    ("GET", "/api/v1/agreements/board"): Rule(EVERYONE_READS),
    ("GET", "/api/v1/agreements/{document}/versions"): Rule(EVERYONE_READS),
    ("POST", "/api/v1/agreements/{document}/versions"): Rule(OPERATE, lambda: {
        "title": "共同利用協定", "body_md": "# 第1条", "effective_on": "2026-04-01", "required": True}),
    ("GET", "/api/v1/agreements/{document}/versions/{number}"): Rule(EVERYONE_READS),
    ("POST", "/api/v1/agreements/{document}/versions/{number}/publish"): Rule(OPERATE, lambda: {"reacceptance_days": 30}),
    ("POST", "/api/v1/agreements/{document}/versions/{number}/acceptances"): Rule(MUNICIPAL_ADMIN_OWN, lambda: {"content_hash": "0" * 64}),
    ("GET", "/api/v1/tenants/{code}/agreements"): Rule(READ_TENANT),
    ("GET", "/api/v1/council/members"): Rule(EVERYONE_READS),
    ("GET", "/api/v1/council/proposals"): Rule(EVERYONE_READS),
    ("POST", "/api/v1/council/proposals"): Rule(OPERATE, lambda: {"title": "試験議案", "closes_at": "2099-01-01T00:00:00+09:00"}),
    ("GET", "/api/v1/council/proposals/{proposal_id}"): Rule(EVERYONE_READS),
    ("POST", "/api/v1/council/proposals/{proposal_id}/votes"): Rule(MUNICIPAL_ADMIN_OWN, lambda: {"choice": "for"}),
    ("POST", "/api/v1/council/proposals/{proposal_id}/close"): Rule(OPERATE),
    ("POST", "/api/v1/council/proposals/{proposal_id}/withdraw"): Rule(OPERATE, _reason),
    ("GET", "/api/v1/audit/records"): Rule(AUDIT),
    ("GET", "/api/v1/audit/export"): Rule(AUDIT),
    ("GET", "/api/v1/audit/verification"): Rule(AUDIT),
    # record retention (issue 35 item 6): the operator and the auditor read the table and what is past it
    ("GET", "/api/v1/retention"): Rule(AUDIT),
    ("GET", "/api/v1/retention/due"): Rule(AUDIT),
    # consortium members (issue 15): the secretariat screens; an organisation reads its own record
    ("GET", "/api/v1/members"): Rule(READ_MEMBERS),
    ("GET", "/api/v1/members/{corporate_number}"): Rule(DESK_READ),
    ("POST", "/api/v1/members/{corporate_number}/documents"): Rule(DESK, lambda: {"document": "pledge", "received_on": "2026-04-01"}),
    ("PUT", "/api/v1/members/{corporate_number}/checklist/{item_id}"): Rule(DESK, lambda: {"checked": True}),
    # the approval opens the organisation's first admin account: the operator's (identity administration)
    ("POST", "/api/v1/members/{corporate_number}/approve"): Rule(OPERATE, lambda: {
        "reason": "審査完了", "admin_username": f"org-{uuid.uuid4().hex[:6]}", "admin_first_name": "一郎", "admin_last_name": "管理"}),
    ("POST", "/api/v1/members/{corporate_number}/reject"): Rule(DESK, _reason),
    ("POST", "/api/v1/members/{corporate_number}/withdraw"): Rule(DESK, _reason),
    # a member keeps its own details (issue 58): its own admin (the path names another organisation here) and the
    # secretariat, which alone decides a waiting change
    ("GET", "/api/v1/members/{corporate_number}/details"): Rule(DESK_READ),
    ("PUT", "/api/v1/members/{corporate_number}/details"): Rule(DESK, lambda: {
        "name": "別の会員株式会社", "prefecture": "熊本県", "representative": "代表", "contact_name": "担当",
        "contact_email": "matrix@example.jp"}),
    ("GET", "/api/v1/members/{corporate_number}/changes"): Rule(DESK_READ),
    ("POST", "/api/v1/member-changes/{change_id}/approve"): Rule(DESK, lambda: {}),
    ("POST", "/api/v1/member-changes/{change_id}/reject"): Rule(DESK, _reason),
    ("POST", "/api/v1/members/checklist"): Rule(DESK, lambda: {"label_ja": "県内に事業所があること"}),
    # the secretariat's desk (issue 40): the existing members imported, the report (the auditor reads it), the target
    ("POST", "/api/v1/members/import"): Rule(DESK, lambda: {"content_base64": "", "dry_run": True}),
    ("GET", "/api/v1/members/report"): Rule(DESK_READ),
    ("PUT", "/api/v1/members/recruitment-targets/{fiscal_year}"): Rule(DESK, lambda: {"target": 50}),
    # the secretariat's desk (issue 40 items 3-4): the operator or the contracted secretariat handles inquiries and
    # runs events, the auditor reads; signed-in people register for events of their audience (the audience is the operation's check)
    ("GET", "/api/v1/inquiries"): Rule(DESK_READ),
    ("POST", "/api/v1/inquiries"): Rule(DESK, lambda: {
        "inquirer_kind": "resident", "channel": "phone", "category": "other", "subject": "matrix", "question": "?"}),
    ("GET", "/api/v1/inquiries/{inquiry_id}"): Rule(DESK_READ),
    ("POST", "/api/v1/inquiries/{inquiry_id}/assign"): Rule(DESK, lambda: {"assignee_name": "事務局 花子"}),
    ("POST", "/api/v1/inquiries/{inquiry_id}/replies"): Rule(DESK, lambda: {"body": "回答"}),
    ("POST", "/api/v1/inquiries/{inquiry_id}/transitions"): Rule(DESK, lambda: {"move": "start"}),
    ("GET", "/api/v1/events"): Rule(DESK_READ),
    ("POST", "/api/v1/events"): Rule(DESK, lambda: {
        "kind": "member_seminar", "title": "matrix", "starts_at": "2030-06-01T10:00:00+09:00",
        "ends_at": "2030-06-01T12:00:00+09:00", "capacity": 30, "audience": "members", "place": "県庁"}),
    ("GET", "/api/v1/events/{event_id}"): Rule(DESK_READ),
    ("GET", "/api/v1/events/{event_id}/registrations"): Rule(DESK),
    ("POST", "/api/v1/events/{event_id}/registrations"): Rule(
        {**DESK, "municipal-admin": "any", "municipal-staff": "any", "org-admin": "any"},
        lambda: {"name": "参加 太郎", "email": "matrix@example.jp"}),
    ("POST", "/api/v1/event-registrations/{registration_id}/cancel"): Rule(
        {**DESK, "municipal-admin": "any", "municipal-staff": "any", "org-admin": "any"}),
    ("PUT", "/api/v1/events/{event_id}/attendance"): Rule(DESK, lambda: {"attended": []}),
    ("PUT", "/api/v1/events/{event_id}/archive"): Rule(DESK, lambda: {"archive_url": "https://example.jp/a"}),
    ("GET", "/api/v1/event-years/{fiscal_year}"): Rule(DESK_READ),
    ("PUT", "/api/v1/event-years/{fiscal_year}/targets/{event_kind}"): Rule(DESK, lambda: {"events": 5, "attendance": 150}),
    # the secretariat's year (issue 40 item 7): the operator or the secretariat keeps the schedule and the issues
    ("GET", "/api/v1/progress/people"): Rule(DESK),
    ("GET", "/api/v1/progress/items"): Rule(DESK_READ),
    ("POST", "/api/v1/progress/items"): Rule(DESK, lambda: {"title": "matrix", "due_on": "2030-06-01",
                                                                   "owner": "not-a-person"}),
    ("PATCH", "/api/v1/progress/items/{item_id}"): Rule(DESK, lambda: {"status": "done"}),
    ("GET", "/api/v1/progress/issues"): Rule(DESK_READ),
    ("POST", "/api/v1/progress/issues"): Rule(DESK, lambda: {"title": "matrix", "owner": "not-a-person"}),
    ("PATCH", "/api/v1/progress/issues/{issue_id}"): Rule(DESK, lambda: {"status": "in_progress"}),
    ("GET", "/api/v1/progress/report"): Rule(DESK_READ),
    # advisers (secretariat/advisers.py): the desk keeps them; a member's admin books for their own member only
    # mailings to members by segment (secretariat/mailings.py): the desk's, the auditor reads (mailing.read)
    ("GET", "/api/v1/mailings"): Rule(DESK_READ),
    ("GET", "/api/v1/mailings/recipients"): Rule(DESK_READ),
    ("GET", "/api/v1/advisers"): Rule({**DESK_READ, "org-admin": "any"}),
    ("POST", "/api/v1/advisers"): Rule(DESK, lambda: {"name": "matrix", "fields": "matrix", "monthly_hours": 1}),
    ("PUT", "/api/v1/advisers/{adviser_id}"): Rule(DESK, lambda: {"name": "matrix", "fields": "matrix", "monthly_hours": 1}),
    ("GET", "/api/v1/consultations"): Rule(DESK_READ),
    ("POST", "/api/v1/consultations"): Rule(DESK, lambda: {  # another member's number: their admin is refused
        "adviser_id": 1, "member_number": "9999999999999", "starts_at": "2030-06-10T10:00:00", "hours": 1, "topic": "matrix"}),
    ("POST", "/api/v1/consultations/{consultation_id}/record"): Rule(DESK, lambda: {"held": True, "outcome": "matrix"}),
    # smart-city services, ideas and needs (secretariat/smart_services.py, issue 57 item 5): the desk keeps services and
    # ideas and the year's target; a municipality's people answer their own needs, which the desk reads
    ("GET", "/api/v1/smart-services"): Rule(DESK_READ),
    ("POST", "/api/v1/smart-services"): Rule(DESK, lambda: {"name": "matrix", "field": "other", "scope": "prefecture",
                                                            "found_on": "2030-06-01"}),
    ("PUT", "/api/v1/smart-services/{smart_service_id}"): Rule(DESK, lambda: {
        "name": "matrix", "field": "other", "scope": "prefecture", "found_on": "2030-06-01"}),
    ("POST", "/api/v1/smart-services/{smart_service_id}/transitions"): Rule(DESK, lambda: {"move": "pilot"}),
    ("GET", "/api/v1/smart-service-ideas"): Rule(DESK_READ),
    ("POST", "/api/v1/smart-service-ideas"): Rule(DESK, lambda: {"title": "matrix", "proposed_on": "2030-06-01",
                                                                 "proposer_name": "matrix"}),
    ("PUT", "/api/v1/smart-service-ideas/{idea_id}"): Rule(DESK, lambda: {"title": "matrix", "proposed_on": "2030-06-01",
                                                                          "proposer_name": "matrix"}),
    ("POST", "/api/v1/smart-service-ideas/{idea_id}/transitions"): Rule(DESK, lambda: {"move": "study"}),
    ("GET", "/api/v1/municipal-needs"): Rule({**DESK_READ, "municipal-admin": "any", "municipal-staff": "any"}),
    ("POST", "/api/v1/municipal-needs"): Rule(CLERKS_OWN, lambda: {"tenant_code": OWN, "fiscal_year": 2030,
                                                                   "field": "other", "title": "matrix"}),
    ("PUT", "/api/v1/municipal-needs/{need_id}"): Rule(CLERKS_OWN, lambda: {"fiscal_year": 2030, "field": "other",
                                                                            "title": "matrix"}),
    ("GET", "/api/v1/smart-service-targets/{fiscal_year}"): Rule(DESK_READ),
    ("PUT", "/api/v1/smart-service-targets/{fiscal_year}"): Rule(DESK, lambda: {"target": 2}),
    ("GET", "/api/v1/project-groups"): Rule({"operator": "any", "auditor": "any"}),
    ("POST", "/api/v1/project-groups"): Rule(OPERATE, lambda: {
        "name": f"matrix-{uuid.uuid4().hex[:6]}", "representative": "7000012050002", "members": ["7000012050002"]}),
    ("PUT", "/api/v1/project-groups/{group_id}"): Rule(OPERATE, lambda: {
        "name": "matrix-group", "representative": "7000012050002", "members": ["7000012050002", "9000020431001"]}),
    ("POST", "/api/v1/project-groups/{group_id}/dissolve"): Rule(OPERATE, _reason),
    # API clients of a tenant (issue 15): its admin and the operator manage them; the gateway check is the operator's
    # (and the metering machine client's)
    ("GET", "/api/v1/api-clients"): Rule({"operator": "any", "auditor": "any", "municipal-admin": "any", "org-admin": "any"}),
    ("GET", "/api/v1/tenants/{code}/api-clients"): Rule({"operator": "any", "auditor": "any", "municipal-admin": "own"}),
    ("POST", "/api/v1/tenants/{code}/api-clients"): Rule(MANAGE_USERS, lambda: {
        "name": "matrix", "purpose": "試験", "scopes": [], "expires_on": "2099-03-31", "allowlist": ["192.0.2.0/24"]}),
    ("GET", "/api/v1/api-clients/{client_id}"): Rule({"operator": "any", "auditor": "any", "municipal-admin": "any"}),
    ("PATCH", "/api/v1/api-clients/{client_id}"): Rule(OPERATE, lambda: {"allowlist": ["198.51.100.0/24"]}),
    ("POST", "/api/v1/api-clients/{client_id}/rotate"): Rule(OPERATE, lambda: {"overlap_seconds": 0}),
    ("POST", "/api/v1/api-clients/{client_id}/revoke"): Rule(OPERATE),
    ("POST", "/api/v1/api-clients/{client_id}/disable"): Rule(OPERATE),
    ("POST", "/api/v1/api-clients/{client_id}/enable"): Rule(OPERATE),
    ("POST", "/api/v1/gateway/check"): Rule(OPERATE, lambda: {"token": "not-a-token", "address": "127.0.0.1"}),
    # the operator's approval of API clients and its policy (issue 26): holders' admins see what waits and why
    ("GET", "/api/v1/api-client-requests"): Rule({"operator": "any", "auditor": "any", "municipal-admin": "any",
                                                  "org-admin": "any"}),
    ("POST", "/api/v1/api-client-requests/{request_id}/approve"): Rule(OPERATE, lambda: {}),
    ("POST", "/api/v1/api-client-requests/{request_id}/reject"): Rule(OPERATE, lambda: {"note": "試験"}),
    ("GET", "/api/v1/api-client-policy"): Rule({"operator": "any", "auditor": "any", "municipal-admin": "any",
                                                "org-admin": "any"}),
    ("PUT", "/api/v1/api-client-policy"): Rule(OPERATE, lambda: {
        "max_prefix_v4": 16, "max_prefix_v6": 48, "approval_scopes": ["broker.write", "catalog.write"],
        "max_expiry_days": 365}),
    # the gateway's check for nginx (issue 26): the gateway authenticates by its client id and secret, so every
    # bearer token is refused (401); the route table is the operator's (and the gateway's)
    ("GET", "/api/v1/gateway/auth"): Rule({}),
    ("GET", "/api/v1/gateway/routes"): Rule(OPERATE),
    # the dataset register (issue 22): a provider's own people read it, its admins manage it; the operator reviews
    ("GET", "/api/v1/datasets"): Rule(READ_DATASETS),
    ("POST", "/api/v1/datasets"): Rule({"operator": "any", "municipal-admin": "any"}, lambda: {
        "provider_code": OWN, "title_ja": "試験データ", "category_code": "other", "licence_code": "CC-BY-4.0"}),
    ("GET", "/api/v1/datasets/{uid}"): Rule(READ_DATASETS),
    ("PUT", "/api/v1/datasets/{uid}"): Rule(MANAGE_DATASETS, lambda: {
        "provider_code": OWN, "title_ja": "試験データ", "category_code": "other", "licence_code": "CC-BY-4.0"}),
    ("POST", "/api/v1/datasets/{uid}/check"): Rule(MANAGE_DATASETS, lambda: {"content_base64": ""}),
    ("POST", "/api/v1/datasets/{uid}/{verb}"): Rule(MANAGE_DATASETS, lambda: {}),
    ("POST", "/api/v1/datasets/import"): Rule(MANAGE_DATASETS, lambda: {"content_base64": ""}),
    ("GET", "/api/v1/datasets/coverage"): Rule(READ_DATASETS),
    # who uses a provider's datasets (issue 37): its own people, the operator and the auditor; never a consumer
    ("GET", "/api/v1/dataset-use/{code}"): Rule({"operator": "any", "auditor": "any", "municipal-admin": "own",
                                                 "municipal-staff": "own"}),
    ("POST", "/api/v1/datasets/reminders"): Rule(OPERATE),
    # a dataset's own terms: its provider's admins write them; a consumer's admin reads and accepts them
    ("GET", "/api/v1/datasets/{uid}/terms"): Rule(READ_DATASETS),
    ("POST", "/api/v1/datasets/{uid}/terms"): Rule(MANAGE_DATASETS, lambda: {"title": "利用規約", "body_md": "本文"}),
    ("GET", "/api/v1/dataset-terms"): Rule({"municipal-admin": "any", "org-admin": "any"}),
    ("POST", "/api/v1/dataset-terms/{uid}/acceptances"): Rule({"municipal-admin": "any", "org-admin": "any"},
                                                              lambda: {"number": 1, "content_hash": "0" * 64}),
    # the lists a dataset chooses from (issue 22): the register's readers read them, the operator keeps them
    ("GET", "/api/v1/dataset-categories"): Rule(READ_DATASETS),
    ("POST", "/api/v1/dataset-categories"): Rule(OPERATE, lambda: {"code": f"matrix_{uuid.uuid4().hex[:8]}",
                                                                   "label_ja": "試験の分野"}),
    ("PUT", "/api/v1/dataset-categories/{category}/active"): Rule(OPERATE, lambda: {"active": True}),
    ("GET", "/api/v1/dataset-licences"): Rule(READ_DATASETS),
    ("POST", "/api/v1/dataset-licences"): Rule(OPERATE, lambda: {"code": f"matrix-{uuid.uuid4().hex[:8]}",
                                                                 "title_ja": "試験のライセンス"}),
    ("PUT", "/api/v1/dataset-licences/{licence}/active"): Rule(OPERATE, lambda: {"active": True}),
    # personal data by consent (issue 23): the operator approves services; a tenant's (or organisation's) admin
    # registers and reads its own services and their linkages only; a clerk (admin or staff) records consent
    # for their own tenant's people and reads their history; the auditor reads everything; the broker checks
    ("GET", "/api/v1/consent/levels"): Rule(SELF),
    ("PUT", "/api/v1/consent/levels/{level}"): Rule(OPERATE, lambda: {"label_ja": "レベル2：確認済み"}),
    ("GET", "/api/v1/consent/services"): Rule({"operator": "any", "auditor": "any", "municipal-admin": "any", "org-admin": "any"}),
    ("POST", "/api/v1/consent/services"): Rule({"operator": "any", "municipal-admin": "own"}, lambda: _service_body(OWN)),
    ("GET", "/api/v1/consent/services/{service_id}"): Rule({"operator": "any", "auditor": "any"}),
    ("POST", "/api/v1/consent/services/{service_id}/texts"): Rule(OPERATE, lambda: _service_body(OWN)["text"]),
    ("POST", "/api/v1/consent/services/{service_id}/{transition}"): Rule(OPERATE, _reason),
    ("GET", "/api/v1/consent/services/{service_id}/linkages"): Rule({"operator": "any", "auditor": "any"}),
    ("POST", "/api/v1/consent/records"): Rule(CLERKS_OWN, lambda: _consent_body(OWN)),
    ("POST", "/api/v1/consent/withdrawals"): Rule(CLERKS_OWN, lambda: {
        "service_id": 1, "tenant_code": OWN, "subject_id": "pid-matrix-0001"}),
    ("GET", "/api/v1/consent/records/{receipt_id}"): Rule(CONSENT_READERS),
    ("POST", "/api/v1/consent/check"): Rule(OPERATE, lambda: {
        "service_id": 1, "tenant_code": OWN, "subject_id": "pid-matrix-0001", "items": ["生年月日"], "purpose": "案内"}),
    ("GET", "/api/v1/consent/linkages"): Rule(AUDIT),
    ("GET", "/api/v1/tenants/{code}/people/{subject_id}/consent-history"): Rule(
        {"operator": "any", "auditor": "any", "municipal-admin": "own", "municipal-staff": "own"}),
    # running the platform (issue 39): the operator or the contracted vendor changes, the auditor reads too; the
    # service settings (the availability target, the reports' recipients) are the operator's alone
    ("GET", "/api/v1/service/components"): Rule(SERVICE_READ),
    ("POST", "/api/v1/service/components"): Rule(SERVICE, lambda: {"name_ja": f"監視-{uuid.uuid4().hex[:6]}",
                                                                 "url": "http://127.0.0.1:9/health"}),
    ("PUT", "/api/v1/service/components/{key}/active"): Rule(SERVICE, lambda: {"active": False}),
    ("GET", "/api/v1/service/availability"): Rule(SERVICE_READ),
    ("GET", "/api/v1/service/maintenance"): Rule(SERVICE_READ),
    ("POST", "/api/v1/service/maintenance"): Rule(SERVICE, lambda: {
        "title": "試験", "starts_at": "2099-01-05T10:00:00+09:00", "ends_at": "2099-01-05T11:00:00+09:00",
        "component_keys": ["ckan"], "tenant_codes": [OWN]}),
    ("POST", "/api/v1/service/maintenance/{window_id}/cancel"): Rule(SERVICE, _reason),
    ("GET", "/api/v1/service/settings"): Rule(SERVICE_READ),
    ("PUT", "/api/v1/service/settings"): Rule(OPERATE, lambda: {
        "target_basis_points": 9950, "outage_after_minutes": 5, "maintenance_weekdays_only": True,
        "maintenance_start_hour": 9, "maintenance_end_hour": 17}),
    ("GET", "/api/v1/service/monthly-reports"): Rule(SERVICE_READ),
    ("POST", "/api/v1/service/monthly-reports"): Rule(SERVICE, lambda: {"month": "2026-10"}),
    ("GET", "/api/v1/service/monthly-reports/{report_id}"): Rule(SERVICE_READ),
    ("POST", "/api/v1/service/monthly-reports/{report_id}/send"): Rule(SERVICE),
    # the incident register (issue 39): kept by the operator or the vendor, read by the auditor too; the request log
    # by the operator and the auditor
    ("GET", "/api/v1/incidents"): Rule(SERVICE_READ),
    ("POST", "/api/v1/incidents"): Rule(SERVICE, lambda: {"title": "試験の障害"}),
    ("GET", "/api/v1/incidents/{incident_id}"): Rule(SERVICE_READ),
    ("PATCH", "/api/v1/incidents/{incident_id}"): Rule(SERVICE, lambda: {"severity": "critical"}),
    ("POST", "/api/v1/incidents/{incident_id}/entries"): Rule(SERVICE, lambda: {"kind": "note", "text": "経過"}),
    ("POST", "/api/v1/incidents/{incident_id}/first-report"): Rule(SERVICE),
    ("POST", "/api/v1/incidents/{incident_id}/close"): Rule(SERVICE, lambda: {
        "cause": "原因", "impact": "影響", "response": "対応", "prevention": "再発防止策"}),
    ("GET", "/api/v1/incidents/{incident_id}/reports/{kind}"): Rule(SERVICE_READ),
    # personal-data breaches (issue 56 item 4): the municipality reports its residents' breach, the operator with it;
    # the vendor and the auditor read it; the residents' desk reads its own municipality's
    ("GET", "/api/v1/breaches"): Rule(BREACH_READ),
    ("GET", "/api/v1/breaches/{breach_id}"): Rule(BREACH_READ),
    ("POST", "/api/v1/incidents/{incident_id}/breaches"): Rule(BREACH_MARK, lambda: {
        "tenant_code": OWN, "kind": "leak", "window_start": "2026-11-01T00:00:00+09:00",
        "window_end": "2026-11-02T00:00:00+09:00", "known_at": "2026-11-03T00:00:00+09:00", "service_ids": [1]}),
    ("POST", "/api/v1/breaches/{breach_id}/submissions"): Rule(BREACH_MANAGE, lambda: {"kind": "preliminary"}),
    ("GET", "/api/v1/request-log"): Rule(AUDIT),
    # the project competition (issue 41): the operator runs the call and answers, the auditor reads; members' and
    # municipalities' people ask; a group's representative (an org's or a municipality's admin) submits
    ("GET", "/api/v1/competition/calls"): Rule(AUDIT),
    ("POST", "/api/v1/competition/calls"): Rule(OPERATE, lambda: {"fiscal_year": 2031}),
    ("GET", "/api/v1/competition/calls/{call_id}"): Rule(AUDIT),
    ("POST", "/api/v1/competition/calls/{call_id}/publish"): Rule(OPERATE),
    ("GET", "/api/v1/competition/calls/{call_id}/questions"): Rule(AUDIT),
    ("POST", "/api/v1/competition/calls/{call_id}/questions"): Rule(
        {"operator": "any", "municipal-admin": "any", "municipal-staff": "any", "org-admin": "any"},
        lambda: {"question": "CSV での登録でもよいですか。"}),
    ("POST", "/api/v1/competition/questions/{question_id}/answer"): Rule(OPERATE, lambda: {"answer": "可能です。"}),
    ("POST", "/api/v1/competition/calls/{call_id}/answers/publish"): Rule(OPERATE),
    ("GET", "/api/v1/competition/calls/{call_id}/declarations"): Rule(AUDIT),
    ("POST", "/api/v1/competition/calls/{call_id}/groups/{group_id}/declaration"): Rule(
        {"operator": "any", "municipal-admin": "any", "org-admin": "any"}, lambda: {"documents": []}),
    ("POST", "/api/v1/competition/calls/{call_id}/groups/{group_id}/proposal"): Rule(
        {"operator": "any", "municipal-admin": "any", "org-admin": "any"},
        lambda: {"proposal": {"filename": "p.pdf", "content_base64": ""}, "lines": [], "total_yen": 0}),
    # applicants' rights before a deadline (issue 59 item 2): the same people as submit
    ("POST", "/api/v1/competition/calls/{call_id}/groups/{group_id}/declaration/withdraw"): Rule(
        {"operator": "any", "municipal-admin": "any", "org-admin": "any"}),
    ("POST", "/api/v1/competition/calls/{call_id}/groups/{group_id}/declaration/amend"): Rule(
        {"operator": "any", "municipal-admin": "any", "org-admin": "any"}, lambda: {"documents": []}),
    ("POST", "/api/v1/competition/calls/{call_id}/groups/{group_id}/proposal/withdraw"): Rule(
        {"operator": "any", "municipal-admin": "any", "org-admin": "any"}),
    ("POST", "/api/v1/competition/calls/{call_id}/groups/{group_id}/proposal/resubmit"): Rule(
        {"operator": "any", "municipal-admin": "any", "org-admin": "any"},
        lambda: {"proposal": {"filename": "p.pdf", "content_base64": ""}, "lines": [], "total_yen": 0}),
    ("POST", "/api/v1/competition/calls/{call_id}/stages/{stage}/groups/{group_id}/scores/correct"): Rule(
        REVIEWERS, lambda: {"marks": [{"criterion_id": 1, "passed": True}]}),
    # the review: the operator assigns reviewers and closes a stage; any person but the auditor may be a reviewer
    # (the call's assignment is the operation's check: call 1 does not exist here); results are sealed reads
    ("POST", "/api/v1/competition/calls/{call_id}/reviewers"): Rule(OPERATE, lambda: {"subject": "r-1"}),
    ("POST", "/api/v1/competition/calls/{call_id}/conflicts"): Rule(REVIEWERS, lambda: {"group_id": 1}),
    ("POST", "/api/v1/competition/calls/{call_id}/stages/{stage}/groups/{group_id}/scores"): Rule(
        REVIEWERS, lambda: {"marks": [{"criterion_id": 1, "passed": True}]}),
    ("GET", "/api/v1/competition/calls/{call_id}/stages/{stage}/my-scores"): Rule(REVIEWERS),
    ("POST", "/api/v1/competition/calls/{call_id}/stages/{stage}/close"): Rule(OPERATE),
    ("POST", "/api/v1/competition/calls/{call_id}/close"): Rule(OPERATE, lambda: {"reason": "応募なし"}),
    ("POST", "/api/v1/competition/calls/{call_id}/reopen"): Rule(OPERATE, lambda: {"reason": "再公募"}),
    ("GET", "/api/v1/competition/calls/{call_id}/stages/{stage}/results"): Rule(AUDIT),
    ("POST", "/api/v1/competition/calls/{call_id}/stages/{stage}/selection"): Rule(OPERATE, lambda: {"group_ids": [1]}),
    ("GET", "/api/v1/competition/calls/{call_id}/stages/{stage}/selection"): Rule(AUDIT),
    # contract and delivery: the operator records the contract and its deliveries, finance reads it and enters its cost
    ("GET", "/api/v1/competition/calls/{call_id}/contracts"): Rule(READ_ALL),
    ("POST", "/api/v1/competition/calls/{call_id}/groups/{group_id}/contract"): Rule(OPERATE, lambda: {
        "representative": "9000020431001", "amount_yen": 1, "starts_on": "2025-06-01", "ends_on": "2026-03-27",
        "signed_on": "2025-06-01", "lines": [{"category": "labour", "item": "人件費", "amount_yen": 1}]}),
    ("GET", "/api/v1/competition/contracts/{contract_id}"): Rule(READ_ALL),
    ("GET", "/api/v1/competition/contracts/{contract_id}/data-rule"): Rule(READ_ALL),
    ("POST", "/api/v1/competition/contracts/{contract_id}/items/{item_id}/delivered"): Rule(
        OPERATE, lambda: {"delivered_on": "2026-03-01"}),
    ("POST", "/api/v1/competition/contracts/{contract_id}/cost"): Rule(FINANCE, lambda: {"grant_id": 1}),
    ("POST", "/api/v1/tenants/{code}/residents"): Rule(RESIDENT_DESK, lambda: {
        "full_name": "試験 太郎", "address": "熊本市中央区1-1", "birth_date": "1980-01-01", "sex": "1",
        "verification": "my_number_card", "assurance_level": 3}),
    ("POST", "/api/v1/tenants/{code}/residents/lookup"): Rule(RESIDENT_DESK, lambda: {
        "common_id": "0000000000000000", "reason": "権限の確認"}),
    ("POST", "/api/v1/tenants/{code}/residents/lookup-by-service"): Rule(RESIDENT_DESK, lambda: {
        "service_id": 1, "service_user_id": "matrix-user-0001", "reason": "権限の確認"}),
    ("POST", "/api/v1/tenants/{code}/residents/search-by-name"): Rule(RESIDENT_DESK, lambda: {
        "full_name": "試験 太郎", "reason": "権限の確認"}),
    # numbers for policy work (small counts suppressed): the desk and the city's admin, their own city only
    ("GET", "/api/v1/tenants/{code}/residents/figures"): Rule({"resident-desk": "own", "municipal-admin": "own"}),
    ("POST", "/api/v1/tenants/{code}/residents/{common_id}/links"): Rule(RESIDENT_DESK, lambda: {
        "service_id": 1, "service_user_id": "matrix-user-0001", "assurance_level": 3}),
    ("PUT", "/api/v1/tenants/{code}/residents/{common_id}/disclosure"): Rule(RESIDENT_DESK, lambda: {
        "service_id": 1, "items": ["生年月日"], "reason": "権限の確認"}),
    # the brokerage (issue 42 item 6): a data service's API client only (residents:broker), no person
    ("POST", "/api/v1/residents/broker"): Rule({}, lambda: {
        "service_id": 1, "service_user_id": "matrix-user-0001", "items": ["氏名"], "purpose": "権限の確認"}),
    ("POST", "/api/v1/residents/broker/linked-id"): Rule({}, lambda: {
        "service_id": 1, "service_user_id": "matrix-user-0001", "target_service_id": 2, "purpose": "権限の確認"}),
    # a service's one-time link code for the residents' portal: its API client only (residents:broker), no person
    ("POST", "/api/v1/residents/link-codes"): Rule({}, lambda: {
        "service_id": 1, "service_user_id": "matrix-user-0001"}),
    ("GET", "/api/v1/tenants/{code}/resident-reviews"): Rule(RESIDENT_DESK),
    # recovery (issue 42 item 3): split and merge, proposed and decided by the municipality's own desk
    ("POST", "/api/v1/tenants/{code}/resident-recoveries/split"): Rule(RESIDENT_DESK, lambda: {
        "common_id": "0000000000000000", "service_id": 1, "reason": "権限の確認"}),
    ("POST", "/api/v1/tenants/{code}/resident-recoveries/merge"): Rule(RESIDENT_DESK, lambda: {
        "surviving_common_id": "0000000000000000", "merged_common_id": "1111111111111111", "reason": "権限の確認"}),
    ("GET", "/api/v1/tenants/{code}/resident-recoveries"): Rule(RESIDENT_DESK),
    # a notice to the municipality's residents, shown in the portal (issue 42 item 7): the operator or its own desk
    ("POST", "/api/v1/tenants/{code}/resident-notices"): Rule({"operator": "any", "resident-desk": "own"}, lambda: {
        "title_ja": "権限の確認", "body_ja": "権限の確認のお知らせです。"}),
    ("POST", "/api/v1/tenants/{code}/resident-recoveries/{recovery_id}/approve"): Rule(RESIDENT_DESK, lambda: {}),
    ("POST", "/api/v1/tenants/{code}/resident-recoveries/{recovery_id}/refuse"): Rule(RESIDENT_DESK, lambda: {
        "reason": "権限の確認"}),
    ("POST", "/api/v1/tenants/{code}/resident-recoveries/{recovery_id}/cancel"): Rule(RESIDENT_DESK, lambda: {
        "reason": "権限の確認"}),
    ("POST", "/api/v1/tenants/{code}/resident-reviews/{review_id}/decide"): Rule(RESIDENT_DESK, lambda: {
        "same_person": True, "reason": "権限の確認"}),
    # meetings and minutes (governance/meetings.py) and the community and working groups (secretariat/groups.py):
    # the secretariat (the operator or the contracted secretariat) records and publishes, the prefecture's operator
    # approves (it inspects what its contractor submits), the auditor reads
    ("GET", "/api/v1/meetings"): Rule(DESK_READ),
    ("POST", "/api/v1/meetings"): Rule(DESK, lambda: {
        "kind": "prefecture", "title": "matrix", "held_at": "2026-11-20T14:00:00+09:00"}),
    ("GET", "/api/v1/meetings/{meeting_id}"): Rule(DESK_READ),
    ("PUT", "/api/v1/meetings/{meeting_id}"): Rule(DESK, lambda: {
        "title": "matrix", "held_at": "2026-11-20T14:00:00+09:00"}),
    ("PUT", "/api/v1/meetings/{meeting_id}/minutes"): Rule(DESK, lambda: {"text": "議事"}),
    ("POST", "/api/v1/meetings/{meeting_id}/minutes/approve"): Rule(OPERATE),
    ("POST", "/api/v1/meetings/{meeting_id}/minutes/return"): Rule(OPERATE, lambda: {"reason": "権限の確認"}),
    ("POST", "/api/v1/meetings/{meeting_id}/minutes/publish"): Rule(DESK),
    # documents a contractor owes the prefecture (governance/submissions.py): the contractors submit their own, the
    # prefecture opens and inspects them, the auditor reads
    ("GET", "/api/v1/submissions"): Rule(SUBMISSIONS_READ),
    ("POST", "/api/v1/submissions"): Rule(OPERATE, lambda: {"kind": "project_plan", "title": "matrix",
                                                            "due_on": "2027-01-15", "contractor": "secretariat",
                                                            "refers_to": f"matrix-{uuid.uuid4().hex[:8]}"}),
    ("GET", "/api/v1/submissions/{submission_id}"): Rule(SUBMISSIONS_READ),
    ("POST", "/api/v1/submissions/{submission_id}/versions"): Rule(CONTRACTED, lambda: {"text": "matrix"}),
    ("GET", "/api/v1/submissions/{submission_id}/versions/{number}/content"): Rule(SUBMISSIONS_READ),
    ("POST", "/api/v1/submissions/{submission_id}/approve"): Rule(OPERATE),
    ("POST", "/api/v1/submissions/{submission_id}/return"): Rule(OPERATE, lambda: {"reason": "権限の確認"}),
    ("GET", "/api/v1/meetings/{meeting_id}/minutes/pdf"): Rule(DESK_READ),
    ("GET", "/api/v1/community-groups"): Rule(DESK_READ),
    ("POST", "/api/v1/community-groups"): Rule(DESK, lambda: {"kind": "working_group", "name": f"WG {uuid.uuid4().hex[:6]}"}),
    ("GET", "/api/v1/community-groups/{community_group_id}"): Rule(DESK_READ),
    ("PUT", "/api/v1/community-groups/{community_group_id}/target"): Rule(DESK, lambda: {"target_members": 20}),
    ("POST", "/api/v1/community-groups/{community_group_id}/members"): Rule(DESK, lambda: {"corporate_number": "8000012050001"}),
    ("DELETE", "/api/v1/community-groups/{community_group_id}/members/{corporate_number}"): Rule(DESK),
    ("PUT", "/api/v1/community-groups/{community_group_id}/council"): Rule(DESK, lambda: {"under_council": False}),
    ("DELETE", "/api/v1/community-groups/{community_group_id}/memberships/{membership_id}"): Rule(DESK),
    # the members' site (issue 58 item 2): members' people and the desk read; a member's people list their own
    # member's solutions only (the matrix's org-admin belongs to no registered member: 404, never 403)
    ("GET", "/api/v1/solutions"): Rule(MEMBERS_SITE),
    ("POST", "/api/v1/solutions"): Rule(MEMBER_ITSELF, _solution_body),
    ("GET", "/api/v1/solutions/{solution_id}"): Rule(MEMBERS_SITE),
    ("PUT", "/api/v1/solutions/{solution_id}"): Rule(MEMBER_ITSELF, _solution_body),
    ("POST", "/api/v1/solutions/{solution_id}/withdraw"): Rule(MEMBER_ITSELF, _reason),
    ("GET", "/api/v1/solution-needs"): Rule(MEMBER_ITSELF),
    ("GET", "/api/v1/member-directory"): Rule(MEMBERS_SITE),
    # the archive: also a municipality's people (their staff training's)
    ("GET", "/api/v1/event-archive"): Rule({**MEMBERS_SITE, "municipal-admin": "any", "municipal-staff": "any"}),
}
# answers whose status is a decision about the token in the body, not about the caller (401/403 allowed)
DECISIONS = {("POST", "/api/v1/gateway/check")}
NOT_BY_BEARER = {("GET", "/api/v1/gateway/auth")}  # refused with 401: a bearer token is not its credential

# placeholders for path parameters other than the tenant code and user id
PATH_VALUES = {"{adviser_id}": "1", "{consultation_id}": "1", "{checklist}": "screening", "{item}": "no_antisocial_ties", "{plan}": "small", "{item_id}": "1",
               "{policy_id}": "1", "{run_id}": "1", "{fiscal_year}": "2025", "{document}": "joint_use_agreement",
               "{number}": "1", "{proposal_id}": "1", "{client_id}": "1", "{request_id}": "1",
               "{corporate_number}": "8000012050001", "{group_id}": "1", "{change_id}": "1",
               "{uid}": "no-such-dataset", "{verb}": "submit", "{level}": "2", "{service_id}": "1",
               "{category}": "other", "{licence}": "CC0-1.0",
               "{transition}": "suspend", "{receipt_id}": "00000000-0000-0000-0000-000000000000",
               "{subject_id}": "pid-matrix-0001", "{key}": "dcat", "{window_id}": "1", "{incident_id}": "1",
               "{inquiry_id}": "1", "{event_id}": "1", "{registration_id}": "1", "{call_id}": "1", "{question_id}": "1", "{contract_id}": "1",
               "{stage}": "first", "{issue_id}": "1", "{report_id}": "1", "{common_id}": "0000000000000000",
               "{review_id}": "1", "{meeting_id}": "1", "{community_group_id}": "1", "{membership_id}": "1",
               "{kind}": "first", "{breach_id}": "1", "{event_kind}": "member_seminar", "{reminder_id}": "1",
               "{smart_service_id}": "1", "{submission_id}": "1", "{idea_id}": "1", "{need_id}": "1",
               "{solution_id}": "1"}  # another organisation than the org-admin's (none registered)

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
# a body no operation accepts (a field no model has): a caller the operation refuses must learn nothing of its
# rules, so it gets 403 (or 404 for a row it may not see), never the 422 naming the field (issue 36)
INVALID_BODY = {"renkei_not_a_field": [1]}
# refused here only because the body or the row names another party than the caller's own: these roles may call
# the operation for their own tenant or organisation, so its body's rules are theirs to know (422 is fine)
OWN_PARTY_IN_BODY_OR_ROW = {
    ("POST", "/api/v1/consultations", "org-admin"),  # the member is named in the body
    ("POST", "/api/v1/members/{corporate_number}/withdraw", "org-admin"),
    ("PUT", "/api/v1/members/{corporate_number}/details", "org-admin"),
    ("PATCH", "/api/v1/api-clients/{client_id}", "municipal-admin"),
    ("PATCH", "/api/v1/api-clients/{client_id}", "org-admin"),
    ("POST", "/api/v1/api-clients/{client_id}/rotate", "municipal-admin"),
    ("POST", "/api/v1/api-clients/{client_id}/rotate", "org-admin"),
    ("POST", "/api/v1/datasets", "org-admin"),
    ("POST", "/api/v1/consent/services", "org-admin"),
    ("POST", "/api/v1/consent/services/{service_id}/texts", "municipal-admin"),
    ("POST", "/api/v1/consent/services/{service_id}/texts", "org-admin"),
}


def operations(document) -> list[tuple[str, str]]:
    return sorted((method.upper(), path) for path, item in document["paths"].items() for method in item
                  if method in {"get", "post", "put", "patch", "delete"})


def test_every_endpoint_has_a_rule(client):
    document = client.get("/api/v1/openapi.json").get_json()
    missing = [op for op in operations(document) if op not in ENDPOINTS]
    assert missing == [], f"endpoints without an authorization rule in this test: {missing}"
    stale = [op for op in ENDPOINTS if op not in operations(document)]
    assert stale == []


@pytest.fixture(autouse=True)
def tokens_outlive_the_cases(app, monkeypatch):
    """The operator's suspend and withdraw cases disable the cached accounts of OWN in Keycloak, and
    renkei then refuses their tokens at once (the deny list, tests/identity/test_access_ends.py).
    This matrix is about roles and tenant scope only, so here the deny list refuses nobody."""

    class RefusesNobody:
        def refused(self, *_args):
            return False

    monkeypatch.setitem(app.extensions, "renkei_deny_list", RefusesNobody())
    monkeypatch.setitem(app.config, "RENKEI_ADMIN_EVENTS_INTERVAL", 0)


@pytest.fixture(scope="module")
def callers(user_factory) -> Callable:
    """``user_factory`` kept for this module: one Keycloak person per role, made once, its token reused
    until it nears expiry. The session's ``user_factory`` asks Keycloak's admin events, on every call, whether a
    cached person has been changed since (a Keycloak round trip a case, three thousand cases a pass); here
    the answer cannot change a case: a token carries its roles and tenant, and the deny list refuses nobody
    (:func:`tokens_outlive_the_cases`). The next test outside this module still asks, about every event
    since its last look."""
    made: dict[tuple, tuple] = {}

    def caller(roles, tenant):
        key = (tuple(sorted(roles)), tenant)
        if key not in made or expires_soon(made[key][1]):
            made[key] = user_factory(roles, tenant, fresh=True)
        return made[key]

    return caller


@pytest.fixture(scope="module")
def staff_ids(directory):
    """A staff account in each of the two tenants, to aim user endpoints at."""
    ids = {}
    for code in (OWN, OTHER):
        directory.ensure_tenant_group(code)
        name = f"target-{code}-{uuid.uuid4().hex[:6]}"
        user_id = directory.create_user(name, f"{name}@example.jp", "標的", "利用者", password="Target-password-1")
        directory.add_to_tenant(user_id, code)
        directory.set_roles(user_id, {"municipal-staff"}, {"municipal-staff"})
        ids[code] = user_id
    return ids


def _cases():
    for (method, path), rule in ENDPOINTS.items():
        for role in ROLES:
            # a contractor's grants are all for every tenant (core.authz): one tenant tells as much as two
            scopes = ("own", "other") if "{code}" in path and role not in CONTRACTORS else ("any",)
            for scope in scopes:
                yield pytest.param(method, path, role, scope, id=f"{method} {path} as {role} ({scope})")


def _expected(rule: Rule, role: str, scope: str) -> bool:
    grant = rule.who.get(role)
    if grant is None:
        return False
    if grant == "own" and scope == "other":
        return False
    return True


@pytest.mark.parametrize("method,path,role,scope", list(_cases()))
def test_endpoint_role_scope(app, client, tenant_factory, callers, staff_ids, method, path, role, scope):
    seeded_database(app, "matrix-tenants", lambda: (tenant_factory(OWN), tenant_factory(OTHER)))
    rule = ENDPOINTS[(method, path)]
    roles, tenant = ROLES[role]
    _, headers = callers(roles, tenant)
    code = OTHER if scope == "other" else OWN
    url = path.replace("{code}", code).replace("{user_id}", staff_ids[code])
    for placeholder, value in PATH_VALUES.items():
        url = url.replace(placeholder, value)
    body = rule.body() if rule.body else None
    response = client.open(url, method=method, json=body, headers=headers)
    response.close()  # file downloads stream from a spooled file until closed
    decided = (method, path) in DECISIONS and "allowed" in (response.get_json(silent=True) or {})
    if _expected(rule, role, scope):
        assert response.status_code not in (401, 403) or decided, (response.status_code, response.get_data(as_text=True)[:300])
        assert response.status_code < 500
    elif (method, path) in NOT_BY_BEARER:
        assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Basic")
    else:
        assert response.status_code in (403, 404) and not decided, (response.status_code, response.get_data(as_text=True)[:300])
        if rule.body is not None and (method, path, role) not in OWN_PARTY_IN_BODY_OR_ROW:
            invalid = client.open(url, method=method, json=INVALID_BODY, headers=headers)
            assert invalid.status_code in (403, 404), (invalid.status_code, invalid.get_data(as_text=True)[:300])


def test_every_operation_with_a_body_names_its_action_for_the_check_before_the_body(client):
    """The edge asks core.authz before it reads a body (admin/api/authorized_first.py): an operation
    missing there would read the body of a caller it refuses."""
    from admin.api.authorized_first import ACTIONS
    from core.authz import ACTION_LABELS_JA

    document = client.get("/api/v1/openapi.json").get_json()
    with_body = {(method.upper(), path) for path, item in document["paths"].items() for method, operation in item.items()
                 if isinstance(operation, dict) and "requestBody" in operation}
    assert sorted(with_body - set(ACTIONS) - DECISIONS - NOT_BY_BEARER) == []
    assert sorted(set(ACTIONS) - with_body) == [] and set(ACTIONS.values()) <= set(ACTION_LABELS_JA)
