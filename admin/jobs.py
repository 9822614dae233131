"""The jobs table: each job renkei does, named once with everything the shell registers for it.

A job's entry names the domain operations modules it serves, its table models (imported so that the
one metadata, and Alembic, know every table), its API blueprints (``admin.api.<module>.bp``, under
/api/v1), its admin views (``admin.views.<module>.views(session)``), its pages outside the console
(public forms, the CKAN API, the status page, the residents' portal), its commands (``renkei <name>``)
and its pages' places in the admin menu. The app factory (admin/__init__.py), admin/views,
admin/commands, the ``renkei`` command (admin/cli.py) and admin/menu.py all read :data:`JOBS`; apart
from the factory's own machinery (sign-in, the demo's mail catcher) nothing registers what this table
does not name, and tests/admin/test_jobs_table.py requires an entry for every domain operations module
and for every blueprint, view and command module of admin/.

Order matters in two places: the API blueprints are registered in the table's order (the OpenAPI
document lists their tags so), and within a menu section the pages are shown job by job in the
table's order, each job's pages as it lists them (the sections' own order and labels are
admin/menu.py's). Models are imported in the table's order (the metadata's tables are the same in
any order; Alembic compares them by name).

This module imports nothing beyond the standard library: ``renkei --help`` reads it without Flask.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """One ``renkei`` command: its name, the click command as ``"module:attribute"`` and the one-line
    help ``renkei --help`` shows without importing it (tests/admin/test_cli_startup.py checks that it
    is the command's own). ``in_app``: also added to the app's ``app.cli`` (the commands that run
    in an app context); the others build no app of their own there (the demo, the gateway's
    config, a receipt's check) or are Flask's own."""

    name: str
    target: str
    help: str
    in_app: bool = True

    @property
    def module(self) -> str:
        return self.target.split(":")[0]

    def load(self):
        """The click command (its module imported now)."""
        module, attribute = self.target.split(":")
        return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class Job:
    """One job: ``key`` (a name for code and tests), its Japanese and English names, and what the
    shell registers for it. ``operations``: the domain operations modules whose use cases the job's
    API, views and commands call (each ``<package>/operations.py`` belongs to one job). ``menu``:
    (section key of admin/menu.py, endpoints of the job's pages in that section, in menu order).
    ``blueprints``: the job's pages outside the console and the REST API, as ``"module:attribute"``: a
    Flask blueprint, or the ``init_app(app)`` that registers one with its route modules.
    ``command_parts``: command modules whose commands join a group of the job's (``renkei datasets
    terms``), imported by that group's module. ``unlisted``: the endpoints of pages outside the menu."""

    key: str
    name_ja: str
    name_en: str
    operations: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    api: tuple[str, ...] = ()
    views: tuple[str, ...] = ()
    blueprints: tuple[str, ...] = ()
    commands: tuple[Command, ...] = ()
    command_parts: tuple[str, ...] = ()
    menu: tuple[tuple[str, tuple[str, ...]], ...] = ()
    unlisted: tuple[str, ...] = ()


SHELL = Job(
    "shell", "共通基盤", "The shell",
    api=("admin.api.search",),
    views=("admin.views.search", "admin.views.frame"),
    blueprints=("admin.service.health:bp",),  # /healthz, /readyz: no sign-in
    commands=(
        Command("jobs", "admin.commands.jobs:group", "Periodic jobs (定期処理)."),
        Command("login", "admin.commands.signin:login_command",
                "Sign in at Keycloak; the following commands act for you until you log out or stay idle too long."),
        Command("logout", "admin.commands.signin:logout_command",
                "End the command line's sign-in session: Keycloak's session ends and the kept tokens are deleted."),
        Command("demo", "admin.commands.demo:demo",
                "The main job on a developer machine: Keycloak, database, Kumamoto sample data, demo logins, server.",
                in_app=False),
        Command("routes", "flask.cli:routes_command", "Show the routes for the app.", in_app=False),
        Command("run", "flask.cli:run_command", "Run a development server.", in_app=False),
        Command("shell", "flask.cli:shell_command", "Run a shell in the app context.", in_app=False),
    ),
    # the home page (the brand links it), the search results (the header's search box) and the error frame
    unlisted=("admin", "search", "frame"),
)

JOBS: tuple[Job, ...] = (
    Job("tenancy", "参加団体", "Municipalities taking part",
        operations=("tenancy.registry.operations",),
        models=("tenancy.registry.models", "tenancy.onboarding.models"),
        api=("admin.api.tenants", "admin.api.onboarding"),
        views=("admin.views.tenants", "admin.views.onboarding"),
        commands=(Command("tenants", "admin.commands.tenants:group", "The tenant registry."),
                  Command("onboarding", "admin.commands.onboarding:group",
                          "Onboarding and offboarding of municipalities (参加・脱退の手続き).")),
        # the prefecture's settings: a page of admin/views/documents.py (billing's letters print them)
        menu=(("tenancy", ("tenants", "onboarding", "tenant_import")), ("settings", ("prefecture_settings",)))),
    Job("identity", "利用者とAPIクライアント", "People, sign-in and API clients",
        operations=("tenancy.identity.operations",),
        models=("tenancy.identity.models",),
        api=("admin.api.users", "admin.api.clients", "admin.api.gateway"),
        views=("admin.views.users", "admin.views.account_reviews", "admin.views.api_clients"),
        commands=(Command("clients", "admin.commands.clients:group",
                          "API clients of tenants: create, list, rotate the secret, revoke."),
                  Command("gateway", "admin.commands.gateway:group",
                          "The API gateway (nginx in front of the platform's APIs).", in_app=False)),
        menu=(("tenancy", ("users", "account_reviews", "clients")),)),
    Job("members", "会員", "Consortium members",
        operations=("tenancy.members.operations",),
        models=("tenancy.members.models", "secretariat.rescreening"),
        api=("admin.api.members", "admin.api.member_desk"),
        views=("admin.views.members", "admin.views.members_import", "admin.views.member_report",
               "admin.views.rescreening"),
        blueprints=("admin.views.members:public",),  # /join: the membership application form, no sign-in
        commands=(Command("members", "admin.commands.members:group",
                          "Consortium members: organisations (by corporate number) and municipalities."),),
        menu=(("members", ("members", "member_import", "member_report", "member_rescreening", "member_checklist",
                           "project_groups")),)),
    Job("catalogue", "データカタログ", "Datasets and catalogue",
        operations=("catalogue.operations",),
        models=("catalogue.models",),
        api=("admin.api.datasets", "admin.api.dataset_lists"),
        views=("admin.views.datasets", "admin.views.dataset_lists", "admin.views.dataset_use"),
        blueprints=("admin.catalogue.ckan:bp",  # /api/3/action/ (CKAN, read only) and /catalog.ttl: anyone reads
                    "admin.catalogue.standards:bp",  # /standards/<kind>/schema.json: the Table Schemas, for anyone
                    "admin.catalogue.pages:bp"),  # /catalogue/...: every IRI the feed mints, a page and RDF, anonymous
        commands=(Command("datasets", "admin.commands.datasets:group",
                          "The dataset register (データセット台帳) and the standard datasets' coverage."),),
        command_parts=("admin.commands.dataset_lists", "admin.commands.dataset_terms"),
        menu=(("data", ("datasets", "dataset_coverage", "dataset_use", "dataset_terms", "dataset_categories",
                        "dataset_licences")),)),
    Job("residents", "住民と本人同意", "Residents and their consent",
        operations=("residents.operations", "residents.consent.operations"),
        models=("residents.consent.models", "residents.models"),
        api=("admin.api.consent", "admin.api.residents"),
        views=("admin.views.consent", "admin.views.residents", "admin.views.resident_notices",
               "admin.views.resident_representations", "admin.views.file_register",
               "admin.views.portal_municipalities"),
        blueprints=("admin.views.file_register:public",  # /file-register/<code>: a municipality's published register
                    # /portal: the residents' portal, signed in through the residents' realm (never staff's)
                    "admin.portal.door:init_app"),
        commands=(Command("consent", "admin.commands.consent:group",
                          "Personal data by consent (本人同意・連携記録): services, histories, linkage records, chains."),
                  Command("residents", "admin.commands.residents:group",
                          "The residents' side (住民の共通ID・暗号鍵・確認待ち): the key, its rotation, the review queue."),
                  Command("verify-receipt", "admin.commands.receipts:verify_receipt_command",
                          "Check a printed receipt (or a resident's download) without a database.", in_app=False)),
        menu=(("consent", ("consent_services", "consent_records", "consent_history", "consent_linkages")),
              ("residents", ("residents", "resident_figures", "resident_notices", "resident_representations",
                             "file_register", "portal_municipalities")))),
    Job("billing", "負担金", "Cost sharing and budget",
        operations=("billing.operations",),
        models=("billing.models", "billing.bank_models"),
        api=("admin.api.billing", "admin.api.bank", "admin.api.letters", "admin.api.reports"),
        views=("admin.views.billing", "admin.views.billing.bank", "admin.views.billing.reminders",
               "admin.views.documents", "admin.views.reports"),
        commands=(Command("billing", "admin.commands.billing:group", "Cost allocation (按分計算) tools."),
                  Command("report", "admin.commands.report:group", "Documents made from the records (年度報告書).")),
        menu=(("money", ("billing", "billing_bank", "billing_reminders", "billing_cost_items", "billing_policies",
                         "documents", "billing_journal", "billing_accounts", "annual_reports")),)),
    Job("usage", "利用実績", "Usage metering and quotas",
        models=("usage.models",),
        api=("admin.api.usage",),
        views=("admin.views.usage",),
        commands=(Command("usage", "admin.commands.usage:group", "Usage metering and quotas (利用実績・利用上限)."),),
        menu=(("operations", ("usage",)),)),
    Job("service", "運用", "Running the platform",
        operations=("service.incidents.operations",),
        models=("service.models", "service.incidents.models"),
        api=("admin.api.service", "admin.api.incidents", "admin.api.breaches"),
        views=("admin.views.kpis", "admin.views.incidents", "admin.views.breaches", "admin.views.request_logs",
               "admin.views.service"),
        blueprints=("admin.service.status_page:bp",),  # /status, /status.json: the platform's state, for anyone
        commands=(Command("service", "admin.commands.service:group",
                          "Running the platform: availability, planned maintenance (稼働監視・計画メンテナンス)."),
                  Command("incidents", "admin.commands.incidents:group",
                          "The incident register (障害台帳): incidents, their timeline and the reports to the prefecture.")),
        # the notifications outbox: a page of admin/views/usage.py
        menu=(("money", ("kpis",)),
              ("operations", ("incidents", "breaches", "request_log", "service_components", "service_availability",
                              "service_maintenance", "service_monthly_reports", "outbox")))),
    Job("governance", "協定・協議会・会議", "Agreements, council, meetings and audit",
        models=("governance.models", "governance.meetings", "governance.subcontracts", "governance.submissions",
                "secretariat.groups"),
        api=("admin.api.governance", "admin.api.meetings", "admin.api.submissions"),
        views=("admin.views.governance", "admin.views.notices", "admin.views.meetings", "admin.views.subcontracts",
               "admin.views.submissions", "admin.views.audit"),
        commands=(Command("audit", "admin.commands.audit:group",
                          "The audit log (操作ログ): verification, export, retention."),
                  Command("meetings", "admin.commands.meetings:group", "Meetings and minutes (会議・議事録)."),
                  Command("submissions", "admin.commands.submissions:group",
                          "The documents contractors owe the prefecture (提出・検査・承認): "
                          "list, submit, approve, return."),
                  Command("groups", "admin.commands.meetings:groups_group",
                          "The data-utilisation community and working groups (コミュニティ・ワーキンググループ).")),
        menu=(("members", ("community_groups",)),
              ("governance", ("agreements", "council", "meetings", "published_minutes", "notices", "subcontracts",
                              "submissions")),
              ("operations", ("audit", "audit_verify")))),
    Job("secretariat", "事務局", "The consortium's secretariat",
        models=("secretariat.inquiries", "secretariat.events", "secretariat.progress", "secretariat.advisers",
                "secretariat.smart_services", "secretariat.mailings", "secretariat.solutions", "secretariat.survey"),
        api=("admin.api.inquiries", "admin.api.events", "admin.api.progress", "admin.api.advisers",
             "admin.api.mailings", "admin.api.smart_services", "admin.api.solutions"),
        views=("admin.views.inquiries", "admin.views.mailings", "admin.views.events", "admin.views.progress",
               "admin.views.advisers", "admin.views.smart_services", "admin.views.members_site",
               "admin.views.survey"),
        blueprints=("admin.views.mailings:public",  # /mail/unsubscribe/<token>: a member stops announcements
                    "admin.views.inquiries:public",  # /inquiry: the public inquiry form, no sign-in
                    "admin.views.events:public",  # /events: registration for open events, no sign-in
                    "admin.views.survey:public"),  # /survey/<token>: the yearly survey's one-time answer page
        commands=(Command("inquiries", "admin.commands.inquiries:group", "Inquiries to the secretariat (問合せ窓口)."),
                  Command("events", "admin.commands.events:group",
                          "Events, seminars, community meetings and training (イベント・セミナー・研修)."),
                  Command("progress", "admin.commands.progress:group",
                          "The secretariat's schedule, progress and issues (年間予定・進捗・課題) and the monthly report.")),
        menu=(("members", ("inquiries", "mailings", "events", "my_events", "progress", "advisers", "survey_desk",
                           "smart_services", "municipal_needs", "members_site", "member_directory", "event_archive")),)),
    Job("competition", "企画コンペ", "The project competition",
        operations=("competition.operations",),
        models=("competition.models", "competition.review", "competition.selection", "competition.contracts"),
        api=("admin.api.competition",),
        views=("admin.views.competition", "admin.views.competition_contracts", "admin.views.competition_review"),
        blueprints=("admin.views.competition:public",),  # /competition: the published call of the competition
        commands=(Command("competition", "admin.commands.competition:group",
                          "The data-utilisation project competition (企画コンペ): calls, questions, declarations, "
                          "proposals."),),
        menu=(("members", ("competition", "competition_entry", "competition_contracts", "competition_reviewers",
                           "competition_review")),)),
    Job("maintenance", "保守", "Keeping renkei itself",
        api=("admin.api.retention",),
        views=("admin.views.retention",),
        commands=(Command("db", "admin.commands.db:group", "Database schema (Alembic migrations)."),
                  Command("backup", "admin.commands.backup:group",
                          "Write one archive: database, Keycloak realm, audit chain head, manifest with checksums."),
                  Command("restore", "admin.commands.backup:restore_command",
                          "Restore an archive into an EMPTY database and recreate the Keycloak realm, then check the "
                          "result."),
                  Command("check", "admin.commands.check:group",
                          "Check the whole system; exit 1 naming the first problem."),
                  Command("signing-key", "admin.commands.signing:group",
                          "The key that signs backups and audit checkpoints (署名鍵)."),
                  Command("keycloak", "admin.commands.keycloak:group",
                          "Local Keycloak (development) and the platform realm."),
                  Command("retention", "admin.commands.retention:group",
                          "How long records are kept (保存期間): the table, what is due for disposal, a closed year's "
                          "archive.")),
        menu=(("operations", ("retention",)),)),
    SHELL,
)


def model_modules() -> list[str]:
    """Every module that defines table models, in the table's order."""
    return [module for job in JOBS for module in job.models]


def api_modules() -> list[str]:
    """Every API blueprint's module, in registration order."""
    return [module for job in JOBS for module in job.api]


def view_modules() -> list[str]:
    return [module for job in JOBS for module in job.views]


def blueprints() -> list[str]:
    """Every page outside the console and the REST API, as ``"module:attribute"``, in registration order."""
    return [target for job in JOBS for target in job.blueprints]


def commands() -> list[Command]:
    return [command for job in JOBS for command in job.commands]


def menu_pages(section: str) -> tuple[str, ...]:
    """The endpoints of ``section``'s pages in menu order: job by job, as each job lists them."""
    return tuple(endpoint for job in JOBS for key, endpoints in job.menu if key == section for endpoint in endpoints)


def unlisted() -> frozenset[str]:
    return frozenset(endpoint for job in JOBS for endpoint in job.unlisted)
