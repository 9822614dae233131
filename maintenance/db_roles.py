"""The application's database role on PostgreSQL: exactly the rights the code needs.

The schema owner creates and migrates the schema (``renkei db upgrade``) and then grants the
application role (``renkei db grant --app-role NAME``). The application role may read every
table and insert rows (but into the tables of :data:`READ_ONLY`, which it writes only through
the functions of :data:`APP_FUNCTIONS`); it may update or delete only where an operation does so (the table
below, column by column where the operations change a few known columns). It owns nothing, so
it cannot alter or drop a table, disable or replace a guard trigger, nor TRUNCATE.

The list was found by running the test suite as the application role and reading its refusals.
What needs more than the application role (partition maintenance of ``usage_event``, which
creates and drops partitions) runs as the owner; see docs/deployment.md.
"""

from __future__ import annotations

import sqlalchemy as sa

from core.db import metadata
from usage.models import USAGE_ADD_FUNCTION

# table → privileges beyond SELECT and INSERT. "UPDATE (a, b)" is column-level.
APP_RIGHTS: dict[str, tuple[str, ...]] = {
    # the audit log: the chain head moves forward (locked FOR UPDATE by every append); the purge
    # moves the anchor and deletes archived records (the guard triggers allow nothing else)
    "audit_chain_head": ("UPDATE (last_seq, last_hash)",),
    "audit_anchor": ("UPDATE (purged_through_seq, purged_through_hash, purged_count, purged_at, archive_name, archive_sha256)",),
    "audit_record": ("DELETE",),
    # personal data by consent (residents.consent): the chains' heads move forward, linkage records
    # past their retention are purged after the anchor moved; the records themselves are insert-only
    "chain_head": ("UPDATE (last_seq, last_hash)",),
    "chain_anchor": ("UPDATE (purged_through_seq, purged_through_hash, purged_count, purged_at, archive_name, archive_sha256)",),
    "linkage_record": ("DELETE",),
    "data_service": ("UPDATE (status, status_reason, current_text_id)",),
    "assurance_level": ("UPDATE (label_ja, label_en)",),
    # billing: the ledger writer posts what it inserted; runs move through their states; cost
    # items are corrected (an amortised item is re-split) while no run uses them
    "billing_journal_entry": ("UPDATE (status)",),  # pending → posted, by the ledger writer
    "billing_policy": ("UPDATE (status, resolution_ref, adopted_at, adopted_by)",),  # adoption, supersession
    "billing_run": ("UPDATE (status, reviewed_at, reviewed_by, review_note, reviewed_by_key, approved_at, approved_by, "
                    "posted_on, reversed_at, reversed_by, reversal_reason, four_eyes)",),
    # an issued statement keeps its number; a reissue is counted on its row
    "billing_statement_document": ("UPDATE (reissue_count, reissued_on, reissued_by)",),
    # a reminder (督促状) is marked paid once, by the payment that pays its statement off (billing.overdue)
    "billing_reminder": ("UPDATE (paid_on)",),
    # a manual payment (no bank line) is approved once by a second person (billing.bank_reconciliation); the bank
    # files, their lines and the payment links are only added
    "billing_manual_payment": ("UPDATE (approved_at, approved_by, entry_id)",),
    "billing_cost_item": ("UPDATE (name, category, amount, invoiced_amount, tax_treatment, tax_amount, vendor, reference)",
                          "DELETE"),
    # grants: entered, decided and edited while no run of their year is posted; the fixed amount
    # (額の確定) is recorded after the year
    "billing_grant": ("UPDATE (fiscal_year, name, grantor, rate, categories, item_ids, applied_amount, decided_amount, "
                      "decided_on, decision_reference, fixed_amount, fixed_on, rounding, fixed_amount_authoritative)",
                      "DELETE"),
    # budgets: a version is adopted by the council and later superseded by a revision; never edited
    "billing_budget": ("UPDATE (status, adopted_at, resolution_ref)",),
    # a fiscal year's close: requested, closed by a second person (its statement and hash written
    # then), withdrawn, or reopened by the council (billing.year_close_guards allow nothing else)
    "billing_year_close": ("UPDATE (status, closed_at, closed_by, statement_json, statement_sha256, reopened_at, "
                           "reopen_resolution_id)",),
    # governance: a resolution's enactment is noted once (its trigger allows nothing else)
    "council_resolution": ("UPDATE (enacted_at, enacted_ref)",),
    "council_proposal": ("UPDATE",),  # opened, closed, withdrawn
    "agreement_version": ("UPDATE",),  # drafts edited, then published
    # registry and usage state that operations change in place
    "tenant": ("UPDATE",),
    "prefecture_settings": ("UPDATE",),  # the operator edits the prefecture's facts
    "tenant_onboarding": ("UPDATE",),
    "provisioning_step": ("UPDATE",),  # the provisioning saga records each step's progress
    "quota_plan": ("UPDATE",),
    "quota_limit": ("UPDATE (limit_value, enforcement)", "DELETE"),  # a plan's limit edited or removed
    "tenant_quota": ("UPDATE", "DELETE"),  # a tenant's plan changed or taken away
    "quota_override": ("UPDATE", "DELETE"),  # a tenant's own limit changed or removed
    "suspended_account": ("DELETE",),  # resume and withdrawal clear the accounts suspended
    "usage_batch": ("UPDATE (events_accepted, events_duplicate)",),  # a batch's counts, once ingested
    "usage_dataset_month": ("UPDATE (total, events)",),  # ingest adds a batch's use of each dataset (issue 22)
    "usage_dataset_call": ("UPDATE (calls)",),  # the gateway call log's fold adds a call to a dataset (issue 37)
    "gateway_folded_segment": ("DELETE",),  # the fold forgets the names of segments folded 35 days ago
    "identity_incident": ("UPDATE (resolved_at, resolved_by, resolution_note)",),  # the operator resolves one
    # the incident register (service/incidents): an incident recovers and closes with its final report's parts;
    # its timeline, affected parties and numbered reports are insert-only
    # and its severity is changed after opening (service.incidents.operations.edit_incident: parties are only added)
    "incident": ("UPDATE (status, severity, recovered_at, closed_at, outage_key, cause, impact, response, prevention)",),
    # a personal-data breach (service.breaches): the report's items written, the 速報 and 確報 recorded as submitted
    "incident_breach": ("UPDATE (summary, cause, secondary_damage, response_to_persons, publication, prevention, other, "
                        "preliminary_reported_at, preliminary_reported_by, final_reported_at, final_reported_by)",),
    # the outbox: delivery marks a message sent or failed (and locks it FOR UPDATE while sending)
    # delivery moves a message on; an inquiry's purge (secretariat.inquiries) blanks a sent reply's text and address
    "notification": ("UPDATE (status, attempts, last_error, sent_at, body, recipients)",),
    # onboarding checklists are ticked and reset; a tenant's contacts are edited and removed
    "onboarding_checklist_item": ("UPDATE (checked, note, checked_at, checked_by)",),
    "tenant_contact": ("UPDATE", "DELETE"),
    # the deny list: a later denial moves a subject's row forward; the due jobs delete expired rows
    "denied_subject": ("UPDATE (denied_at, keep_until, reason)", "DELETE"),
    # the people index (tenancy.identity.people_index): a copy of Keycloak's people, rewritten by events,
    # acts and rebuilds
    "person_index": ("UPDATE", "DELETE"),
    "person_index_tenant": ("DELETE",),
    "person_index_word": ("DELETE",),
    "person_index_state": ("UPDATE",),
    # API clients: edited (name, purpose, scopes, expiry, allowlist), revoked or disabled; a rotated
    # credential gets its overlap's end, then is retired
    "api_client": ("UPDATE (name, purpose, scopes, expires_on, allowlist, allow_any, status, revoked_at)",),
    "api_client_credential": ("UPDATE (valid_until, retired, missing_since)",),
    # the operator's policy for API clients (one row, edited); requests are decided
    "api_client_policy": ("UPDATE",),
    "api_client_request": ("UPDATE (status, decided_at, decided_by, decision_note)",),
    # no enumeration: a decoy member's roles and state change, and it is removed, as a member's would
    "invitation_decoy": ("UPDATE (roles, enabled)", "DELETE"),
    # members: an organisation moves through screening (a rejected or withdrawn one applies again:
    # the whole row is renewed and its old checks deleted); checklist items are switched on and off;
    # project groups are edited and deleted with their members
    # the dataset register (issue 22): datasets are edited and move through their workflow; a
    # category or licence is stopped or used again; a dataset's grants and distributions are replaced on change
    "dataset": ("UPDATE",),
    "dataset_category": ("UPDATE (active)",),
    "dataset_licence": ("UPDATE (active)",),
    "dataset_grant": ("DELETE",),
    "dataset_distribution": ("DELETE",),
    "dataset_search_gram": ("DELETE",),  # a dataset's search index is written again with its text
    "member_organisation": ("UPDATE",),
    "member_screening_item": ("UPDATE (active)",),
    "member_screening_check": ("UPDATE (checked, note, checked_by, checked_at)", "DELETE"),
    "member_project_group": ("UPDATE (name, representative)", "DELETE"),
    "member_project_group_member": ("DELETE",),
    "member_base": ("DELETE",),  # an organisation applying again states its bases afresh
    "member_recruitment_target": ("UPDATE (target, set_by, set_at)",),  # the secretariat changes the year's target
    "member_change": ("UPDATE (status, decided_by, decided_at, decision_reason)",),  # the secretariat decides a waiting change
    # running the platform (issue 39): a component is stopped or resumed; an interval is extended by
    # each probe, closed, and marks its outage; probe results past the year are removed; a
    # maintenance window is cancelled; the service settings are edited
    "service_component": ("UPDATE (key, active)",),
    "service_interval": ("UPDATE (ended_at, last_probe_at, probes, response_ms_total, response_ms_max, detail, "
                         "outage_confirmed_at, recovered_at)",),
    "service_probe": ("DELETE",),
    "sign_in_event": ("DELETE",),  # past its year (service.sign_ins.purge)
    "maintenance_window": ("UPDATE (notice_id, cancelled_at, cancel_reason, description)",),
    "service_settings": ("UPDATE",),
    "service_monthly_report": ("UPDATE (sent_at, sent_by, recipients)",),  # a version is sent once; its files never change
    "search_word_count": ("UPDATE (count)",),  # a catalogue search adds one to its words' counts of the day
    # the secretariat's desk: an inquiry moves on and its personal data is purged; registrations move and
    # attendance is marked, under the event's row lock (SELECT ... FOR UPDATE needs an UPDATE right)
    "secretariat_inquiry": ("UPDATE (status, assignee_subject, assignee_name, answered_at, closed_at, inquirer_name, "
                            "email, phone, source_ip, question, personal_data_removed_at)",),
    "secretariat_inquiry_reply": ("UPDATE (body)",),
    "secretariat_event": ("UPDATE (archive_url)",),
    "secretariat_event_registration": ("UPDATE (status, attended, cancelled_at)",),
    "secretariat_event_target": ("UPDATE (events, attendance)",),
    # the competition: a call is published, moves along its stages (competition.stages) and its milestones are
    # moved; questions are answered and published (declarations, documents, proposals and estimate lines are only
    # added); a call reopened after it closed without a selection forgets its closed stages
    "competition_call": ("UPDATE (published_at, status, closed_reason)",),
    "competition_stage_closed": ("DELETE",),
    "competition_milestone": ("UPDATE (at)",),
    "competition_question": ("UPDATE (answer, answered_by, answered_at, published_at)",),
    # changes before a deadline (competition.versions): a declaration or proposal is marked withdrawn, a proposal or a
    # document marked replaced by its next version (nothing else of them changes); a reviewer corrects a score while
    # the stage is open, its earlier value kept in competition_score_revision (only added)
    "competition_declaration": ("UPDATE (withdrawn_at, withdrawn_by)",),
    "competition_document": ("UPDATE (replaced_at)",),
    "competition_proposal": ("UPDATE (replaced_at, withdrawn_at, withdrawn_by)",),
    "competition_score": ("UPDATE (passed, points, comment, scored_at)",),
    # a contract's cost is entered under a grant once; its milestones and deliverables are delivered once
    "competition_contract": ("UPDATE (cost_item_id, grant_id)",),
    "competition_contract_item": ("UPDATE (delivered_on, delivered_by, dataset_id)",),
    # the secretariat's year: a work item's title, due date, owner and status change; an issue's owner,
    # status and resolution (secretariat.progress)
    "secretariat_work_item": ("UPDATE (title, due_on, fiscal_year, owner_subject, owner_name, status, done_on)",),
    "secretariat_issue": ("UPDATE (owner_subject, owner_name, status, resolution, resolved_on)",),
    # advisers (secretariat/advisers.py): kept by the secretariat; a consultation is recorded once
    "secretariat_adviser": ("UPDATE (name, fields, monthly_hours, active)",),
    "secretariat_consultation": ("UPDATE (status, outcome, recorded_by, recorded_at)",),
    # smart-city services, ideas and needs (secretariat/smart_services.py): a service's or idea's details are changed and
    # its status or stage moved; a municipality changes its own answer; an idea's needs and a service's ideas are
    # written again whole; the desk changes the year's target
    "smartcity_service": ("UPDATE (name, summary, field, scope, found_on, status, status_reason)",),
    "smartcity_idea": ("UPDATE (title, description, workshop, proposed_on, proposer_number, proposer_name, stage, "
                       "stage_reason)",),
    "smartcity_need": ("UPDATE (fiscal_year, field, title, detail, updated_at)",),
    "smartcity_idea_need": ("DELETE",),
    "smartcity_service_idea": ("DELETE",),
    "smartcity_service_target": ("UPDATE (target, set_by, set_at)",),
    # the yearly survey (secretariat/survey.py): a link sent anew replaces the recipient's token; an answer marks it used
    "survey_recipient": ("UPDATE (token_hash, sent_at, answered_at)",),
    # the members' solution register (secretariat/solutions.py): a member changes or withdraws its own solution (never
    # deleted); its categories and needs are written again whole
    "member_solution": ("UPDATE (title, description, contact_name, contact_email, status, status_reason, search_text, "
                        "updated_at)",),
    "member_solution_category": ("DELETE",),
    "member_solution_need": ("DELETE",),
    # mailings (secretariat/mailings.py): a draft is sent once (locked FOR UPDATE); a member's preference changes
    "secretariat_mailing": ("UPDATE (status, sent_by, sent_at, recipient_count, opted_out_count)",),
    "secretariat_mail_preference": ("UPDATE (advertising, via, changed_by, changed_at)",),
    # the residents' side (residents/, issue 42): a review decided issues the ID or marks the duplicate, and
    # the key rotation writes every item and hash again; the provider's identifier moves to the person it is
    # recovery (residents.recovery): a merged resident points at the survivor, its links move there, a wrong
    # link is ended (never deleted), a proposal is decided once; the name's blind index is written again too; a move
    # (residents.moves) marks the old record moved and the new one where from
    "resident": ("UPDATE (status, common_id, full_name, address, birth_date, sex, key_id, person_hash, address_hash, "
                 "name_hash, merged_into_id, left_at, erased_at, moved_at, moved_to, moved_from)",),
    # a resident leaves in the portal; after the retention their key material is erased: the items and hashes
    # blanked, the providers' identifiers removed and the sign-ins' identifiers blanked; a notice is read once
    "resident_sign_in": ("UPDATE (subject)",),
    "resident_notice": ("UPDATE (read_at)",),
    # a municipality publishes its file register or stops (residents.file_register.set_published)
    "resident_file_register_setting": ("UPDATE (published, changed_at, changed_by)",),
    # a municipality takes part in the residents' portal or stops, and changes its words (residents.portal_municipalities)
    "resident_portal_municipality": ("UPDATE (opted_in, welcome_ja, welcome_en, changed_at, changed_by)",),
    "resident_review": ("UPDATE (status, decided_at, decided_by, decision_reason)",),
    "resident_identity": ("UPDATE (resident_id)", "DELETE"),
    "service_link": ("UPDATE (resident_id, origin_resident_id, ended_at, ended_by, ended_reason)",),
    "resident_recovery": ("UPDATE (status, decided_at, decided_by, decided_by_key, decision_reason)",),
    # a legal representation is ended early by the desk (residents.representation.end_representation), never deleted
    "resident_representation": ("UPDATE (ended_at, ended_by, ended_reason)",),
    # a one-time link code is used once (the portal marks it, with who used it)
    "resident_link_code": ("UPDATE (used_at, resident_id)",),
    # the yearly account review (service.account_reviews): attested once; a person's decision may be changed
    # until then (the entry's row written again)
    "account_review": ("UPDATE (attested_at, attested_by)",),
    "account_review_entry": ("UPDATE (username, decision, successor_id, last_sign_in, decided_at, decided_by)",),
    # subcontracting (governance.subcontracts): a request is decided once, withdrawn or ended; never deleted
    "subcontract": ("UPDATE (status, decided_at, decided_by, refusal_reason, closed_on, closed_by)",),
    # documents owed to the prefecture (governance.submissions): a submission moves (and follows its meeting's due
    # date until approved); a version's content is never rewritten, only its inspection recorded; never deleted
    "submission": ("UPDATE (title, due_on, status, approved_version, approved_sha256, approved_at, approved_by)",),
    "submission_version": ("UPDATE (inspection, reason, inspected_at, inspected_by)",),
    # the members' yearly re-screening (secretariat.rescreening): a member's entry records its declaration and
    # the secretariat's decision, which may change while the round goes on; files and findings are insert-only
    "member_rescreening_entry": ("UPDATE (declared_at, declared_by, decision, decision_reason, decided_by, decided_at)",),
    # groups (secretariat.groups): the target is a setting, a working group is attached to the council or not; a
    # member leaves a group. Meetings (governance.meetings): the minutes are written, approved and published under the meeting's row lock; a
    # meeting whose minutes are not approved is corrected (its attendees and agenda rows replaced)
    "secretariat_group": ("UPDATE (target_members, under_council)",),
    "secretariat_group_member": ("DELETE",),
    "meeting": ("UPDATE (title, held_at, place, minutes_status, minutes_text, minutes_pdf, minutes_filename, written_by, "
                "written_by_name, approved_by, approved_at, published_at, notice_id)",),
    "meeting_attendee": ("DELETE",),
    "meeting_agenda_item": ("DELETE",),
    # the grant's indicators (service.kpis): the operator changes a year's target or takes it away (audited)
    "kpi_target": ("UPDATE (target, set_at, set_by)", "DELETE"),
}


# tables the application role only reads; it writes them through the owner's functions below
READ_ONLY = frozenset({
    "usage_aggregate",  # ingest adds to the day and month totals through USAGE_ADD_FUNCTION only
})
# functions owned by the schema owner (SECURITY DEFINER) that the application role may run
APP_FUNCTIONS = (USAGE_ADD_FUNCTION,)


def _quote(connection: sa.Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote(name)


def _check_tables(connection: sa.Connection, tables: list[str]) -> None:
    """Refused when APP_RIGHTS names a table the models do not have, or the schema lacks one of theirs."""
    unknown = sorted(set(APP_RIGHTS) - set(tables))
    if unknown:
        raise ValueError(f"APP_RIGHTS names tables that do not exist: {', '.join(unknown)}")
    present = {name for (name,) in connection.execute(sa.text(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))}
    missing = [name for name in tables if name not in present]
    if missing:
        raise ValueError(f"the schema lacks tables {', '.join(missing[:5])}: run renkei db upgrade first")


def grant_statements(connection: sa.Connection, app_role: str) -> list[str]:
    """The statements that give ``app_role`` exactly its rights on the current schema's tables."""
    schema = connection.exec_driver_sql("SELECT quote_ident(current_schema())").scalar_one()
    role = _quote(connection, app_role)
    tables = [table.name for table in metadata.sorted_tables]
    _check_tables(connection, tables)
    statements = [
        f"REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC",
        f"GRANT USAGE ON SCHEMA {schema} TO {role}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
    ]
    if connection.exec_driver_sql("SELECT to_regclass('alembic_version')").scalar() is not None:
        statements.append(f"GRANT SELECT ON {schema}.alembic_version TO {role}")
    for name in tables:
        rights = ", ".join(("SELECT", *(() if name in READ_ONLY else ("INSERT",)), *APP_RIGHTS.get(name, ())))
        statements.append(f"GRANT {rights} ON {schema}.{_quote(connection, name)} TO {role}")
    for function in APP_FUNCTIONS:
        statements.append(f"GRANT EXECUTE ON FUNCTION {schema}.{function} TO {role}")
    return statements


def grant_app_role(connection: sa.Connection, app_role: str) -> list[str]:
    """Grant ``app_role`` its rights (idempotent: earlier grants on these tables are revoked first).
    Run as the schema owner; returns the statements run."""
    if connection.dialect.name != "postgresql":
        raise ValueError("database roles exist on PostgreSQL only")
    exists = connection.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :name"), {"name": app_role}).scalar()
    if not exists:
        raise ValueError(f"there is no database role {app_role!r}; create it first (CREATE ROLE ... LOGIN)")
    statements = grant_statements(connection, app_role)
    for statement in statements:
        connection.exec_driver_sql(statement)
    return statements
