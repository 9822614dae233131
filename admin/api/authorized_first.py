"""Who may send a body, asked before the body is read (issue 36).

A request body was validated before the operation asked :mod:`core.authz`, so a role that may not
call an operation learned its rules from the 422 (a check digit, a field's bounds, which fields
exist). The edge (:class:`admin.edge.StrictModels`) now asks, before it reads the body, whether
the caller's roles may do the operation's action at all, and, where the path names a tenant
(``{code}``), for that tenant: a refusal is the same 403 the operation gives. This table only
names each operation's action; the rule itself stays in :mod:`core.authz`, and the operation still
asks it (a tenant named in the body, a row's owner). ``tests/identity/test_authorization_matrix.py``
sends invalid bodies to every refused role and expects 403/404, and checks that every operation
with a body is listed here.
"""

from __future__ import annotations

import re

# (method, path as the OpenAPI document writes it) -> the action of core.authz the operation asks
ACTIONS: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/tenants"): "tenant.create",
    ("PATCH", "/api/v1/tenants/{code}"): "tenant.update",
    ("POST", "/api/v1/tenants/{code}/users"): "user.manage",
    ("PUT", "/api/v1/tenants/{code}/users/{user_id}/roles"): "user.manage",
    ("POST", "/api/v1/tenants/{code}/screen"): "tenant.transition",
    ("POST", "/api/v1/tenants/{code}/approve"): "tenant.transition",
    ("POST", "/api/v1/tenants/{code}/provision"): "tenant.transition",
    ("POST", "/api/v1/tenants/{code}/retry"): "tenant.transition",
    ("POST", "/api/v1/tenants/{code}/activate"): "tenant.transition",
    ("POST", "/api/v1/tenants/{code}/suspend"): "tenant.transition",
    ("POST", "/api/v1/tenants/{code}/resume"): "tenant.transition",
    ("POST", "/api/v1/tenants/{code}/withdraw"): "tenant.transition",
    ("POST", "/api/v1/tenants/{code}/reapply"): "tenant.transition",
    ("PUT", "/api/v1/tenants/{code}/checklist/{checklist}/{item}"): "tenant.transition",
    ("POST", "/api/v1/onboarding/waves"): "tenant.transition",
    ("POST", "/api/v1/usage"): "usage.ingest",
    ("PUT", "/api/v1/quota-plans/{plan}"): "quota.manage",
    ("PUT", "/api/v1/tenants/{code}/quota-plan"): "quota.manage",
    ("PUT", "/api/v1/tenants/{code}/quota-override"): "quota.manage",
    ("POST", "/api/v1/billing/cost-items"): "billing.manage",
    ("POST", "/api/v1/billing/budgets"): "billing.manage",
    ("PUT", "/api/v1/billing/grants/{grant_id}"): "billing.manage",
    ("POST", "/api/v1/billing/grants/{grant_id}/fix"): "billing.manage",
    ("POST", "/api/v1/billing/grants"): "billing.manage",
    ("POST", "/api/v1/billing/policies"): "billing.manage",
    ("POST", "/api/v1/billing/policies/{policy_id}/adopt"): "billing.manage",
    ("POST", "/api/v1/billing/runs"): "billing.manage",
    ("POST", "/api/v1/billing/fiscal-years/{fiscal_year}/estimates"): "billing.manage",
    ("POST", "/api/v1/billing/runs/{run_id}/review"): "billing.manage",
    ("POST", "/api/v1/billing/runs/{run_id}/reverse"): "billing.manage",
    ("POST", "/api/v1/billing/payments"): "billing.manage",
    ("POST", "/api/v1/billing/runs/{run_id}/letters"): "billing.manage",
    ("PUT", "/api/v1/settings/prefecture"): "settings.manage",
    ("POST", "/api/v1/agreements/{document}/versions"): "agreement.manage",
    ("POST", "/api/v1/agreements/{document}/versions/{number}/publish"): "agreement.manage",
    ("POST", "/api/v1/agreements/{document}/versions/{number}/acceptances"): "agreement.accept",
    ("POST", "/api/v1/council/proposals"): "council.manage",
    ("POST", "/api/v1/council/proposals/{proposal_id}/votes"): "council.vote",
    ("POST", "/api/v1/council/proposals/{proposal_id}/withdraw"): "council.manage",
    ("POST", "/api/v1/members/{corporate_number}/documents"): "member.screen",
    ("PUT", "/api/v1/members/{corporate_number}/checklist/{item_id}"): "member.screen",
    ("POST", "/api/v1/members/{corporate_number}/approve"): "member.screen",
    ("POST", "/api/v1/members/{corporate_number}/reject"): "member.screen",
    ("POST", "/api/v1/members/{corporate_number}/withdraw"): "member.withdraw",
    ("POST", "/api/v1/members/checklist"): "member.screen",
    ("POST", "/api/v1/members/import"): "member.import",
    ("PUT", "/api/v1/members/recruitment-targets/{fiscal_year}"): "member.target",
    ("POST", "/api/v1/progress/items"): "progress.manage",
    ("PATCH", "/api/v1/progress/items/{item_id}"): "progress.manage",
    ("POST", "/api/v1/progress/issues"): "progress.manage",
    ("PATCH", "/api/v1/progress/issues/{issue_id}"): "progress.manage",
    ("POST", "/api/v1/project-groups"): "project.manage",
    ("PUT", "/api/v1/project-groups/{group_id}"): "project.manage",
    ("POST", "/api/v1/project-groups/{group_id}/dissolve"): "project.manage",
    ("POST", "/api/v1/tenants/{code}/api-clients"): "api_client.manage",
    ("PATCH", "/api/v1/api-clients/{client_id}"): "api_client.manage",
    ("POST", "/api/v1/api-clients/{client_id}/rotate"): "api_client.manage",
    ("POST", "/api/v1/gateway/check"): "gateway.check",
    ("POST", "/api/v1/api-client-requests/{request_id}/approve"): "api_client.approve",
    ("POST", "/api/v1/api-client-requests/{request_id}/reject"): "api_client.approve",
    ("PUT", "/api/v1/api-client-policy"): "api_client.policy",
    ("POST", "/api/v1/datasets"): "dataset.manage",
    ("PUT", "/api/v1/datasets/{uid}"): "dataset.manage",
    ("POST", "/api/v1/datasets/{uid}/check"): "dataset.manage",
    ("POST", "/api/v1/datasets/{uid}/{verb}"): "dataset.manage",
    ("POST", "/api/v1/datasets/import"): "dataset.manage",
    ("POST", "/api/v1/datasets/{uid}/terms"): "dataset.manage",
    ("POST", "/api/v1/dataset-terms/{uid}/acceptances"): "dataset.terms.accept",
    ("POST", "/api/v1/dataset-categories"): "dataset.settings",
    ("PUT", "/api/v1/dataset-categories/{category}/active"): "dataset.settings",
    ("POST", "/api/v1/dataset-licences"): "dataset.settings",
    ("PUT", "/api/v1/dataset-licences/{licence}/active"): "dataset.settings",
    ("PUT", "/api/v1/consent/levels/{level}"): "consent.manage",
    ("POST", "/api/v1/consent/services"): "consent.service.manage",
    ("POST", "/api/v1/consent/services/{service_id}/texts"): "consent.service.manage",
    ("POST", "/api/v1/consent/services/{service_id}/{transition}"): "consent.manage",
    ("POST", "/api/v1/consent/records"): "consent.record",
    ("POST", "/api/v1/consent/withdrawals"): "consent.record",
    ("POST", "/api/v1/consent/check"): "consent.check",
    ("POST", "/api/v1/tenants/{code}/residents"): "resident.enrol",
    ("POST", "/api/v1/tenants/{code}/residents/lookup"): "resident.read",
    ("POST", "/api/v1/tenants/{code}/residents/lookup-by-service"): "resident.read",
    ("POST", "/api/v1/tenants/{code}/residents/{common_id}/links"): "resident.link",
    ("PUT", "/api/v1/tenants/{code}/residents/{common_id}/disclosure"): "resident.link",
    ("POST", "/api/v1/residents/broker"): "resident.broker",
    ("POST", "/api/v1/tenants/{code}/resident-reviews/{review_id}/decide"): "resident.review",
    ("POST", "/api/v1/service/components"): "service.manage",
    ("PUT", "/api/v1/service/components/{key}/active"): "service.manage",
    ("POST", "/api/v1/service/maintenance"): "service.manage",
    ("POST", "/api/v1/service/maintenance/{window_id}/cancel"): "service.manage",
    ("PUT", "/api/v1/service/settings"): "service.manage",
    ("POST", "/api/v1/service/monthly-reports"): "service.manage",
    ("POST", "/api/v1/incidents"): "incident.manage",
    ("POST", "/api/v1/incidents/{incident_id}/entries"): "incident.manage",
    ("POST", "/api/v1/incidents/{incident_id}/close"): "incident.manage",
    ("POST", "/api/v1/inquiries"): "inquiry.manage",
    ("POST", "/api/v1/inquiries/{inquiry_id}/assign"): "inquiry.manage",
    ("POST", "/api/v1/inquiries/{inquiry_id}/replies"): "inquiry.manage",
    ("POST", "/api/v1/inquiries/{inquiry_id}/transitions"): "inquiry.manage",
    ("POST", "/api/v1/events"): "event.manage",
    ("POST", "/api/v1/events/{event_id}/registrations"): "event.register",
    ("PUT", "/api/v1/events/{event_id}/attendance"): "event.manage",
    ("PUT", "/api/v1/events/{event_id}/archive"): "event.manage",
    ("PUT", "/api/v1/event-years/{fiscal_year}/targets/{event_kind}"): "event.manage",
    ("POST", "/api/v1/competition/calls"): "competition.manage",
    ("POST", "/api/v1/competition/calls/{call_id}/questions"): "competition.ask",
    ("POST", "/api/v1/competition/questions/{question_id}/answer"): "competition.manage",
    ("POST", "/api/v1/competition/calls/{call_id}/groups/{group_id}/declaration"): "competition.submit",
    ("POST", "/api/v1/competition/calls/{call_id}/groups/{group_id}/proposal"): "competition.submit",
    ("POST", "/api/v1/competition/calls/{call_id}/reviewers"): "competition.manage",
    ("POST", "/api/v1/competition/calls/{call_id}/conflicts"): "competition.review",
    ("POST", "/api/v1/competition/calls/{call_id}/stages/{stage}/groups/{group_id}/scores"): "competition.review",
    ("POST", "/api/v1/competition/calls/{call_id}/stages/{stage}/selection"): "competition.manage",
    ("POST", "/api/v1/meetings"): "meeting.manage",
    ("PUT", "/api/v1/meetings/{meeting_id}"): "meeting.manage",
    ("PUT", "/api/v1/meetings/{meeting_id}/minutes"): "meeting.manage",
    ("POST", "/api/v1/community-groups"): "group.manage",
    ("PUT", "/api/v1/community-groups/{community_group_id}/target"): "group.manage",
    ("POST", "/api/v1/community-groups/{community_group_id}/members"): "group.manage",
}

_PARAMETER = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")


def openapi_path(rule: str) -> str:
    """A Flask rule (``/api/v1/tenants/<code>``, ``<int:run_id>``) as the OpenAPI document writes it."""
    return _PARAMETER.sub(r"{\1}", rule)


def action_of(method: str, rule: str) -> str | None:
    return ACTIONS.get((method, openapi_path(rule)))
