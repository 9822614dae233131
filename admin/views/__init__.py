"""Flask-Admin views, registered explicitly, each in its section of the menu (admin/menu.py)."""

from __future__ import annotations

from flask_admin import Admin


def register(admin: Admin, session) -> None:
    from admin import menu
    from admin.views import (account_reviews, advisers, api_clients, audit, billing, breaches, consent, dataset_lists, dataset_use, datasets, documents,
                             events, file_register, frame,
                             governance, incidents, inquiries, kpis, mailings, meetings, member_report, members, members_import, notices, onboarding,
                             progress, reports, request_logs, rescreening, resident_notices, resident_representations, residents, retention, search, service, smart_services, subcontracts, tenants,
                             usage, users)
    from admin.views import competition, competition_contracts, competition_review
    from admin.views.billing import bank as billing_bank, reminders as billing_reminders

    views = [view for module in (tenants, users, account_reviews, api_clients, incidents, breaches, onboarding, billing, billing_bank, billing_reminders, reports, kpis, documents, usage,
                                 governance, notices, audit, members, members_import, member_report, rescreening, inquiries, mailings, events, progress, advisers, smart_services,
                                 competition, competition_contracts, competition_review, meetings, subcontracts, datasets, dataset_lists,
                                 dataset_use, consent, residents, resident_notices, resident_representations, file_register, retention, request_logs, search, service, frame)
             for view in module.views(session)]
    for view in menu.in_order(views):
        menu.place(view)
        admin.add_view(view)
