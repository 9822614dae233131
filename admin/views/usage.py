"""Admin views of usage."""

from __future__ import annotations


def views(db):
    return []
