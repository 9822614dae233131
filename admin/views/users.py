"""Admin views of users."""

from __future__ import annotations


def views(db):
    return []
