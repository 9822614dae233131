"""Flask-Admin views, registered explicitly."""

from __future__ import annotations

from flask_admin import Admin


def register(admin: Admin, session) -> None:
    from admin.views import audit, tenants

    for module in (tenants, audit):
        for view in module.views(session):
            admin.add_view(view)
