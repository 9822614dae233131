"""Admin views of governance."""

from __future__ import annotations


def views(db):
    return []
