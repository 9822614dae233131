"""Flask-Admin views, registered explicitly."""

from __future__ import annotations

from flask_admin import Admin


def register(admin: Admin, session) -> None:
    from admin.views import (api_clients, audit, billing, consent, dataset_use, datasets, documents, frame, governance,
                             incidents, members, onboarding, reports, retention, tenants, usage, users)

    for module in (tenants, users, api_clients, incidents, onboarding, billing, reports, documents, usage, governance, audit,
                   members, datasets, dataset_use, consent, retention, frame):
        for view in module.views(session):
            admin.add_view(view)
