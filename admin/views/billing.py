"""Admin views of billing."""

from __future__ import annotations


def views(db):
    return []
