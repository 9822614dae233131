"""Flask-Admin views, registered explicitly."""

from __future__ import annotations

from flask_admin import Admin


def register(admin: Admin, session) -> None:
    from admin.views import audit, billing, frame, governance, onboarding, tenants, usage, users

    for module in (tenants, users, onboarding, billing, usage, governance, audit, frame):
        for view in module.views(session):
            admin.add_view(view)
