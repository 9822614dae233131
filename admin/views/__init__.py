"""Flask-Admin views, registered from the jobs table (admin/jobs.py), each in its menu section (admin/menu.py)."""

from __future__ import annotations

from flask_admin import Admin


def register(admin: Admin, session) -> None:
    import importlib

    from admin import jobs, menu

    views = [view for module in jobs.view_modules() for view in importlib.import_module(module).views(session)]
    for view in menu.in_order(views):
        menu.place(view)
        admin.add_view(view)
